#include "actors/runtime_options.hpp"

#include "integration/exasol/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <caf/io/middleman.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace exapool {
namespace {

void check(bool ok, const std::string& what) {
  if (!ok)
    throw runtime_error(pool_errc::invalid_config, "exapool invalid_config: " + what);
}

} // namespace

runtime_system_config::runtime_system_config() {
  pool.max_size = 0;
  opt_group{custom_options_, "exapool"}
      .add(pool.name, "pool-name",
           "the pool's name in stats and error texts (default: user@host:port/schema)")
      .add(pool.max_size, "max-size",
           "connections per pool, idle + leased + opening (default: EXAPOOL_POOL_SIZE, "
           "DBT_CONN_POOL_SIZE, else 5)")
      .add(pool.min_idle, "min-idle", "idle connections kept open")
      .add(pool.acquire_timeout, "acquire-timeout", "longest wait for a connection")
      .add(pool.validation_bypass, "validation-bypass", "no SELECT 1 if used this recently")
      .add(pool.validation_timeout, "validation-timeout", "longest wait for SELECT 1")
      .add(pool.reset_timeout, "reset-timeout",
           "longest ROLLBACK and attribute reset on return; then the connection is killed")
      .add(pool.close_timeout, "close-timeout", "longest proper close; then it is killed")
      .add(pool.abort_grace, "abort-grace",
           "how long an aborted statement may take to end; then its connection is killed")
      .add(pool.max_waiters, "max-waiters",
           "borrows waiting at most; more are refused at once (too_many_waiters)")
      .add(pool.idle_timeout, "idle-timeout", "close idle connections above min-idle (0: never)")
      .add(pool.max_lifetime, "max-lifetime", "replace connections this old (0: never)")
      .add(pool.lifetime_jitter, "lifetime-jitter", "spread of max-lifetime")
      .add(pool.keepalive_interval, "keepalive-interval", "validate idle connections this often")
      .add(pool.backoff_initial, "backoff-initial", "first retry delay after a failed connect")
      .add(pool.backoff_max, "backoff-max", "longest retry delay after failed connects")
      .add(pool.shutdown_grace, "shutdown-grace", "wait for leased connections at shutdown")
      .add(limits.max_pools, "max-pools",
           "pools at most (one per credentials); a new one beyond is refused")
      .add(limits.pool_idle_timeout, "pool-idle-timeout",
           "close a pool unused this long, and forget it (0: never)")
      .add(limits.max_restarts, "max-restarts",
           "restarts of a crashed pool per restart-period; then it fails for restart-cooldown")
      .add(limits.restart_period, "restart-period", "the window max-restarts counts in")
      .add(limits.restart_cooldown, "restart-cooldown",
           "how long a pool that crashed too often is refused")
      .add(pool.leak_detection_threshold, "leak-detection-threshold",
           "log a lease held longer than this, naming its holder (0: never)")
      .add(log_level, "log-level",
           "pool events logged to stderr: trace, debug, info, warn, "
           "error or off")
      .add(initialization_fail_timeout, "initialization-fail-timeout",
           "prewarm fails with the cause when no connection opens within this (0: no check; "
           "default 1ms: one attempt)")
      .add(io_threads, "io-threads",
           "threads all real connections' network I/O runs on, however many there are (>= 1)")
      .add(admin_port, "admin-port",
           "serve pool stats to `exapool stats` on this TCP port (0: off)")
      .add(admin_host, "admin-host",
           "address the admin port listens on (no authentication: keep it local)")
      .add(metrics_port, "metrics-port",
           "serve /metrics (Prometheus), /health and /stats over HTTP on this TCP port (0: off)")
      .add(metrics_host, "metrics-host",
           "IP address the metrics port listens on (no authentication: keep it local)")
      .add(remote_port, "remote-port",
           "be a pool node: other processes' runtimes borrow through this TCP port (0: off)")
      .add(remote_host, "remote-host",
           "address the pool node listens on (credentials cross it, no authentication: keep "
           "it local or on a trusted network)")
      .add(pool_node, "pool-node",
           "host:port of a pool node to borrow through instead of pools of this process")
      // Unbound: credentials_from_config reads them from `content`, with the environment.
      .add<std::string>("dsn", "the database: host[/fingerprint][:port][,...] (env EXAPOOL_DSN)")
      .add<std::string>("user", "the database user (env EXAPOOL_USER)")
      .add<std::string>("password-file",
                        "a file holding the password, one trailing newline stripped (env "
                        "EXAPOOL_PASSWORD_FILE)")
      .add<std::string>("password-env",
                        "the name of an environment variable holding the password (env "
                        "EXAPOOL_PASSWORD_ENV; neither this nor password-file: EXAPOOL_PASSWORD)")
      .add<std::string>("schema", "the schema every connection opens (env EXAPOOL_SCHEMA)")
      .add<std::vector<std::string>>(
          "init-sql", "statements run once on every new connection, e.g. [\"ALTER SESSION ...\"]")
      // Session attributes: unset, the server's default stays.
      // CAF 0.17 takes a bool option on the command line as a flag (true); false needs the
      // ini file.
      .add<bool>("snapshot-transactions", "session attribute snapshotTransactionsEnabled")
      .add<bool>("timestamp-utc", "session attribute timestampUtcEnabled")
      .add<std::string>("numeric-characters",
                        "session attribute numericCharacters: decimal and group separator, "
                        "e.g. \".,\"")
      .add<std::int64_t>("feedback-interval",
                         "session attribute feedbackInterval: seconds between heartbeats (> 0)")
      .add<std::int64_t>("result-set-max-rows",
                         "session attribute resultSetMaxRows (protocol v2+): rows a result set "
                         "returns at most, 0 = no limit");
  runtime::configure(*this);
}

runtime_config runtime_system_config::to_runtime_config() const {
  runtime_config config =
      pool.max_size == 0 ? runtime_config::from_environment() : runtime_config{};
  std::size_t size = config.pool.max_size;
  config.pool = pool;
  config.pool.max_size = pool.max_size == 0 ? size : pool.max_size;
  // Set at all (even to ""), the name must be a valid one; unset, the pool's label names it.
  if (caf::get_if(&content, "exapool.pool-name") != nullptr || !config.pool.name.empty())
    if (auto err = check_pool_name(config.pool.name, "exapool.pool-name"))
      throw runtime_error(pool_errc::invalid_config, "exapool invalid_config: " + context_of(err));
  check(config.pool.max_size <= max_pool_size,
        "exapool.max-size=" + std::to_string(config.pool.max_size) +
            " is too large (at most 1000)");
  check(config.pool.min_idle <= config.pool.max_size,
        "exapool.min-idle=" + std::to_string(config.pool.min_idle) + " exceeds max-size " +
            std::to_string(config.pool.max_size));
  check(config.pool.acquire_timeout.count() > 0, "exapool.acquire-timeout must be positive");
  check(config.pool.validation_timeout.count() > 0, "exapool.validation-timeout must be positive");
  for (auto [name, value] : {std::pair{"reset-timeout", config.pool.reset_timeout},
                             std::pair{"close-timeout", config.pool.close_timeout},
                             std::pair{"abort-grace", config.pool.abort_grace}})
    check(value.count() > 0, std::string("exapool.") + name + " must be positive");
  check(config.pool.max_waiters >= 1, "exapool.max-waiters must be at least 1");
  check(config.pool.backoff_initial.count() > 0 &&
            config.pool.backoff_initial <= config.pool.backoff_max,
        "exapool.backoff-initial must be positive and at most backoff-max");
  for (auto [name, value] :
       {std::pair{"validation-bypass", config.pool.validation_bypass},
        std::pair{"idle-timeout", config.pool.idle_timeout},
        std::pair{"max-lifetime", config.pool.max_lifetime},
        std::pair{"lifetime-jitter", config.pool.lifetime_jitter},
        std::pair{"keepalive-interval", config.pool.keepalive_interval},
        std::pair{"shutdown-grace", config.pool.shutdown_grace},
        std::pair{"leak-detection-threshold", config.pool.leak_detection_threshold}})
    check(value.count() >= 0, std::string("exapool.") + name + " must not be negative");
  check(limits.max_pools >= 1, "exapool.max-pools must be at least 1");
  check(limits.pool_idle_timeout.count() >= 0, "exapool.pool-idle-timeout must not be negative");
  check(limits.restart_period.count() > 0, "exapool.restart-period must be positive");
  check(limits.restart_cooldown.count() >= 0, "exapool.restart-cooldown must not be negative");
  config.limits = limits;
  auto level = parse_log_level(log_level);
  check(level.has_value(), "exapool.log-level='" + log_level +
                               "' is not a level: use trace, debug, info, warn, error or off");
  config.log.level = *level;
  check(initialization_fail_timeout.count() >= 0,
        "exapool.initialization-fail-timeout must not be negative (0: no check)");
  config.initialization_fail_timeout = initialization_fail_timeout;
  check(io_threads >= 1, "exapool.io-threads must be at least 1");
  config.io_threads = io_threads;
  check(!admin_host.empty(), "exapool.admin-host must not be empty");
  if (admin_port != 0) {
    config.admin_port = admin_port;
    config.admin_host = admin_host;
  }
  // An IP address, not a name: the endpoint binds exactly where it is told.
  in6_addr any{};
  check(inet_pton(AF_INET, metrics_host.c_str(), &any) == 1 ||
            inet_pton(AF_INET6, metrics_host.c_str(), &any) == 1,
        "exapool.metrics-host='" + metrics_host + "' is not an IPv4 or IPv6 address");
  if (metrics_port != 0) {
    config.metrics_port = metrics_port;
    config.metrics_host = metrics_host;
  }
  check(!remote_host.empty(), "exapool.remote-host must not be empty");
  if (remote_port != 0) {
    config.remote_port = remote_port;
    config.remote_host = remote_host;
  }
  config.pool_node = pool_node; // checked with the runtime's config (split_host_port)
  return config;
}

void runtime_system_config::load_admin_middleman() {
  if (admin_port != 0 || remote_port != 0 || !pool_node.empty())
    load<caf::io::middleman>();
}

} // namespace exapool

namespace exapool {
namespace {

[[noreturn]] void refuse(const std::string& what) {
  throw runtime_error(pool_errc::invalid_config, "exapool invalid_config: " + what);
}

// A setting's value and where it came from (the option or the variable), for its errors.
struct sourced {
  std::string value;
  std::string source;
};

// The option's value from the command line or the ini file, else the variable's when it is set
// and not empty (an option set to "" wins over the environment: it was said on purpose).
std::optional<sourced> lookup(const caf::actor_system_config& cfg, const std::string& key,
                              const char* variable) {
  if (auto value = caf::get_if<std::string>(&cfg.content, "exapool." + key))
    return sourced{*value, "exapool." + key};
  if (const char* env = std::getenv(variable); env != nullptr && *env != '\0')
    return sourced{env, variable};
  return std::nullopt;
}

std::string required(const caf::actor_system_config& cfg, const std::string& key,
                     const char* variable) {
  auto found = lookup(cfg, key, variable);
  if (!found || found->value.empty())
    refuse("exapool." + key + " (or " + variable + ") is not set");
  return found->value;
}

std::string password_of(const caf::actor_system_config& cfg) {
  auto file = lookup(cfg, "password-file", "EXAPOOL_PASSWORD_FILE");
  auto variable = lookup(cfg, "password-env", "EXAPOOL_PASSWORD_ENV");
  if (file && variable)
    refuse(file->source + " and " + variable->source + " are both set: give the password one way");
  if (file)
    return read_password_file(file->value, file->source);
  if (variable)
    return read_password_variable(variable->value, variable->source);
  const char* plain = std::getenv("EXAPOOL_PASSWORD");
  return plain != nullptr ? plain : "";
}

std::vector<std::string> init_sql_of(const caf::actor_system_config& cfg) {
  if (auto list = caf::get_if<std::vector<std::string>>(&cfg.content, "exapool.init-sql"))
    return *list;
  return {};
}

// The option's value, unset when the option is. CAF checks the type (a value of another type
// in caf-application.ini is dropped by CAF 0.17 and leaves the option unset).
template <class T>
caf::optional<T> option(const caf::actor_system_config& cfg, const std::string& name) {
  if (auto value = caf::get_if<T>(&cfg.content, name))
    return *value;
  return caf::none;
}

// The session attributes' options; an option left unset leaves its attribute unset.
void read_session_attributes(const caf::actor_system_config& cfg, credentials& creds) {
  creds.snapshot_transactions = option<bool>(cfg, "exapool.snapshot-transactions");
  creds.timestamp_utc = option<bool>(cfg, "exapool.timestamp-utc");
  if (auto chars = option<std::string>(cfg, "exapool.numeric-characters")) {
    if (!exasol::valid_numeric_characters(*chars))
      refuse("exapool.numeric-characters=\"" + *chars +
             "\" must be two distinct ASCII characters, the decimal and the group separator "
             "(e.g. \".,\")");
    creds.numeric_characters = chars;
  }
  if (auto seconds = option<std::int64_t>(cfg, "exapool.feedback-interval")) {
    // Below the socket timeout (30 s by default): the server's heartbeats are all a running
    // query sends, and a longer silence ends the connection.
    auto limit = std::chrono::duration_cast<std::chrono::seconds>(creds.socket_timeout).count();
    if (*seconds <= 0 || (limit > 0 && *seconds >= limit))
      refuse("exapool.feedback-interval=" + std::to_string(*seconds) +
             " must be at least 1 and below the socket timeout (seconds)");
    creds.feedback_interval_s = static_cast<int>(*seconds);
  }
  if (auto rows = option<std::int64_t>(cfg, "exapool.result-set-max-rows")) {
    if (*rows < 0)
      refuse("exapool.result-set-max-rows=" + std::to_string(*rows) +
             " must not be negative (0: no limit)");
    creds.result_set_max_rows = static_cast<std::uint64_t>(*rows);
  }
}

// The file's bytes. POSIX calls, not a stream: a stream hides why a read failed (a directory,
// a permission), and the error must say.
std::string file_content(const std::string& path, const std::string& named_by) {
  auto where = "the password file '" + path + "' (" + named_by + ")";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    refuse(where + (errno == ENOENT ? " does not exist"
                                    : std::string(" cannot be read: ") + std::strerror(errno)));
  constexpr std::size_t limit = 64 * 1024; // a password, not a data file
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || text.size() + static_cast<std::size_t>(n) > limit)
      break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  int error = n < 0 ? errno : 0;
  ::close(fd);
  if (n < 0)
    refuse(where + " cannot be read: " + std::strerror(error));
  if (n > 0)
    refuse(where + " is larger than 64 KiB: is it the right file?");
  return text;
}

} // namespace

std::string read_password_file(const std::string& path, const std::string& named_by) {
  if (path.empty())
    refuse(named_by + " is empty: it names the file that holds the password");
  auto text = file_content(path, named_by);
  // Editors and `echo` end the file with a newline that is no part of the password.
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r')
      text.pop_back();
  }
  if (text.empty())
    refuse("the password file '" + path + "' (" + named_by + ") is empty");
  return text;
}

std::string read_password_variable(const std::string& name, const std::string& named_by) {
  if (name.empty())
    refuse(named_by + " is empty: it names the variable that holds the password");
  const char* value = std::getenv(name.c_str());
  if (value == nullptr)
    refuse("the password variable " + name + " (named by " + named_by + ") is not set");
  if (*value == '\0')
    refuse("the password variable " + name + " (named by " + named_by + ") is empty");
  return value;
}

credentials credentials_from_config(const caf::actor_system_config& cfg) {
  credentials creds;
  creds.dsn = required(cfg, "dsn", "EXAPOOL_DSN");
  creds.user = required(cfg, "user", "EXAPOOL_USER");
  creds.password.value = password_of(cfg);
  if (auto schema = lookup(cfg, "schema", "EXAPOOL_SCHEMA"))
    creds.schema = schema->value;
  creds.init_sql = init_sql_of(cfg);
  read_session_attributes(cfg, creds);
  return creds;
}

} // namespace exapool

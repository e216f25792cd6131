// `exapool query`: runs SQL through the C++ client and prints each result as a table.
#include "actors/runtime_options.hpp"
#include "apps/exapool/command.hpp"
#include "apps/exapool/options.hpp"
#include "apps/exapool/statements.hpp"
#include "integration/exasol/connection.hpp"
#include "integration/exasol/format.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <iostream>
#include <iterator>
#include <optional>

namespace exapool::cli {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

double ms_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

struct query_config : caf::actor_system_config {
  std::string dsn = env_or("EXAPOOL_DSN", "");
  std::string user = env_or("EXAPOOL_USER", "");
  std::string password = env_or("EXAPOOL_PASSWORD", "");
  std::string password_file = env_or("EXAPOOL_PASSWORD_FILE", "");
  std::string password_env = env_or("EXAPOOL_PASSWORD_ENV", "");
  std::string access_token = env_or("EXAPOOL_ACCESS_TOKEN", "");
  bool plain_ws = false;
  bool insecure = false;
  std::string ca_file;
  bool compression = false;
  std::string schema;
  int protocol_version = 3;
  caf::timespan connect_timeout = std::chrono::seconds(10);
  caf::timespan socket_timeout = std::chrono::seconds(30);
  caf::timespan query_timeout{0};
  bool timings = false;
  std::string format = "table";

  query_config() {
    opt_group{custom_options_, "exasol"}
        .add(dsn, "dsn", "host[/fingerprint][:port][,...] (env EXAPOOL_DSN)")
        .add(user, "user", "user name (env EXAPOOL_USER)")
        .add(password, "password", "password (prefer env EXAPOOL_PASSWORD: argv is visible)")
        .add(password_file, "password-file",
             "a file holding the password, one trailing newline stripped (env "
             "EXAPOOL_PASSWORD_FILE)")
        .add(password_env, "password-env",
             "the name of an environment variable holding the password (env "
             "EXAPOOL_PASSWORD_ENV)")
        .add(access_token, "access-token", "OpenID access token (env EXAPOOL_ACCESS_TOKEN)")
        .add(plain_ws, "plain-ws", "ws instead of wss (no TLS; Exasol 8 refuses it)")
        .add(insecure, "insecure", "skip TLS certificate checks (tests only)")
        .add(ca_file, "ca-file", "PEM CA bundle to verify the server (default: system store)")
        .add(compression, "compression", "zlib-compressed messages after login")
        .add(schema, "schema", "schema to open at login")
        .add(protocol_version, "protocol-version", "protocol version to ask for (1-3)")
        .add(connect_timeout, "connect-timeout", "per address, e.g. 10s")
        .add(socket_timeout, "socket-timeout", "each read and write, e.g. 30s")
        .add(query_timeout, "query-timeout", "a whole statement (0: none), e.g. 5min")
        .add(timings, "timings",
             "print 'timings connect_ms=C total_ms=T' to stderr at the end (exapool demo)");
    opt_group{custom_options_, "global"}.add(
        format, "format", "how results are printed: table, csv or json (one line per statement)");
  }

  exasol::connection_options to_connection_options() const {
    exasol::connection_options opts;
    opts.dsn = dsn;
    opts.user = user;
    opts.password = password;
    opts.access_token = access_token;
    opts.tls = !plain_ws;
    opts.insecure = insecure;
    opts.ca_file = ca_file;
    opts.compression = compression;
    opts.schema = schema;
    opts.protocol_version = protocol_version;
    opts.connect_timeout = duration_cast<milliseconds>(connect_timeout);
    opts.socket_timeout = duration_cast<milliseconds>(socket_timeout);
    opts.query_timeout = duration_cast<milliseconds>(query_timeout);
    opts.identity.client_name = "exapool query";
    return opts;
  }
};

std::optional<output_format> format_named(const std::string& name) {
  if (name == "table")
    return output_format::table;
  if (name == "csv")
    return output_format::csv;
  if (name == "json")
    return output_format::json;
  return std::nullopt;
}

// Each argument is a statement; '-' reads a script from stdin, split at ';' (outside quotes
// and comments).
std::vector<std::string> statements_of(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& arg : args) {
    if (arg != stdin_argument) {
      out.push_back(arg);
      continue;
    }
    std::string script{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    for (auto& sql : exasol::split_statements(script))
      out.push_back(std::move(sql));
  }
  return out;
}

// What to do about the common mistakes, from the error the client gave.
std::string hint_for(const exasol::error& e, const query_config& cfg) {
  std::string text = e.what();
  if (e.kind() == exasol::error_kind::tls && text.find("certificate") != std::string::npos &&
      cfg.dsn.find('/') == std::string::npos)
    return "the server's certificate is not trusted (self-signed?): pin it in the DSN as "
           "host/<sha256 fingerprint>[:port] (exapool sim prints its own), or pass "
           "--exasol.ca-file";
  if (e.kind() == exasol::error_kind::refused)
    return "nothing listens there: check the host and port in --exasol.dsn (Exasol's default "
           "port is 8563)";
  return "";
}

} // namespace

// The password from --exasol.password-file or --exasol.password-env when one is given, read as
// exapool's credentials_from_config reads it; the error text (it never holds the password).
std::optional<std::string> read_password(query_config& cfg) {
  try {
    if (!cfg.password_file.empty() && !cfg.password_env.empty())
      return std::string("--exasol.password-file and --exasol.password-env are both set: give the "
                         "password one way");
    if (!cfg.password_file.empty())
      cfg.password = read_password_file(cfg.password_file, "--exasol.password-file");
    else if (!cfg.password_env.empty())
      cfg.password = read_password_variable(cfg.password_env, "--exasol.password-env");
  } catch (const runtime_error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

int run_query(int argc, char** argv) {
  query_config cfg;
  if (auto code = parse_options(cfg, argc, argv))
    return *code;
  auto format = format_named(cfg.format);
  if (!format) {
    std::cerr << "error: --format='" << cfg.format << "' is not a format: use table, csv or json\n";
    return 2;
  }
  auto statements = statements_of(cfg.remainder);
  if (statements.empty()) {
    std::cerr << "error: no SQL given; usage: exapool query [options] 'SQL' ['SQL' ...], or "
                 "'-' to read statements (separated by ';') from stdin\n";
    return 2;
  }
  if (cfg.dsn.empty() || (cfg.user.empty() && cfg.access_token.empty())) {
    std::cerr << "error: --exasol.dsn and --exasol.user (or EXAPOOL_DSN and EXAPOOL_USER) "
                 "are required\n";
    return 2;
  }
  if (auto refused = read_password(cfg)) {
    std::cerr << "error: " << *refused << "\n";
    return 2;
  }
  if (cfg.password.empty() && cfg.access_token.empty())
    std::cerr << "hint: no password is set (EXAPOOL_PASSWORD or --exasol.password); the login "
                 "will most likely be refused\n";
  try {
    auto start = clock_type::now();
    exasol::connection conn(cfg.to_connection_options());
    auto connected = clock_type::now();
    int failures = run_statements(conn, statements, std::cout, *format);
    if (conn.is_open())
      conn.disconnect();
    if (cfg.timings)
      std::cerr << "timings connect_ms=" << ms_between(start, connected)
                << " total_ms=" << ms_between(start, clock_type::now()) << "\n";
    return failures == 0 ? 0 : 1;
  } catch (const exasol::error& e) {
    std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
    if (auto hint = hint_for(e, cfg); !hint.empty())
      std::cerr << "hint: " << hint << "\n";
    return 1;
  }
}

} // namespace exapool::cli

// `exapool sim`: runs exasim standalone until SIGINT/SIGTERM, or until its standard input
// closes when that is a pipe (so a parent test process that dies takes the server with it).
#include "apps/exapool/command.hpp"
#include "apps/exapool/options.hpp"
#include "integration/exasim/server.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <iostream>
#include <sstream>

namespace exapool::cli {
namespace {

struct sim_config : caf::actor_system_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8563;
  int threads = 2;
  std::string user = "sys";
  std::string database;
  std::string cert_file, key_file;
  bool require_tls = false;
  int max_protocol_version = 3;
  caf::timespan login_latency{0};
  caf::timespan query_latency{0};
  std::size_t max_sessions = 0;
  bool refuse_logins = false;
  caf::timespan login_timeout = std::chrono::seconds(30);
  bool shared_rsa_key = false;

  sim_config() {
    opt_group{custom_options_, "sim"}
        .add(host, "host", "address to listen on")
        .add(port, "port", "port to listen on (0: an ephemeral port, printed at start)")
        .add(threads, "threads", "I/O threads")
        .add(user, "user", "the user that may log in (password from EXASIM_PASSWORD, else exasol)")
        .add(database, "database", "SQLite database file (default: a temporary one)")
        .add(cert_file, "cert-file", "TLS certificate (PEM); default: self-signed, generated")
        .add(key_file, "key-file", "TLS private key (PEM) for --sim.cert-file")
        .add(require_tls, "require-tls", "refuse logins over plain ws, as Exasol 8 does")
        .add(max_protocol_version, "max-protocol-version", "highest protocol version (1-3)")
        .add(login_latency, "login-latency", "delay before each login response, e.g. 1s")
        .add(query_latency, "query-latency", "delay before each query response, e.g. 5ms")
        .add(max_sessions, "max-sessions", "refuse logins beyond this many sessions (0: no limit)")
        .add(refuse_logins, "refuse-logins", "fail every login with 08004")
        .add(login_timeout, "login-timeout",
             "drop a connection not logged in this long after accept (0: no limit)")
        .add(shared_rsa_key, "shared-rsa-key",
             "one RSA key for all sessions instead of a fresh one each (for mass logins)");
  }

  exasim::server_options to_server_options() const {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    exasim::server_options opts;
    opts.host = host;
    opts.port = port;
    opts.threads = threads;
    opts.users = {{user, env_or("EXASIM_PASSWORD", "exasol")}};
    opts.database_file = database;
    opts.cert_file = cert_file;
    opts.key_file = key_file;
    opts.require_tls = require_tls;
    opts.max_protocol_version = max_protocol_version;
    opts.login_latency = duration_cast<milliseconds>(login_latency);
    opts.query_latency = duration_cast<milliseconds>(query_latency);
    opts.max_sessions = max_sessions;
    opts.refuse_logins = refuse_logins;
    opts.login_timeout = duration_cast<milliseconds>(login_timeout);
    opts.fresh_rsa_key_per_session = !shared_rsa_key;
    return opts;
  }
};

} // namespace

int run_sim(int argc, char** argv) {
  sim_config cfg;
  if (auto code = parse_options(cfg, argc, argv))
    return *code;
  if (cfg.threads < 1 || cfg.max_protocol_version < 1 || cfg.max_protocol_version > 3) {
    std::cerr << "error: --sim.threads must be >= 1 and --sim.max-protocol-version 1..3\n";
    return 2;
  }
  stop_signal stop; // before any thread starts
  // Every session is a socket: the usual soft limit of 1,024 would refuse logins well below a
  // pool of 1,000 (bench/scale_bench). Raised within the hard limit; a lower one is kept.
  raise_open_files_limit(std::uint64_t{1} << 16);

  exasim::server server(cfg.to_server_options());
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "error: exasim did not start: " << e.what() << "\n";
    return 1;
  }
  std::cout << "exasim ready port=" << server.port() << " fingerprint=" << server.fingerprint()
            << " dsn=" << server.dsn() << std::endl;
  stop.wait();
  server.stop();
  auto stats = server.stats();
  // One write, so a reader of the pipe never sees half a line.
  std::ostringstream summary;
  summary << "exasim stopped: sessions opened " << stats.sessions_opened << ", closed "
          << stats.sessions_closed << ", failed logins " << stats.failed_logins << ", requests "
          << stats.requests << ", protocol violations " << stats.protocol_violations << "\n";
  std::cerr << summary.str() << std::flush;
  return 0;
}

} // namespace exapool::cli

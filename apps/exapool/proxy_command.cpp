// `exapool proxy`: the pool as an Exasol server. Unmodified Exasol clients point their DSN at
// it and log in with their own credentials; their statements run on pooled connections to the
// upstream Exasol. Runs until SIGINT/SIGTERM, or until a piped standard input closes.
#include "actors/runtime_options.hpp"
#include "apps/exapool/command.hpp"
#include "apps/exapool/options.hpp"
#include "proxy/proxy.hpp"

#include <caf/actor_system.hpp>

#include <algorithm>
#include <iostream>
#include <limits>
#include <sstream>

namespace exapool::cli {
namespace {

struct proxy_config : runtime_system_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8563;
  int threads = 2;
  std::string upstream = env_or("EXAPOOL_DSN", "");
  bool upstream_plain_ws = false;
  bool upstream_insecure = false;
  std::string upstream_ca_file;
  std::string mode = "transaction";
  std::string cert_file, key_file;
  bool require_tls = false;
  bool shared_rsa_key = false;
  std::size_t max_clients = 10000;
  caf::timespan login_timeout = std::chrono::seconds(30);
  caf::timespan connect_timeout = std::chrono::seconds(10);
  caf::timespan socket_timeout = std::chrono::seconds(30);
  std::uint64_t max_result_bytes = std::uint64_t(256) << 20;

  proxy_config() {
    opt_group{custom_options_, "proxy"}
        .add(host, "host", "address to listen on for clients (default 127.0.0.1)")
        .add(port, "port", "port to listen on, ws and wss alike (default 8563; 0: ephemeral)")
        .add(threads, "threads", "I/O threads serving clients (default 2)")
        .add(upstream, "upstream",
             "the Exasol to pool: host[/fingerprint][:port][,...], nocertcheck in place of a "
             "fingerprint skips certificate checks (env EXAPOOL_DSN; required)")
        .add(upstream_plain_ws, "upstream-plain-ws", "ws instead of wss upstream (no TLS)")
        .add(upstream_insecure, "upstream-insecure", "no certificate checks upstream (tests)")
        .add(upstream_ca_file, "upstream-ca-file", "PEM CA bundle to verify upstream")
        .add(mode, "mode",
             "session: a client holds one upstream connection from login to disconnect; "
             "transaction (default): a client holds one only while it needs that connection "
             "(open transaction, prepared statements)")
        .add(cert_file, "cert-file", "TLS certificate for clients (PEM); default: self-signed")
        .add(key_file, "key-file", "TLS private key (PEM) for --proxy.cert-file")
        .add(require_tls, "require-tls", "refuse client logins over plain ws")
        .add(shared_rsa_key, "shared-rsa-key",
             "one RSA key, made at start, for every client login instead of a fresh key per "
             "connection as Exasol does (~12 ms of CPU each; for benchmarks of many logins)")
        .add(max_clients, "max-clients",
             "client connections beyond this many are closed at once (default 10000; 0: none)")
        .add(login_timeout, "login-timeout",
             "a client that has not logged in this long after connecting is dropped (30s)")
        .add(connect_timeout, "connect-timeout", "upstream connect, per address (10s)")
        .add(socket_timeout, "socket-timeout", "each upstream read and write (30s)")
        .add(max_result_bytes, "max-result-bytes",
             "largest result the proxy holds for a client (default 256 MiB); larger ones fail "
             "their statement");
  }
};

// The options that cannot describe a proxy, named.
std::optional<std::string> misconfigured(const proxy_config& cfg) {
  if (cfg.upstream.empty())
    return "--proxy.upstream (or EXAPOOL_DSN) is required: the Exasol DSN to pool";
  if (cfg.mode != "session" && cfg.mode != "transaction")
    return "--proxy.mode must be session or transaction, not '" + cfg.mode + "'";
  if (cfg.threads < 1)
    return "--proxy.threads must be at least 1";
  if (cfg.cert_file.empty() != cfg.key_file.empty())
    return "--proxy.cert-file and --proxy.key-file go together";
  return std::nullopt;
}

proxy::proxy_options options_of(const proxy_config& cfg) {
  proxy::proxy_options o;
  o.host = cfg.host;
  o.port = cfg.port;
  o.threads = cfg.threads;
  o.cert_file = cfg.cert_file;
  o.key_file = cfg.key_file;
  o.require_tls = cfg.require_tls;
  o.fresh_rsa_key = !cfg.shared_rsa_key;
  o.max_clients = cfg.max_clients;
  o.login_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.login_timeout);
  o.mode = cfg.mode == "session" ? proxy_mode::session : proxy_mode::transaction;
  o.upstream.dsn = cfg.upstream;
  o.upstream.tls = !cfg.upstream_plain_ws;
  o.upstream.insecure = cfg.upstream_insecure;
  o.upstream.ca_file = cfg.upstream_ca_file;
  o.upstream.connect_timeout = cfg.connect_timeout;
  o.upstream.socket_timeout = cfg.socket_timeout;
  o.upstream.max_result_bytes = cfg.max_result_bytes;
  return o;
}

// Each client holds a socket, each upstream connection one more, and the process some of its
// own: the soft limit on open files is raised to fit, within the hard limit. Returns the limit
// in force, and warns when it is below what --proxy.max-clients needs (the system would refuse
// the clients beyond it: accept() fails, the listener backs off and retries).
std::uint64_t open_files_for(const proxy_config& cfg, const runtime_config& rt) {
  constexpr std::uint64_t own = 64; // listener, admin endpoint, logs, certificates, epoll
  std::uint64_t upstream = rt.pool.max_size * std::max<std::uint64_t>(rt.limits.max_pools, 1);
  std::uint64_t wanted = cfg.max_clients == 0 ? std::numeric_limits<std::uint64_t>::max()
                                              : cfg.max_clients + upstream + own;
  auto got = raise_open_files_limit(wanted);
  if (cfg.max_clients != 0 && got < wanted)
    std::cerr << "warning: exapool proxy: open files are limited to " << got
              << " (ulimit -n, hard limit); --proxy.max-clients=" << cfg.max_clients
              << " with upstream connections needs about " << wanted
              << ": raise the hard limit or clients beyond it are refused\n";
  return got;
}

} // namespace

int run_proxy(int argc, char** argv) {
  proxy_config cfg;
  if (auto code = parse_options(cfg, argc, argv))
    return *code;
  if (auto problem = misconfigured(cfg)) {
    std::cerr << "error: " << *problem << "\n";
    return 2;
  }
  cfg.load_admin_middleman();
  stop_signal stop; // before any thread starts
  try {
    auto rt_config = cfg.to_runtime_config();
    auto open_files = open_files_for(cfg, rt_config);
    caf::actor_system sys{cfg};
    runtime rt{sys, rt_config};
    proxy::proxy server(rt, options_of(cfg));
    server.start();
    std::cout << "exapool proxy ready port=" << server.port()
              << " fingerprint=" << server.fingerprint() << " dsn=" << server.dsn()
              << " mode=" << cfg.mode << " pool-size=" << rt_config.pool.max_size;
    if (rt.admin_port() != 0)
      std::cout << " admin-port=" << rt.admin_port();
    if (rt.metrics_port() != 0) // curl http://127.0.0.1:<port>/metrics
      std::cout << " metrics-port=" << rt.metrics_port();
    std::cout << " open-files=" << open_files << std::endl;
    stop.wait();
    server.stop();
    auto pools = rt.shutdown();
    std::uint64_t opened = 0;
    for (const auto& p : pools)
      opened += p.opened;
    std::ostringstream summary; // one write: a reader of the pipe never sees half a line
    summary << "exapool proxy stopped: pools " << pools.size() << ", upstream sessions opened "
            << opened << "\n";
    std::cerr << summary.str() << std::flush;
  } catch (const std::exception& e) {
    std::cerr << "error: exapool proxy: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace exapool::cli

// The runtime: what a service embeds. It owns (or attaches to) a CAF actor system, runs the
// supervisor, spawns session actors for actor code and offers a blocking API for code that is
// not an actor (each call waits with a timeout and throws exapool::runtime_error on failure).
//
// Usage (examples/embedding/service.cpp is a complete program):
//   exapool::runtime rt{exapool::runtime_config::from_environment()};
//   auto rows = rt.query(creds, "SELECT 1");  // blocking API
//   auto session = rt.spawn_session(creds);   // actor API: request(session, t, query_atom, sql)
//   rt.shutdown();                            // every server session closed
#pragma once

#include "actors/admin_actor.hpp"
#include "actors/log.hpp"
#include "actors/proxy_session_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/supervisor_actor.hpp"
#include "actors/version.hpp"
#include "messages/credentials.hpp"
#include "messages/errors.hpp"
#include "messages/pool_config.hpp"
#include "messages/pool_stats.hpp"
#include "messages/query.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace exasol {
class io_threads; // integration/exasol/io_threads.hpp: kept out of this header (Boost.Asio)
}

namespace exapool {

class metrics_endpoint; // actors/metrics_endpoint.hpp (Boost.Asio)

struct runtime_config {
  pool_config pool;                         // every pool's behaviour
  supervisor_limits limits;                 // how many pools, idle eviction, restart intensity
  credentials_backend_factory make_backend; // empty: the real Exasol client
  // Threads of the event loop (actors and sockets, integration/event_loop/event_loop.hpp) of
  // an actor system the runtime makes itself: the larger of this and io_threads (0: io_threads).
  std::size_t scheduler_threads = 0;
  // Pool events (connect failures, evictions, reclaimed and leaked leases, acquire timeouts),
  // at log.level and above, to log.sink (default: stderr). See actors/log.hpp.
  log_config log;
  // The threads every real connection's network I/O runs on, whatever the number of
  // connections: a pool of 500 connections still has this many. On exapool's event loop (the
  // default, runtime::configure) they are the actor system's scheduler threads, which run the
  // actors too: in a system the runtime makes, the larger of this and scheduler_threads; in a
  // system it attaches to, that system's scheduler.max-threads. On another scheduler, an
  // io_context of the runtime's own with this many threads, started only when the runtime uses
  // the real client (make_backend empty). More than 1 only helps when parsing big results on
  // one thread is the bottleneck. At least 1: 0 is refused (runtime_error, invalid_config).
  std::size_t io_threads = 1;
  // How much longer than the pool's own timeouts a blocking call waits before it gives up.
  caf::timespan slack = std::chrono::seconds(10);
  // The admin endpoint (actors/admin_actor.hpp) `exapool stats` reads: when set, the runtime
  // publishes it on admin_host:admin_port (0: a free port; see runtime::admin_port()). It
  // needs CAF's io middleman: the runtime loads it into a system it makes; a system it
  // attaches to must have it loaded (cfg.load<caf::io::middleman>()), else the runtime throws.
  // No authentication: keep the default loopback address unless the network is trusted.
  std::optional<std::uint16_t> admin_port;
  std::string admin_host = "127.0.0.1";
  // HikariCP's initializationFailTimeout (exapool.initialization-fail-timeout), for prewarm
  // and the pools opened at start: > 0, the first connection of the pool may take this long
  // (retried with the pool's backoff); if none opened by then, prewarm throws runtime_error
  // with the cause (connect_failed naming the last failure). A refusal by the server is not
  // waited out: rejected credentials (authentication_failed) or a certificate the TLS rules
  // refuse (untrusted_server) fail at once. 0: no check, prewarm answers its report whatever
  // opened. Default 1 ms, as HikariCP's: one attempt, no waiting. Negative is refused.
  caf::timespan initialization_fail_timeout = std::chrono::milliseconds(1);
  // Pools opened when the runtime starts: the constructor prewarms each to max(min_idle, 1)
  // connections under initialization_fail_timeout and throws runtime_error with the cause
  // (after stopping what it started) when one cannot open its first connection.
  std::vector<credentials> prewarm_at_start;
  // The metrics endpoint (actors/metrics_endpoint.hpp): when set, the runtime serves /metrics
  // (Prometheus), /health and /stats over HTTP on metrics_host:metrics_port (0: a free port;
  // see runtime::metrics_port()), on its I/O threads (a runtime over a custom factory starts
  // one for it). No authentication: keep the default loopback address unless the network is
  // trusted.
  std::optional<std::uint16_t> metrics_port;
  std::string metrics_host = "127.0.0.1";
  // Remote sessions (actors/remote.hpp). A pool node: when remote_port is set, the runtime
  // publishes its supervisor (behind actors/pool_node_front.hpp) on remote_host:remote_port
  // (0: a free port; see runtime::remote_port()), and the runtimes of other processes that
  // name it in pool_node borrow through its pools. Credentials, passwords included, cross that
  // port and there is no authentication: keep the default loopback address unless the network
  // between the nodes is trusted.
  std::optional<std::uint16_t> remote_port;
  std::string remote_host = "127.0.0.1";
  // A service node: "host:port" of a pool node. The runtime then has no pools, connections or
  // I/O threads of its own: its sessions and blocking calls borrow through the pool node, and
  // prewarm and stats are the pool node's. shutdown() ends this runtime's sessions, never the
  // pool node's pools. When the pool node goes away, the sessions end and calls fail
  // (connect_failed, naming the node) until it is back: the next call connects again. Needs
  // the io middleman, as remote_port does; not together with remote_port or make_backend.
  std::string pool_node;

  // pool.max_size from EXAPOOL_POOL_SIZE, else DBT_CONN_POOL_SIZE, else 5. Throws
  // runtime_error (invalid_config, naming the variable) for a bad value.
  static runtime_config from_environment();
};

// A failed blocking call: the exapool error code (the kind of failure), the server's sqlCode
// and a text naming the problem (never a secret).
//   try { rt.execute(creds, sql); }
//   catch (const exapool::runtime_error& e) {
//     if (e.code() == exapool::pool_errc::server_error && e.sql_code() == "42000") ...
//   }
class runtime_error : public std::runtime_error {
public:
  runtime_error(pool_errc code, const std::string& text, std::string sql_code = {});
  pool_errc code() const { return code_; }
  // The sqlCode the server answered with ("42000", "R0003", ...); empty when the failure did
  // not come from the server with one (acquire_timeout, connect_failed, ...).
  const std::string& sql_code() const { return sql_code_; }

private:
  pool_errc code_;
  std::string sql_code_;
};

class runtime {
public:
  // Registers the "exapool" error category so CAF renders exapool errors by name, and sets the
  // scheduler to what the runtime was measured fastest with: one thread, no 50 us polling phase
  // (see runtime.cpp). The runtime does it for a system it makes; call it on your config
  // before parsing and making a system to attach to (then set scheduler.max-threads after it
  // if your own actors need more threads).
  static void configure(caf::actor_system_config& cfg);

  explicit runtime(runtime_config config = {});
  runtime(caf::actor_system& system, runtime_config config = {});
  // Shuts down (if not done yet) and stops the supervisor; then stops the actor system when
  // the runtime made it. Session actors end with the supervisor. The I/O threads stop last,
  // once every connection is closed and its actor gone (see runtime.cpp).
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system();
  const supervisor_actor& supervisor() const;

  // Actor API: a session for one unit of work. Stop it with an exit message when done (it also
  // ends when the runtime does).
  session_actor spawn_session(const credentials& creds);
  // A session for one client of exapool proxy (actors/proxy_session_actor.hpp).
  proxy_session_actor spawn_proxy_session(const credentials& creds, proxy_mode mode);

  // Blocking API. A statement waits as its session does: without a query timeout in the
  // credentials as long as the server works on it (the client bounds every silence by
  // socket_timeout), else at most acquire_timeout + the statement guard + the slack, and then
  // fails with statement_aborted (the statement is aborted on the server). The other calls
  // wait at most the pool's timeouts plus the slack.
  query_result execute(const credentials& creds, const std::string& sql);
  exasol::result_set query(const credentials& creds, const std::string& sql);
  // Opens connections until n are open, within max_size; the report says how many opened and
  // why others failed. With initialization_fail_timeout > 0 (the default) a pool that cannot
  // open a single connection throws runtime_error with the cause (see runtime_config).
  prewarm_report prewarm(const credentials& creds, std::size_t n);
  prewarm_report prewarm(const credentials& creds); // n from the environment (see supervisor)
  pool_stats stats(const credentials& creds);
  std::vector<pool_stats> stats();
  std::size_t pool_restarts();
  // The port the admin endpoint listens on; 0 when there is none.
  std::uint16_t admin_port() const;
  // The port the metrics endpoint listens on; 0 when there is none.
  std::uint16_t metrics_port() const;
  // The port the pool node listens on for remote runtimes; 0 when there is none.
  std::uint16_t remote_port() const;
  // Drains every pool; afterwards every call fails with shutting_down. Idempotent. Returns only
  // once every pool confirmed that all its connections are closed; throws runtime_error
  // (pool_failed, naming the pools) when one did not within shutdown_deadline().
  std::vector<pool_stats> shutdown();

private:
  void start();
  void start_supervisor();
  void prewarm_at_start();
  void stop() noexcept;
  void start_admin();
  void stop_admin();
  void start_metrics();
  void stop_metrics();
  void start_remote();
  void stop_remote();
  void stop_front() noexcept;
  template <class T, class... Ts> T ask(caf::timespan timeout, const Ts&... xs);
  template <class T, class Request> T ask_session(const credentials& creds, Request request);

  runtime_config config_;
  // The runtime's own I/O threads when the system does not run on exapool's event loop (null
  // with a custom make_backend). Declared before the actor system, so destroyed after it even
  // without the explicit order in ~runtime.
  std::unique_ptr<exasol::io_threads> io_;
  exasol::io_threads* io_threads_ = nullptr; // the event loop's or io_
  std::unique_ptr<caf::actor_system_config> own_config_;
  std::unique_ptr<caf::actor_system> own_system_;
  caf::actor_system* system_ = nullptr;
  supervisor_actor supervisor_;
  admin_actor admin_;
  std::uint16_t admin_port_ = 0;
  std::unique_ptr<metrics_endpoint> metrics_;
  supervisor_actor remote_front_; // a pool node's published front
  std::uint16_t remote_port_ = 0;
};

} // namespace exapool

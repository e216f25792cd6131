// exasim: a server that speaks Exasol's JSON-over-WebSocket protocol, backed by SQLite.
// Start one inside a test, the demo or a benchmark; it binds to loopback on an ephemeral port
// by default and serves ws and wss on the same port, as Exasol does.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace exasim {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0; // 0: an ephemeral port, read it back with server::port()
  int threads = 2;        // I/O threads serving sessions

  // TLS. Empty paths: a self-signed certificate (CN=localhost, SAN localhost and 127.0.0.1)
  // is generated at start; server::fingerprint() tells its SHA-256.
  std::string cert_file, key_file;
  bool require_tls = false; // "Exasol 8 mode": plain ws login fails with 08004

  // Engine. Empty: a private temporary database (kept across a restart, removed by the
  // destructor). Otherwise a SQLite file.
  std::string database_file;

  // Authentication: user name -> password, and OpenID tokens accepted by loginToken.
  std::map<std::string, std::string> users{{"sys", "exasol"}};
  std::vector<std::string> access_tokens, refresh_tokens;

  int max_protocol_version = 3; // higher requests are downgraded to this

  // Knobs for tests, the demo and benchmarks; also adjustable while running.
  std::chrono::milliseconds login_latency{0}; // added before the login response
  std::chrono::milliseconds query_latency{0}; // added before each execute-type response
  std::size_t max_sessions = 0;               // 0: unlimited; beyond it login fails
  bool refuse_logins = false;                 // every login fails with 08004

  std::size_t max_message_bytes = 80u << 20; // larger client messages are refused

  // A connection that has not logged in this long after it was accepted (TLS, WebSocket
  // upgrade and login together) is dropped; heartbeats and failed logins do not extend it.
  // 0: no limit.
  std::chrono::milliseconds login_timeout{30000};

  // Seeds the random choices of the chaos knobs (latency spikes), for reproducible runs.
  std::uint64_t chaos_seed = 1;

  // Exasol hands every connection a fresh 1024-bit RSA key. Generating one costs ~5-10 ms of
  // CPU (it runs on the worker threads, never on the I/O threads); false shares one key,
  // generated at start, between all connections, for benchmarks that log in by the hundred.
  bool fresh_rsa_key_per_session = true;
  // Threads that run SQLite statements and key generation, apart from the I/O threads, so a
  // slow statement (or one waiting on a lock) never holds up another session's I/O.
  int engine_threads = 8;
  // How long a statement waits for another session's write lock before it fails with 40001
  // (Exasol's transaction collision).
  std::chrono::milliseconds lock_wait_timeout{5000};
};

struct counters {
  std::uint64_t sessions_opened = 0; // successful logins
  std::uint64_t sessions_closed = 0;
  std::uint64_t failed_logins = 0;
  std::uint64_t requests = 0; // commands received after login
  // A second request on a session while one is in flight, or a command before login.
  std::uint64_t protocol_violations = 0;
  std::uint64_t active_sessions = 0; // logged-in sessions now (rows of EXA_ALL_SESSIONS)
  std::uint64_t connections = 0;     // accepted TCP connections now open, logged in or not
  std::uint64_t accepts = 0;         // accept() calls that gave a connection
  std::uint64_t accept_errors = 0;   // accept() calls that failed (EMFILE, ENFILE, ...)
  std::uint64_t login_timeouts = 0;  // connections dropped for not logging in in time
  std::uint64_t latency_spikes = 0;  // queries that drew a latency spike (set_latency_spikes)
  // What the open result sets of every session hold now: rows, and their JSON size as fetch
  // estimates it. Back to 0 when every result is closed (or its session ended).
  std::uint64_t result_rows = 0;
  std::uint64_t result_bytes = 0;
};

class server {
public:
  explicit server(server_options options = {});
  ~server(); // stops if running
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts serving; throws std::runtime_error naming the cause. After a stop() it
  // is a server restart: the same port, certificate and database, new session ids, and the
  // counters go on from where they were (active_sessions and connections start at 0).
  void start();
  void stop(); // closes every session and joins the I/O threads; idempotent

  std::uint16_t port() const;
  const std::string& fingerprint() const; // SHA-256 of the certificate's DER, lower-case hex
  // A DSN for clients: "127.0.0.1/<fingerprint>:<port>" (fingerprint pinned).
  std::string dsn() const;

  counters stats() const;                         // totals since the first start (see start())
  std::vector<std::uint64_t> session_ids() const; // live sessions, ascending

  void set_login_latency(std::chrono::milliseconds latency);
  void set_query_latency(std::chrono::milliseconds latency);
  void set_max_sessions(std::size_t max_sessions);
  void set_refuse_logins(bool refuse);
  // Drops the TCP connection of a session without a close frame, as KILL SESSION does.
  // Returns false when no such session is live.
  bool drop_session(std::uint64_t session_id);

  // Chaos knobs for reliability tests, callable from any thread but an I/O thread while
  // running.
  // Drops one live session like drop_session: the one at position pick % n of session_ids().
  // Pass a random number (the caller's seeded generator makes runs reproducible). nullopt
  // when no session is live.
  std::optional<std::uint64_t> drop_any_session(std::uint64_t pick);
  // Each execute-type request gets, with this probability, `spike` added to the query
  // latency (a latency spike; abortQuery and queryTimeout end it like the latency).
  // probability 0 (the default) turns spikes off.
  void set_latency_spikes(double probability, std::chrono::milliseconds spike);
  // false: new TCP connections are refused (the listening socket is closed) while live
  // sessions go on; true: listening again on the same port. Returns when done; throws
  // std::runtime_error when the port cannot be bound again.
  void set_accepting(bool accepting);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace exasim

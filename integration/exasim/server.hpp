// exasim: a server that speaks Exasol's JSON-over-WebSocket protocol, backed by SQLite.
// Start one inside a test, the demo or a benchmark; it binds to loopback on an ephemeral port
// by default and serves ws and wss on the same port, as Exasol does.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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

  // Engine. Empty: a private temporary database removed at stop. Otherwise a SQLite file.
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
};

class server {
public:
  explicit server(server_options options = {});
  ~server(); // stops if running
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  void start(); // binds and starts serving; throws std::runtime_error naming the cause
  void stop();  // closes every session and joins the I/O threads; idempotent

  std::uint16_t port() const;
  const std::string& fingerprint() const; // SHA-256 of the certificate's DER, lower-case hex
  // A DSN for clients: "127.0.0.1/<fingerprint>:<port>" (fingerprint pinned).
  std::string dsn() const;

  counters stats() const;
  std::vector<std::uint64_t> session_ids() const;

  void set_login_latency(std::chrono::milliseconds latency);
  void set_query_latency(std::chrono::milliseconds latency);
  void set_max_sessions(std::size_t max_sessions);
  void set_refuse_logins(bool refuse);
  // Drops the TCP connection of a session without a close frame, as KILL SESSION does.
  // Returns false when no such session is live.
  bool drop_session(std::uint64_t session_id);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace exasim

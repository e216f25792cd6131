// A loopback WebSocket server (ws, or wss with a self-signed certificate) that plays an Exasol
// server misbehaving on purpose, for tests of the client and of the pool. Each accepted
// connection runs the scenario on a thread of its own; a scenario is plain blocking code on a
// hostile_peer (read a request, reply, send heartbeats, hang up mid-frame, stall...).
//
//   exapool::testing::hostile_server s(exapool::testing::scenarios::heartbeats_during_login());
//   exasol::connection_options o;  o.dsn = s.dsn();  o.tls = false; ...
//   CHECK_THROWS(exasol::connection(o));
//   CHECK(s.stats().messages == 1);
//
// The server records what arrived (stats(), requests()) so that a test can assert from the
// server's side, e.g. that no login request reached it after a TLS refusal. Stopping (the
// destructor) wakes every blocked scenario; nothing in here waits without a bound.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace exapool::testing {

class hostile_server;
struct hostile_server_state; // shared by the server and its connection threads (in the .cpp)

// The server side of one accepted connection. Every call throws hostile_peer::gone when the
// client went away or the server is stopping; the server catches it, so a scenario may simply
// let it fly.
class hostile_peer {
public:
  struct gone {};

  std::size_t index() const { return index_; } // 0 for the first connection accepted

  // The next request, as text (inflated once a compressed login switched compression on).
  std::string read();
  // One text frame; a zlib-compressed binary frame once the session is compressed.
  void reply(std::string_view json);
  // One binary frame with exactly these bytes (e.g. a zlib bomb), whatever the session mode.
  void reply_binary(std::string_view bytes);
  // A frame header announcing all of `json`, then only its first `bytes` bytes, then a hang-up.
  void reply_truncated(std::string_view json, std::size_t bytes);
  void ping();
  void pong();
  void hang_up(); // closes the TCP connection without a close frame

  // Waits, awake to the server stopping (then throws gone).
  void pause(std::chrono::milliseconds span);
  // Reads (and records) requests without answering until the client leaves or the server stops.
  [[noreturn]] void stall();
  // Heartbeats (a Pong, then a Ping, every `every`) for `lasting`, reading nothing; then stalls.
  [[noreturn]] void heartbeats(std::chrono::milliseconds every,
                               std::chrono::milliseconds lasting = std::chrono::hours(24));

  // A well-behaved login: an RSA key for `login` (or ok for `loginToken`), a session for the
  // credentials (switching to compression when they ask for it), attributes for getAttributes.
  void login();
  bool compressed() const { return compressed_; }

  struct transport; // Beast types live in the .cpp only
  hostile_peer(hostile_server_state& server, std::size_t index, transport& t)
      : server_(server), index_(index), transport_(t) {}
  hostile_peer(const hostile_peer&) = delete;
  hostile_peer& operator=(const hostile_peer&) = delete;

private:
  void check_running() const;
  hostile_server_state& server_;
  std::size_t index_;
  transport& transport_;
  bool compressed_ = false;
};

using scenario = std::function<void(hostile_peer&)>;

struct hostile_server_options {
  bool tls = false; // wss with a self-signed certificate (CN localhost, SAN 127.0.0.1)
};

class hostile_server {
public:
  explicit hostile_server(scenario s, hostile_server_options o = {});
  ~hostile_server(); // stops: wakes every scenario, joins every thread
  hostile_server(const hostile_server&) = delete;
  hostile_server& operator=(const hostile_server&) = delete;

  std::uint16_t port() const;
  std::string dsn() const;                // "127.0.0.1:<port>"
  std::string pinned_dsn() const;         // "127.0.0.1/<sha256 of the certificate>:<port>" (tls)
  const std::string& fingerprint() const; // tls: SHA-256 of the certificate, lower-case hex
  const std::string& certificate_pem() const; // tls: usable as a client's ca_file content

  // What the server saw, from any thread at any time.
  struct counts {
    std::size_t connections = 0;    // TCP connections accepted
    std::size_t tls_handshakes = 0; // completed TLS handshakes
    std::size_t upgrades = 0;       // completed WebSocket handshakes
    std::size_t messages = 0;       // WebSocket messages received (requests)
    std::size_t logins = 0;         // requests whose command is login or loginToken
    std::size_t finished = 0;       // connections whose scenario returned or ended
  };
  counts stats() const;
  std::vector<std::string> requests() const; // every request received, in arrival order
  // Waits until `finished` reaches n or `limit` passes; returns whether it did.
  bool wait_finished(std::size_t n, std::chrono::milliseconds limit) const;

private:
  std::shared_ptr<hostile_server_state> state_;
};

// A scenario made of steps in the older style: each request, as it arrives, is answered by the
// next step; after the last step the peer stalls.
using step = std::function<void(hostile_peer&, const std::string& request)>;
scenario scripted(std::vector<step> steps);
step reply_with(std::string json);
step hang_up_step();

// Responses a well-behaved server gives, and the ready-made hostile scenarios.
namespace responses {
std::string public_key(); // login step 1: an RSA key the fixture can decrypt with
std::string session();    // login step 2: a session (id 9007199254740993, protocol 3)
std::string attributes(); // getAttributes: autocommit true
std::string ok();         // {"status":"ok"}
// An execute response with one result set of DECIMAL(18,0) columns X, Y, ... The counts are
// JSON text, so that a test can lie in any way ("4e9", "-1", "\"many\""); `data` is the JSON
// of the data array, or empty to leave it out; handle 0 leaves resultSetHandle out.
std::string result_set(std::int64_t handle, std::string_view num_rows,
                       std::string_view num_rows_in_message, std::string_view data,
                       std::size_t columns = 1, std::string_view num_columns = "");
std::string inline_rows(const std::vector<std::int64_t>& values); // an honest handle-less one
std::string fetch_chunk(std::size_t rows); // a fetch response with `rows` values of 1
} // namespace responses
std::string decrypt_password(std::string_view base64); // with the key of responses::public_key()

namespace scenarios {
// --- login phase ---
scenario silent_after_upgrade(); // reads, never answers
scenario heartbeats_during_login(std::chrono::milliseconds every = std::chrono::milliseconds(20),
                                 std::chrono::milliseconds lasting = std::chrono::hours(24));
scenario garbage_during_login(); // "this is not JSON"
scenario wrong_public_key();     // a publicKeyPem that is no key
scenario close_mid_login();      // half a session response, hang-up
// --- after a good login ---
scenario never_answers(); // execute: stalls
scenario heartbeats_during_execute(std::chrono::milliseconds every,
                                   std::chrono::milliseconds lasting = std::chrono::hours(24));
// A handle-backed result claiming num_rows with 2 rows inline; each fetch gets rows_per_fetch
// rows, for ever (closeResultSet is answered ok).
scenario streams_rows(std::string num_rows, std::size_t rows_per_fetch = 2);
scenario close_mid_message();                   // execute: half a frame, hang-up
scenario answers(std::string execute_response); // every execute gets this response
} // namespace scenarios

} // namespace exapool::testing

// A deliberately raw Exasol client for exasim's tests: Boost.Beast WebSocket (ws or wss),
// Boost.JSON and the shared codec, with no protocol logic beyond login. Tests drive the wire
// format by hand through it. Every read is bounded by a hang guard.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace exasim_test {

class test_client {
public:
  // Connects to 127.0.0.1:port and completes the WebSocket upgrade (after a TLS handshake
  // without certificate checks when `tls`; fingerprint() then tells what the server sent).
  test_client(std::uint16_t port, bool tls);
  ~test_client();

  const std::string& fingerprint() const; // SHA-256 of the server certificate's DER

  void send_json(const boost::json::object& message); // zlib + binary once compression is on
  void send_raw(const std::string& payload, bool binary);
  boost::json::object receive();
  boost::json::object request(const boost::json::object& message);
  // Reads until the connection fails and returns why (e.g. eof, closed); an empty code means
  // a data message arrived instead.
  boost::system::error_code receive_error();
  bool last_close_was_frame() const; // the last receive_error() saw a Close frame

  // Runs the two-step login; returns the last response (the session info, or the error).
  // `credentials` fields are added to (or replace) the credentials message's fields.
  boost::json::object login(const std::string& user, const std::string& password,
                            int protocol_version = 3, boost::json::object credentials = {});
  // Convenience: {"command":"execute","sqlText":sql}.
  boost::json::object execute(const std::string& sql);

  // Sends a WebSocket Ping (a heartbeat from the client; the server answers it with a Pong
  // and nothing reaches the protocol logic).
  void send_ping();

  void set_compression(bool on);
  std::size_t pongs_received() const;
  void set_timeout(std::chrono::seconds limit);
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The session id of a login response, exactly (it is above 2^53).
std::uint64_t session_id_of(const boost::json::object& login_response);

} // namespace exasim_test

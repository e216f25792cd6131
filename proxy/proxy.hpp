// exapool proxy, embeddable: the Exasol protocol front (integration/front) with the pool as its
// engine. Unmodified Exasol clients (pyexasol, dbt-exasol, the TypeScript driver) log in to it
// with their own credentials and run their SQL on pooled upstream connections of exactly those
// credentials. It serves ws and wss on one port, as Exasol does.
#pragma once

#include "actors/proxy_session_actor.hpp"
#include "messages/credentials.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace exapool {
class runtime;
}

namespace exapool::proxy {

struct proxy_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0; // 0: an ephemeral port, read it back with port()
  int threads = 2;        // I/O threads serving clients
  // TLS toward clients. Empty: a self-signed certificate, its SHA-256 in fingerprint().
  std::string cert_file, key_file;
  bool require_tls = false; // plain ws logins fail with 08004

  // Upstream: the DSN and its TLS rules (a fingerprint or nocertcheck in the DSN, a CA file),
  // timeouts and limits. user, password and tokens are the clients' own.
  credentials upstream;
  proxy_mode mode = proxy_mode::transaction;

  // Client connections beyond this many (logged in or not) are closed at once; 0: no limit.
  std::size_t max_clients = 10000;
  // A client that has not logged in this long after it connected is dropped.
  std::chrono::milliseconds login_timeout{30000};
  // false: one RSA key for every client connection, generated at start (benchmarks that log
  // in thousands of clients); true: a fresh key per connection, as Exasol does.
  bool fresh_rsa_key = true;
};

class proxy {
public:
  // Serves through `rt`'s pools; `rt` must outlive the proxy.
  proxy(runtime& rt, proxy_options options);
  ~proxy(); // stops if running
  proxy(const proxy&) = delete;
  proxy& operator=(const proxy&) = delete;

  // Binds and starts serving; throws std::runtime_error naming the cause.
  void start();
  // Closes every client connection (their sessions end, their leases go back) and joins the
  // I/O threads; idempotent.
  void stop();

  std::uint16_t port() const;
  const std::string& fingerprint() const; // SHA-256 of the certificate's DER, lower-case hex
  std::string dsn() const;                // "host/fingerprint:port" for clients

  // Clients connected now (logged in or not), and logged in.
  std::size_t connections() const;
  std::size_t sessions() const;
  std::uint64_t refused_clients() const; // closed for max_clients

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace exapool::proxy

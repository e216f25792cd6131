// A small HTTP/1.1 server for the metrics endpoint (Boost.Beast, asynchronous, on an executor
// the caller owns: the runtime's I/O threads), and a blocking GET client for tests and
// `exapool stats --http`. No CAF inside: what a path answers is up to a handler callback,
// which may answer later and from any thread.
//
// Bounds, so that a peer cannot exhaust the process:
// - at most max_connections at once; one more is closed as soon as it is accepted;
// - a request's header at most header_limit bytes (431), its body at most body_limit (413);
// - each request is read within read_timeout (a silent or slow peer is disconnected), each
//   answer written within write_timeout, and a handler that does not answer within
//   handler_timeout gets the peer a 503.
// Only GET is served: another method gets 405 (with Allow: GET), whatever the path.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace exapool::http {

struct response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called exactly once per request, from any thread.
using reply_fn = std::function<void(response)>;
// The path (request target) of a GET, and how to answer it.
using handler_fn = std::function<void(const std::string& target, reply_fn reply)>;

struct server_limits {
  std::size_t max_connections = 32;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 4 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds handler_timeout{30'000};
};

class metrics_server {
public:
  // Listens on host:port (port 0: a free one, see port()). Throws std::runtime_error naming
  // the address when it cannot (not an IP address, taken, not this machine's).
  metrics_server(boost::asio::any_io_executor executor, const std::string& host, std::uint16_t port,
                 handler_fn handler, server_limits limits = {});
  ~metrics_server(); // stop()
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  std::uint16_t port() const;
  // Stops accepting, closes every connection and drops the handler (no call after this
  // returns starts a handler). Waits at most `wait` for the connections to be gone.
  // Idempotent. Must not be called from the executor's threads.
  void stop(std::chrono::milliseconds wait = std::chrono::seconds(5));

  struct impl;

private:
  std::shared_ptr<impl> impl_;
  std::uint16_t port_ = 0;
};

struct get_result {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// GET http://host:port<target> with Connection: close on a thread and io_context of its own;
// the whole exchange within timeout, a body of at most max_body bytes. Throws
// std::runtime_error naming the address and the problem.
get_result http_get(const std::string& host, std::uint16_t port, const std::string& target,
                    std::chrono::milliseconds timeout, std::size_t max_body = 16 * 1024 * 1024);

// The same with any method (tests: 405).
get_result http_request(const std::string& method, const std::string& host, std::uint16_t port,
                        const std::string& target, std::chrono::milliseconds timeout,
                        std::size_t max_body = 16 * 1024 * 1024);

} // namespace exapool::http

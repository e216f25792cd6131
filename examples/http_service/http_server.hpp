// The HTTP side, after Boost.Beast's asynchronous server example: a listener accepts, a session
// per connection reads a request, answers it and reads the next. No CAF here: POST /query hands
// the SQL to a callback that answers later, from any thread.
//
// Everything runs on one io_context thread, so the listener and the sessions need no locks: the
// thread only parses and writes HTTP, the statements run in the database and the answers come
// back by net::post.
#pragma once

#include "query.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace http_service {

// Runs one statement; calls its second argument once, from any thread.
using query_fn = std::function<void(std::string sql, std::function<void(reply)> done)>;

// Every size and time a peer controls is bounded.
struct limits {
  std::size_t max_body = 64 * 1024;    // a larger body gets 413
  std::size_t max_connections = 256;   // one more is closed as soon as it is accepted
  std::chrono::seconds io_timeout{30}; // reading a request, writing an answer
};

class http_session;

class listener : public std::enable_shared_from_this<listener> {
public:
  // Throws boost::system::system_error when it cannot listen there.
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint, limits lim,
           query_fn query);
  unsigned short port() const;
  void run() { do_accept(); }
  // Stops accepting; idle connections close now, busy ones after their answer. Returns how
  // many requests are being answered.
  std::size_t stop();

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_; // after a failed accept
  limits limits_;
  query_fn query_;
  std::vector<std::weak_ptr<http_session>> sessions_;
};

} // namespace http_service

#include "http_server.hpp"

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <iostream>
#include <optional>
#include <utility>

namespace http_service {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

void fail(beast::error_code ec, const char* what) {
  std::cerr << "http_service: " << what << ": " << ec.message() << "\n";
}

} // namespace

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket, const limits& lim, query_fn query)
      : stream_(std::move(socket)), limits_(lim), query_(std::move(query)) {}

  void run() { do_read(); }

  // Shutdown: a connection waiting for a request closes now; one whose request is being
  // answered closes after the answer. True for the latter.
  bool stop() {
    stopping_ = true;
    if (!busy_)
      stream_.cancel();
    return busy_;
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(limits_.max_body);
    stream_.expires_after(limits_.io_timeout); // a silent peer is dropped
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      busy_ = true;
      keep_alive_ = false; // the rest of the request is still unread
      if (ec == http::error::body_limit)
        version_ = parser_->get().version();
      auto status = ec == http::error::body_limit ? 413 : 431;
      return do_write({static_cast<unsigned>(status), error_json("too_large", "", ec.message())});
    }
    if (ec) {
      // The peer closed, went silent (an idle keep-alive connection) or we are stopping: normal.
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != net::error::operation_aborted)
        fail(ec, "read");
      return do_close();
    }
    handle(parser_->release());
  }

  // Routing: POST /query runs the body as SQL; everything else is answered at once.
  void handle(http::request<http::string_body> req) {
    busy_ = true;
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    if (req.target() != "/query")
      return do_write({404, error_json("not_found", "", "only POST /query is served")});
    if (req.method() != http::verb::post)
      return do_write({405, error_json("method_not_allowed", "", "POST the SQL to /query")});
    if (req.body().empty())
      return do_write({400, error_json("bad_request", "", "the body must hold the SQL")});
    // The query's own timeout bounds the wait for the answer.
    stream_.expires_never();
    // Counts as work of the io_context until the answer is written, so io_context::run does
    // not return while an answer is pending: that is how a shutdown finishes requests in flight.
    in_flight_ = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    // The answer comes from a CAF thread and is posted to this connection's executor.
    auto executor = stream_.get_executor();
    query_(std::move(req.body()), [self = shared_from_this(), executor](reply r) {
      net::post(executor, [self, r = std::move(r)]() mutable { self->do_write(std::move(r)); });
    });
  }

  void do_write(reply r) {
    in_flight_ = {};
    bool keep_alive = keep_alive_ && !stopping_;
    res_ = {};
    res_.version(version_);
    res_.result(r.status);
    res_.set(http::field::server, "exapool-http-service");
    res_.set(http::field::content_type, "application/json");
    if (r.status == 405)
      res_.set(http::field::allow, "POST");
    if (r.status == 503) // busy or starting to stop: worth another try
      res_.set(http::field::retry_after, "1");
    res_.keep_alive(keep_alive);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    stream_.expires_after(limits_.io_timeout);
    http::async_write(
        stream_, res_,
        beast::bind_front_handler(&http_session::on_write, shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    busy_ = false;
    if (ec)
      return fail(ec, "write");
    if (parser_ && !parser_->is_done())
      return do_drain();
    if (!keep_alive || stopping_)
      return do_close();
    do_read();
  }

  // After an answer that left part of the request unread (413, 431): closing now would make the
  // kernel reset the connection, and the peer could lose the answer. So this side stops
  // sending, and what the peer still sends is read and dropped until it closes or the time is
  // up.
  void do_drain() {
    parser_.reset();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(limits_.io_timeout); // one deadline for the whole drain
    read_and_drop();
  }

  void read_and_drop() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec)
                                self->read_and_drop();
                            });
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::array<char, 4096> drain_;
  limits limits_;
  query_fn query_;
  net::any_io_executor in_flight_; // tracked while a query's answer is pending
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool busy_ = false; // a request is being answered
  bool stopping_ = false;
};

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, limits lim, query_fn query)
    : ioc_(ioc), acceptor_(ioc), retry_(ioc), limits_(lim), query_(std::move(query)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

unsigned short listener::port() const {
  return acceptor_.local_endpoint().port();
}

std::size_t listener::stop() {
  beast::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
  std::size_t in_flight = 0;
  for (auto& weak : sessions_)
    if (auto session = weak.lock())
      in_flight += session->stop();
  return in_flight;
}

void listener::do_accept() {
  acceptor_.async_accept(ioc_, beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open())
    return; // stopped
  if (ec) {
    fail(ec, "accept");
    // Out of file descriptors, say: accepting again at once would spin.
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e)
        self->do_accept();
    });
    return;
  }
  sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                 [](const auto& weak) { return weak.expired(); }),
                  sessions_.end());
  if (sessions_.size() < limits_.max_connections) {
    auto session = std::make_shared<http_session>(std::move(socket), limits_, query_);
    sessions_.push_back(session);
    session->run();
  } // else: over the bound, the socket closes here
  do_accept();
}

} // namespace http_service

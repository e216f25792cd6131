#include "integration/http/metrics_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace exapool::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {
class session;
}

struct metrics_server::impl : std::enable_shared_from_this<metrics_server::impl> {
  impl(net::any_io_executor ex, handler_fn h, server_limits l)
      : executor(ex), acceptor(net::make_strand(ex)), limits(l), handler(std::move(h)) {}

  net::any_io_executor executor;
  tcp::acceptor acceptor;
  server_limits limits;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> stopped{false};
  std::mutex mutex; // guards handler and sessions
  handler_fn handler;
  std::vector<std::weak_ptr<session>> sessions;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  // The handler, or an empty function once stopped.
  handler_fn current_handler() {
    std::lock_guard<std::mutex> lock{mutex};
    return handler;
  }
};

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<metrics_server::impl> server)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), server_(std::move(server)) {}
  ~session() { --server_->active; }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  // From any thread: ends the connection (stop()).
  void close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      self->timer_.cancel();
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

private:
  void do_read() {
    if (closed_)
      return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits.header_limit));
    parser_->body_limit(server_->limits.body_limit);
    stream_.expires_after(server_->limits.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::header_limit)
      return respond({431, "text/plain; charset=utf-8", "request header too large\n"}, false);
    if (ec == bhttp::error::body_limit)
      return respond({413, "text/plain; charset=utf-8", "request body too large\n"}, false);
    if (ec)
      return do_close(); // end of stream, timeout, reset, garbage
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    if (req.method() != bhttp::verb::get) {
      allow_get_ = true;
      return respond({405, "text/plain; charset=utf-8", "only GET is served\n"}, keep_alive_);
    }
    auto handler = server_->current_handler();
    if (!handler || closed_)
      return do_close();
    answered_ = false;
    ++request_;
    stream_.expires_never();
    timer_.expires_after(server_->limits.handler_timeout);
    timer_.async_wait([self = shared_from_this(), n = request_](beast::error_code e) {
      if (!e && n == self->request_ && !self->answered_)
        self->respond({503, "text/plain; charset=utf-8", "no answer in time\n"}, false);
    });
    auto executor = stream_.get_executor();
    std::string target(req.target());
    handler(target, [self = shared_from_this(), executor, n = request_](response r) {
      net::post(executor, [self, n, r = std::move(r)]() mutable {
        if (n == self->request_ && !self->answered_)
          self->respond(std::move(r), self->keep_alive_);
      });
    });
  }

  void respond(response r, bool keep_alive) {
    answered_ = true;
    timer_.cancel();
    if (closed_)
      return;
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<bhttp::status>(r.status));
    res_.set(bhttp::field::server, "exapool");
    res_.set(bhttp::field::content_type, r.content_type);
    if (allow_get_)
      res_.set(bhttp::field::allow, "GET");
    allow_get_ = false;
    res_.keep_alive(keep_alive);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    stream_.expires_after(server_->limits.write_timeout);
    bhttp::async_write(stream_, res_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                         if (ec || !keep_alive)
                           return self->do_close();
                         self->do_read();
                       });
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
    timer_.cancel();
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  std::shared_ptr<metrics_server::impl> server_;
  std::uint64_t request_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool answered_ = true;
  bool allow_get_ = false;
  bool closed_ = false;
};

} // namespace

void metrics_server::impl::do_accept() {
  acceptor.async_accept(net::make_strand(executor),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          self->on_accept(ec, std::move(socket));
                        });
}

void metrics_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopped || !acceptor.is_open())
    return;
  if (!ec) {
    if (active.load() >= limits.max_connections) {
      beast::error_code ignored;
      socket.close(ignored); // over the bound: refused at once
    } else {
      ++active;
      auto s = std::make_shared<session>(std::move(socket), shared_from_this());
      {
        std::lock_guard<std::mutex> lock{mutex};
        sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                      [](const auto& w) { return w.expired(); }),
                       sessions.end());
        sessions.push_back(s);
      }
      s->run();
    }
  }
  do_accept();
}

metrics_server::metrics_server(net::any_io_executor executor, const std::string& host,
                               std::uint16_t port, handler_fn handler, server_limits limits)
    : impl_(std::make_shared<impl>(executor, std::move(handler), limits)) {
  auto where = host + ":" + std::to_string(port);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error("metrics endpoint: '" + host + "' is not an IP address");
  tcp::endpoint endpoint{address, port};
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec)
    a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    a.bind(endpoint, ec);
  if (!ec)
    a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("metrics endpoint: cannot listen on " + where + " (" + ec.message() +
                             "); is the port taken, or the address not this "
                             "machine's?");
  port_ = a.local_endpoint().port();
  net::dispatch(a.get_executor(), [self = impl_] { self->do_accept(); });
}

metrics_server::~metrics_server() {
  stop();
}

std::uint16_t metrics_server::port() const {
  return port_;
}

void metrics_server::stop(std::chrono::milliseconds wait) {
  if (impl_->stopped.exchange(true))
    return;
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  net::post(impl_->acceptor.get_executor(), [self = impl_, closed] {
    beast::error_code ec;
    self->acceptor.close(ec);
    closed->set_value();
  });
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard<std::mutex> lock{impl_->mutex};
    impl_->handler = nullptr;
    for (auto& w : impl_->sessions)
      if (auto s = w.lock())
        open.push_back(std::move(s));
    impl_->sessions.clear();
  }
  for (auto& s : open)
    s->close();
  open.clear();
  auto deadline = std::chrono::steady_clock::now() + wait;
  if (done.wait_until(deadline) != std::future_status::ready)
    return;
  while (impl_->active.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

get_result http_request(const std::string& method, const std::string& host, std::uint16_t port,
                        const std::string& target, std::chrono::milliseconds timeout,
                        std::size_t max_body) {
  auto where = host + ":" + std::to_string(port);
  auto fail = [&](const std::string& what) {
    return std::runtime_error("HTTP " + method + " http://" + where + target + ": " + what);
  };
  net::io_context io;
  beast::tcp_stream stream{io};
  tcp::resolver resolver{io};
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::connection, "close");
  if (req.method() == bhttp::verb::unknown)
    req.method_string(method);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body);
  parser.header_limit(64 * 1024);
  beast::error_code failure;
  std::string step;
  // The stream's deadline bounds connect, write and read; this guard also the resolve.
  net::steady_timer guard{io, timeout + std::chrono::milliseconds(100)};
  guard.async_wait([&](beast::error_code ec) {
    if (!ec) {
      resolver.cancel();
      stream.cancel();
    }
  });
  auto finish = [&](beast::error_code ec, const char* what) {
    if (ec)
      failure = ec, step = what;
    guard.cancel();
  };
  stream.expires_after(timeout);
  resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
    if (ec)
      return finish(ec, "resolve");
    stream.async_connect(results, [&](beast::error_code ec, const auto&) {
      if (ec)
        return finish(ec, "connect");
      bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec)
          return finish(ec, "write");
        bhttp::async_read(stream, buffer, parser,
                          [&](beast::error_code ec, std::size_t) { finish(ec, "read"); });
      });
    });
  });
  io.run_for(timeout + std::chrono::seconds(1));
  if (!io.stopped())
    throw fail("no answer in time");
  if (failure)
    throw fail(step + " failed (" + failure.message() + ")");
  if (!parser.is_done())
    throw fail("incomplete answer");
  auto& res = parser.get();
  get_result out;
  out.status = res.result_int();
  out.content_type = std::string(res[bhttp::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

get_result http_get(const std::string& host, std::uint16_t port, const std::string& target,
                    std::chrono::milliseconds timeout, std::size_t max_body) {
  return http_request("GET", host, port, target, timeout, max_body);
}

} // namespace exapool::http

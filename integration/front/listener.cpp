#include "integration/front/listener.hpp"

#include "integration/front/front_state.hpp"
#include "integration/front/session_core.hpp"
#include "integration/front/transport.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <future>

namespace exafront {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

using steady = std::chrono::steady_clock;

constexpr auto handshake_timeout = std::chrono::seconds(30);
// accept() failures (EMFILE, ENFILE, ...) pause accepting for a delay that doubles from the
// first to the last value while they persist; a success resets it. Without it a full fd table
// made accept() spin (108,672 calls in 3 s) and starved the I/O threads.
constexpr auto first_accept_backoff = std::chrono::milliseconds(5);
constexpr auto last_accept_backoff = std::chrono::milliseconds(500);

// Errors that only mean "the peer went away"; nothing to report.
void fail(beast::error_code, const char*) {}

// Counts an accepted connection as open from accept until its last owner (detector, upgrade,
// ws_session) lets it go; moved from stage to stage.
class connection_token {
public:
  explicit connection_token(std::shared_ptr<front_state> state) : state_(std::move(state)) {
    ++state_->connections;
  }
  connection_token(connection_token&& other) noexcept : state_(std::move(other.state_)) {}
  connection_token& operator=(connection_token&&) = delete;
  ~connection_token() {
    if (state_)
      --state_->connections;
  }

private:
  std::shared_ptr<front_state> state_;
};

// The login deadline of a connection accepted now (time_point::max(): none).
steady::time_point login_deadline(const front_state& state) {
  auto limit = state.options.login_timeout;
  return limit.count() > 0 ? steady::now() + limit : steady::time_point::max();
}

// The TLS and HTTP handshakes end by the login deadline (they are part of logging in) and
// within handshake_timeout.
steady::time_point handshake_deadline(steady::time_point login_deadline) {
  return std::min(login_deadline, steady::now() + handshake_timeout);
}

// One WebSocket connection, plain or TLS: a read always outstanding (so a second request or an
// abortQuery is seen while one runs), and a queue of writes, one at a time as Beast requires.
template <class Stream>
class ws_session : public transport, public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream&& stream, std::shared_ptr<front_state> state, bool encrypted,
             connection_token token, steady::time_point login_deadline)
      : ws_(std::move(stream)), state_(std::move(state)), token_(std::move(token)),
        login_deadline_(login_deadline), encrypted_(encrypted) {
    beast::error_code ec;
    auto endpoint = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    if (!ec)
      peer_ = endpoint.address().to_string();
    auto local = beast::get_lowest_layer(ws_).socket().local_endpoint(ec);
    if (!ec)
      local_ = local.address().to_string();
  }

  void run(http::request<http::string_body> request) {
    beast::get_lowest_layer(ws_).expires_never(); // the websocket stream has its own timeouts
    // Beast's suggested server timeouts would ping idle clients and drop them after 5
    // minutes; Exasol never sends Ping and keeps idle sessions (pooled ones!) for hours.
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = handshake_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [name = state_->options.name](websocket::response_type& res) {
          res.set(http::field::server, name);
        }));
    ws_.read_message_max(state_->options.max_message_bytes);
    ws_.auto_fragment(false);
    ws_.async_accept(request,
                     beast::bind_front_handler(&ws_session::on_accept, this->shared_from_this()));
  }

  // transport
  void send(std::string payload, bool binary) override {
    queue_.push_back({std::move(payload), binary, false});
    if (!writing_)
      do_write();
  }
  void send_pong() override {
    queue_.push_back({{}, false, true});
    if (!writing_)
      do_write();
  }
  void close() override {
    close_after_writes_ = true;
    if (!writing_)
      do_close();
  }
  void drop() override {
    dropped_ = true;
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec); // no Close frame, no TLS close_notify: the peer sees EOF
  }
  bool encrypted() const override { return encrypted_; }
  std::string peer_address() const override { return peer_; }
  std::string local_address() const override { return local_; }

private:
  struct outgoing {
    std::string payload;
    bool binary = false;
    bool pong = false;
  };

  void on_accept(beast::error_code ec) {
    if (ec)
      return fail(ec, "accept");
    core_ = std::make_shared<session_core>(state_, this->weak_from_this(), ws_.get_executor());
    core_->start(login_deadline_);
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&ws_session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "read"); // closed, reset, dropped, or a message beyond read_message_max
      return finish();
    }
    std::string payload = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    core_->on_message(std::move(payload), ws_.got_binary());
    if (!dropped_)
      do_read();
  }

  void do_write() {
    if (queue_.empty() || dropped_) {
      if (close_after_writes_ && !dropped_)
        do_close();
      return;
    }
    writing_ = true;
    auto& next = queue_.front();
    if (next.pong) {
      ws_.async_pong(
          {}, [self = this->shared_from_this()](beast::error_code ec) { self->on_write(ec, 0); });
      return;
    }
    ws_.binary(next.binary);
    ws_.async_write(asio::buffer(next.payload),
                    beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (!queue_.empty())
      queue_.pop_front();
    if (ec) {
      fail(ec, "write");
      return drop();
    }
    do_write();
  }

  void do_close() {
    if (closing_)
      return;
    closing_ = true;
    ws_.async_close(websocket::close_code::normal,
                    [self = this->shared_from_this()](beast::error_code ec) { fail(ec, "close"); });
  }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    if (core_)
      core_->on_closed();
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<front_state> state_;
  connection_token token_;
  steady::time_point login_deadline_;
  std::shared_ptr<session_core> core_;
  std::deque<outgoing> queue_;
  std::string peer_, local_;
  bool encrypted_;
  bool writing_ = false, close_after_writes_ = false, closing_ = false, dropped_ = false,
       finished_ = false;
};

// Reads the HTTP upgrade request and hands the stream to a ws_session.
template <class Stream> class upgrade : public std::enable_shared_from_this<upgrade<Stream>> {
public:
  upgrade(Stream&& stream, beast::flat_buffer buffer, std::shared_ptr<front_state> state,
          bool encrypted, connection_token token, steady::time_point login_deadline)
      : stream_(std::move(stream)), buffer_(std::move(buffer)), state_(std::move(state)),
        token_(std::move(token)), login_deadline_(login_deadline), encrypted_(encrypted) {}

  void run() {
    beast::get_lowest_layer(stream_).expires_at(handshake_deadline(login_deadline_));
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&upgrade::on_read, this->shared_from_this()));
  }

private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "http read");
    if (!websocket::is_upgrade(request_))
      return; // not a WebSocket client: closing the connection is the whole answer
    std::make_shared<ws_session<Stream>>(std::move(stream_), state_, encrypted_, std::move(token_),
                                         login_deadline_)
        ->run(std::move(request_));
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::shared_ptr<front_state> state_;
  connection_token token_;
  steady::time_point login_deadline_;
  bool encrypted_;
};

// Peeks at the first bytes: a TLS ClientHello gets a TLS handshake first.
class detector : public std::enable_shared_from_this<detector> {
public:
  detector(tcp::socket&& socket, ssl::context& tls, std::shared_ptr<front_state> state)
      : stream_(std::move(socket)), tls_(tls), state_(std::move(state)), token_(state_),
        login_deadline_(login_deadline(*state_)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&detector::on_run, shared_from_this()));
  }

private:
  void on_run() {
    stream_.expires_at(handshake_deadline(login_deadline_));
    beast::async_detect_ssl(stream_, buffer_,
                            beast::bind_front_handler(&detector::on_detect, shared_from_this()));
  }

  void on_detect(beast::error_code ec, bool is_tls) {
    if (ec)
      return fail(ec, "detect");
    if (!is_tls)
      return std::make_shared<upgrade<beast::tcp_stream>>(std::move(stream_), std::move(buffer_),
                                                          state_, false, std::move(token_),
                                                          login_deadline_)
          ->run();
    tls_stream_.emplace(std::move(stream_), tls_);
    tls_stream_->async_handshake(
        ssl::stream_base::server, buffer_.data(),
        beast::bind_front_handler(&detector::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec, std::size_t bytes_used) {
    if (ec)
      return fail(ec, "tls handshake");
    buffer_.consume(bytes_used);
    std::make_shared<upgrade<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(*tls_stream_), std::move(buffer_), state_, true, std::move(token_),
        login_deadline_)
        ->run();
  }

  beast::tcp_stream stream_;
  ssl::context& tls_;
  std::shared_ptr<front_state> state_;
  connection_token token_;
  steady::time_point login_deadline_;
  beast::flat_buffer buffer_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
};

class tcp_listener : public listener, public std::enable_shared_from_this<tcp_listener> {
public:
  tcp_listener(asio::io_context& ioc, const tls_material& material,
               std::shared_ptr<front_state> state)
      : ioc_(ioc), tls_(ssl::context::tls_server), acceptor_(asio::make_strand(ioc)),
        backoff_timer_(acceptor_.get_executor()), state_(std::move(state)) {
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls_.use_certificate_chain(asio::buffer(material.certificate_pem));
    tls_.use_private_key(asio::buffer(material.private_key_pem), ssl::context::pem);
  }

  // Before the I/O threads run, or on the acceptor's strand.
  void open(const std::string& host, std::uint16_t port) {
    host_ = host;
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec)
      throw std::runtime_error(state_->options.name + ": invalid listen address " + host + ": " +
                               ec.message());
    tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(endpoint, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      beast::error_code ignored;
      acceptor_.close(ignored);
      throw std::runtime_error(state_->options.name + ": cannot listen on " + host + ":" +
                               std::to_string(port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    backoff_ = {};
    do_accept();
  }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    post_and_wait([this] { close_acceptor(); });
  }

  void set_accepting(bool on) override {
    post_and_wait([this, on] {
      if (!on)
        return close_acceptor();
      if (!acceptor_.is_open())
        open(host_, port_); // the same port: clients reconnect to the address they know
    });
  }

private:
  // Runs `work` on the acceptor's strand and waits for it, so that the caller sees its effect
  // (a closed acceptor refuses connections) when this returns; rethrows its exception.
  template <class Work> void post_and_wait(Work work) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    asio::post(acceptor_.get_executor(), [self = shared_from_this(), done, work] {
      try {
        work();
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    // The I/O threads may be gone (stop after ioc.stop()): then nobody runs the strand, and
    // nothing else touches the acceptor either.
    if (finished.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
      throw std::runtime_error(state_->options.name + ": the listener did not answer within 5 s");
    finished.get();
  }

  void close_acceptor() {
    beast::error_code ec;
    backoff_timer_.cancel();
    acceptor_.close(ec);
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&tcp_listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      ++state_->accept_errors;
      return back_off();
    }
    ++state_->accepts;
    backoff_ = {};
    if (auto limit = state_->options.max_connections;
        limit != 0 && state_->connections.load() >= limit) {
      ++state_->refused_connections; // closed at once: the client sees the connection end
      socket.close(ec);
      return do_accept();
    }
    socket.set_option(tcp::no_delay(true), ec); // one small message per round trip
    std::make_shared<detector>(std::move(socket), tls_, state_)->run();
    do_accept();
  }

  // Out of file descriptors (or another accept() failure): the pending connection stays in
  // the kernel's backlog; try again after a growing pause instead of at once.
  void back_off() {
    backoff_ =
        backoff_.count() == 0 ? first_accept_backoff : std::min(backoff_ * 2, last_accept_backoff);
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->acceptor_.is_open())
        self->do_accept();
    });
  }

  asio::io_context& ioc_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  asio::steady_timer backoff_timer_;
  std::shared_ptr<front_state> state_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::chrono::milliseconds backoff_{0};
};

} // namespace

std::shared_ptr<listener> start_listener(asio::io_context& ioc, const std::string& host,
                                         std::uint16_t port, const tls_material& tls,
                                         std::shared_ptr<front_state> state) {
  auto l = std::make_shared<tcp_listener>(ioc, tls, std::move(state));
  l->open(host, port);
  return l;
}

} // namespace exafront

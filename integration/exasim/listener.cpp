#include "integration/exasim/listener.hpp"

#include "integration/exasim/server_state.hpp"
#include "integration/exasim/session_core.hpp"
#include "integration/exasim/transport.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>

namespace exasim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto handshake_timeout = std::chrono::seconds(30);

// Errors that only mean "the peer went away"; nothing to report.
void fail(beast::error_code, const char*) {}

// One WebSocket connection, plain or TLS: a read always outstanding (so a second request or an
// abortQuery is seen while one runs), and a queue of writes, one at a time as Beast requires.
template <class Stream>
class ws_session : public transport, public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream&& stream, std::shared_ptr<server_state> state, bool encrypted)
      : ws_(std::move(stream)), state_(std::move(state)), encrypted_(encrypted) {
    beast::error_code ec;
    auto endpoint = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    if (!ec)
      peer_ = endpoint.address().to_string();
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
        [](websocket::response_type& res) { res.set(http::field::server, "exasim"); }));
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
  std::shared_ptr<server_state> state_;
  std::shared_ptr<session_core> core_;
  std::deque<outgoing> queue_;
  std::string peer_;
  bool encrypted_;
  bool writing_ = false, close_after_writes_ = false, closing_ = false, dropped_ = false,
       finished_ = false;
};

// Reads the HTTP upgrade request and hands the stream to a ws_session.
template <class Stream> class upgrade : public std::enable_shared_from_this<upgrade<Stream>> {
public:
  upgrade(Stream&& stream, beast::flat_buffer buffer, std::shared_ptr<server_state> state,
          bool encrypted)
      : stream_(std::move(stream)), buffer_(std::move(buffer)), state_(std::move(state)),
        encrypted_(encrypted) {}

  void run() {
    beast::get_lowest_layer(stream_).expires_after(handshake_timeout);
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&upgrade::on_read, this->shared_from_this()));
  }

private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail(ec, "http read");
    if (!websocket::is_upgrade(request_))
      return; // not a WebSocket client: closing the connection is the whole answer
    std::make_shared<ws_session<Stream>>(std::move(stream_), state_, encrypted_)
        ->run(std::move(request_));
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::shared_ptr<server_state> state_;
  bool encrypted_;
};

// Peeks at the first bytes: a TLS ClientHello gets a TLS handshake first.
class detector : public std::enable_shared_from_this<detector> {
public:
  detector(tcp::socket&& socket, ssl::context& tls, std::shared_ptr<server_state> state)
      : stream_(std::move(socket)), tls_(tls), state_(std::move(state)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&detector::on_run, shared_from_this()));
  }

private:
  void on_run() {
    stream_.expires_after(handshake_timeout);
    beast::async_detect_ssl(stream_, buffer_,
                            beast::bind_front_handler(&detector::on_detect, shared_from_this()));
  }

  void on_detect(beast::error_code ec, bool is_tls) {
    if (ec)
      return fail(ec, "detect");
    if (!is_tls)
      return std::make_shared<upgrade<beast::tcp_stream>>(std::move(stream_), std::move(buffer_),
                                                          state_, false)
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
        std::move(*tls_stream_), std::move(buffer_), state_, true)
        ->run();
  }

  beast::tcp_stream stream_;
  ssl::context& tls_;
  std::shared_ptr<server_state> state_;
  beast::flat_buffer buffer_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
};

class tcp_listener : public listener, public std::enable_shared_from_this<tcp_listener> {
public:
  tcp_listener(asio::io_context& ioc, const tls_material& material,
               std::shared_ptr<server_state> state)
      : ioc_(ioc), tls_(ssl::context::tls_server), acceptor_(asio::make_strand(ioc)),
        state_(std::move(state)) {
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls_.use_certificate_chain(asio::buffer(material.certificate_pem));
    tls_.use_private_key(asio::buffer(material.private_key_pem), ssl::context::pem);
  }

  void open(const std::string& host, std::uint16_t port) {
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec)
      throw std::runtime_error("exasim: invalid listen address " + host + ": " + ec.message());
    tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(endpoint, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("exasim: cannot listen on " + host + ":" + std::to_string(port) +
                               ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    do_accept();
  }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

private:
  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&tcp_listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open())
      return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec); // one small message per round trip
      std::make_shared<detector>(std::move(socket), tls_, state_)->run();
    }
    do_accept();
  }

  asio::io_context& ioc_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  std::shared_ptr<server_state> state_;
  std::uint16_t port_ = 0;
};

} // namespace

std::shared_ptr<listener> start_listener(asio::io_context& ioc, const std::string& host,
                                         std::uint16_t port, const tls_material& tls,
                                         std::shared_ptr<server_state> state) {
  auto l = std::make_shared<tcp_listener>(ioc, tls, std::move(state));
  l->open(host, port);
  return l;
}

} // namespace exasim

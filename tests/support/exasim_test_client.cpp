#include "tests/support/exasim_test_client.hpp"

#include "integration/exasol/codec.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/x509.h>

#include <optional>
#include <stdexcept>

namespace exasim_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;

struct test_client::impl {
  asio::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  std::optional<websocket::stream<beast::tcp_stream>> plain;
  std::optional<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> secure;
  beast::flat_buffer buffer;
  std::string fingerprint;
  bool compressed = false;
  bool saw_close_frame = false;
  std::size_t pongs = 0;
  std::chrono::seconds limit{30};

  template <class F> void with(F&& f) {
    if (secure)
      f(*secure);
    else
      f(*plain);
  }

  // Runs the io_context until `done`, at most `limit` (a hang guard, not a timing check).
  void wait(const bool& done) {
    ioc.restart();
    ioc.run_for(limit);
    if (!done) {
      with([](auto& ws) { beast::get_lowest_layer(ws).close(); });
      ioc.restart();
      ioc.run_for(std::chrono::seconds(1));
      throw std::runtime_error("test client: no answer within the hang guard");
    }
  }

  template <class Ws> void setup(Ws& ws) {
    ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong)
        ++pongs;
      if (kind == websocket::frame_type::close)
        saw_close_frame = true;
    });
    ws.read_message_max(128u << 20);
  }
};

test_client::test_client(std::uint16_t port, bool tls) : impl_(std::make_unique<impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  if (!tls) {
    impl_->plain.emplace(impl_->ioc);
    beast::get_lowest_layer(*impl_->plain).connect(endpoint);
    impl_->setup(*impl_->plain);
    impl_->plain->handshake("127.0.0.1", "/");
    return;
  }
  impl_->tls.set_verify_mode(ssl::verify_none); // the tests compare the fingerprint instead
  impl_->secure.emplace(impl_->ioc, impl_->tls);
  beast::get_lowest_layer(*impl_->secure).connect(endpoint);
  auto& stream = impl_->secure->next_layer();
  SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
  stream.handshake(ssl::stream_base::client);
  X509* cert = SSL_get1_peer_certificate(stream.native_handle());
  if (cert) {
    int len = i2d_X509(cert, nullptr);
    std::string der(static_cast<std::size_t>(len), '\0');
    auto out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &out);
    impl_->fingerprint = exasol::codec::sha256_hex(der);
    X509_free(cert);
  }
  impl_->setup(*impl_->secure);
  impl_->secure->handshake("127.0.0.1", "/");
}

test_client::~test_client() = default;

const std::string& test_client::fingerprint() const {
  return impl_->fingerprint;
}

void test_client::send_raw(const std::string& payload, bool binary) {
  bool done = false;
  beast::error_code result;
  impl_->with([&](auto& ws) {
    ws.binary(binary);
    ws.async_write(asio::buffer(payload), [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
  });
  impl_->wait(done);
  if (result)
    throw std::runtime_error("test client: write failed: " + result.message());
}

void test_client::send_json(const json::object& message) {
  std::string text = json::serialize(message);
  if (impl_->compressed)
    send_raw(exasol::codec::zlib_compress(text), true);
  else
    send_raw(text, false);
}

json::object test_client::receive() {
  bool done = false, binary = false;
  beast::error_code result;
  impl_->buffer.clear();
  impl_->with([&](auto& ws) {
    ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
      result = ec;
      binary = ws.got_binary();
      done = true;
    });
  });
  impl_->wait(done);
  if (result)
    throw std::runtime_error("test client: read failed: " + result.message());
  std::string payload = beast::buffers_to_string(impl_->buffer.data());
  if (binary)
    payload = exasol::codec::zlib_decompress(payload, 256u << 20);
  json::value v = json::parse(payload);
  if (!v.is_object())
    throw std::runtime_error("test client: response is not a JSON object");
  return v.as_object();
}

boost::system::error_code test_client::receive_error() {
  bool done = false;
  beast::error_code result;
  impl_->saw_close_frame = false;
  impl_->buffer.clear();
  impl_->with([&](auto& ws) {
    ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
  });
  impl_->wait(done);
  return result;
}

bool test_client::last_close_was_frame() const {
  return impl_->saw_close_frame;
}

json::object test_client::request(const json::object& message) {
  send_json(message);
  return receive();
}

json::object test_client::login(const std::string& user, const std::string& password,
                                int protocol_version, json::object credentials) {
  json::object key = request({{"command", "login"}, {"protocolVersion", protocol_version}});
  if (key.at("status") != "ok")
    return key;
  const auto& data = key.at("responseData").as_object();
  std::string pem(data.at("publicKeyPem").as_string());
  json::object message{{"username", user},
                       {"password", exasol::codec::rsa_encrypt_base64(pem, password)},
                       {"useCompression", false},
                       {"clientName", "exasim-test"},
                       {"driverName", "raw-beast"},
                       {"clientOs", "Linux"},
                       {"clientOsUsername", "tester"}};
  for (auto& [name, value] : credentials)
    message[name] = value;
  json::object response = request(message);
  bool compress = message.at("useCompression") == true;
  if (auto a = message.if_contains("attributes"); a && a->is_object())
    compress = compress || (a->as_object().if_contains("compressionEnabled") &&
                            *a->as_object().if_contains("compressionEnabled") == true);
  if (response.at("status") == "ok" && compress)
    impl_->compressed = true;
  return response;
}

json::object test_client::execute(const std::string& sql) {
  return request({{"command", "execute"}, {"sqlText", sql}});
}

void test_client::send_ping() {
  bool done = false;
  beast::error_code result;
  impl_->with([&](auto& ws) {
    ws.async_ping({}, [&](beast::error_code ec) {
      result = ec;
      done = true;
    });
  });
  impl_->wait(done);
  if (result)
    throw std::runtime_error("test client: ping failed: " + result.message());
}

void test_client::set_compression(bool on) {
  impl_->compressed = on;
}
std::size_t test_client::pongs_received() const {
  return impl_->pongs;
}
void test_client::set_timeout(std::chrono::seconds limit) {
  impl_->limit = limit;
}

void test_client::close() {
  bool done = false;
  impl_->with([&](auto& ws) {
    ws.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
  });
  try {
    impl_->wait(done);
  } catch (const std::exception&) {
  }
}

std::uint64_t session_id_of(const json::object& login_response) {
  const auto& id = login_response.at("responseData").as_object().at("sessionId");
  if (id.is_uint64())
    return id.get_uint64();
  if (id.is_int64() && id.get_int64() >= 0)
    return static_cast<std::uint64_t>(id.get_int64());
  throw std::runtime_error("sessionId is not an exact integer");
}

} // namespace exasim_test

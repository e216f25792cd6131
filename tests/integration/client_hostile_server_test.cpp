// The client against a scripted WebSocket server that misbehaves on purpose: malformed,
// truncated and unexpected messages must give protocol errors and a broken connection, never
// a crash or a hang. Socket timeouts are hang guards only.
#include "integration/exasol/codec.hpp"
#include "integration/exasol/connection.hpp"
#include "tests/support/client_errors.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <functional>
#include <thread>

using namespace exasol;
using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using ws_stream = websocket::stream<tcp::socket>;
using step = std::function<void(ws_stream&, const std::string& request)>;

// Serves one connection: each incoming message is answered by the next step of the script.
class scripted_server {
public:
  explicit scripted_server(std::vector<step> script) : script_(std::move(script)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_server() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> requests; // what the client sent, read after the client is gone

private:
  void serve() {
    try {
      tcp::socket socket(ioc_);
      acceptor_.accept(socket);
      ws_stream ws(std::move(socket));
      ws.accept();
      for (auto& next : script_) {
        beast::flat_buffer buffer;
        ws.read(buffer);
        requests.push_back(beast::buffers_to_string(buffer.data()));
        next(ws, requests.back());
      }
      beast::flat_buffer buffer;
      beast::error_code ec;
      ws.read(buffer, ec); // until the client goes away
    } catch (const std::exception&) {
      // a step closed the socket, or the client left: either way the script is over
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_{ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::vector<step> script_;
  std::thread thread_;
};

step reply(std::string text) {
  return [text](ws_stream& ws, const std::string&) {
    ws.text(true);
    ws.write(net::buffer(text));
  };
}

step hang_up() {
  return [](ws_stream& ws, const std::string&) { ws.next_layer().close(); };
}

const codec::rsa_key_pair& server_key() {
  static auto key = codec::rsa_key_pair::generate(1024);
  return key;
}

std::string public_key_response() {
  std::string pem;
  for (char c : server_key().public_pem()) // JSON-escape the newlines
    pem += c == '\n' ? std::string("\\n") : std::string(1, c);
  return R"({"status":"ok","responseData":{"publicKeyPem":")" + pem +
         R"(","publicKeyModulus":"00","publicKeyExponent":"010001"}})";
}

const std::string session_response =
    R"({"status":"ok","responseData":{"sessionId":9007199254740993,"protocolVersion":3,)"
    R"("productName":"EXASolution","maxDataMessageSize":67108864}})";
const std::string attributes_response = R"({"status":"ok","attributes":{"autocommit":true}})";

std::vector<step> login_script() {
  return {reply(public_key_response()), reply(session_response), reply(attributes_response)};
}

connection_options options(const scripted_server& s) {
  connection_options o;
  o.dsn = "127.0.0.1:" + std::to_string(s.port());
  o.tls = false;
  o.user = "sys";
  o.password = "pw";
  o.connect_timeout = 10s;
  o.socket_timeout = 10s; // hang guard
  return o;
}

using exasol::testing::error_of;

const std::string one_int_column =
    R"("columns":[{"name":"X","dataType":{"type":"DECIMAL","precision":18,"scale":0}}])";

} // namespace

TEST_CASE("client hostile server: garbage during login is a protocol error", "[client]") {
  scripted_server s({reply("this is not JSON")});
  auto e = error_of([&] { connection c(options(s)); });
  CHECK(e.kind() == error_kind::protocol);
}

TEST_CASE("client hostile server: a hang-up during login is a reset", "[client]") {
  scripted_server s({reply(public_key_response()), hang_up()});
  auto e = error_of([&] { connection c(options(s)); });
  CHECK(e.kind() == error_kind::reset);
}

TEST_CASE("client hostile server: the password is encrypted for the server's key", "[client]") {
  auto script = login_script();
  scripted_server s(script);
  {
    connection c(options(s));
    CHECK(c.session().session_id == 9007199254740993ULL);
  }
  REQUIRE(s.requests.size() >= 2);
  CHECK(s.requests[1].find("\"pw\"") == std::string::npos);
  auto at = s.requests[1].find("\"password\":\"") + 12;
  auto ciphertext = s.requests[1].substr(at, s.requests[1].find('"', at) - at);
  CHECK(server_key().decrypt_base64(ciphertext) == "pw");
}

TEST_CASE("client hostile server: a truncated response breaks the connection", "[client]") {
  auto script = login_script();
  script.push_back(reply(R"({"status":"ok","responseData":{"numResults":1,"results":[{"resu)"));
  scripted_server s(script);
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(c.is_broken());
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::broken);
}

TEST_CASE("client hostile server: an unexpected response shape is a protocol error", "[client]") {
  auto script = login_script();
  script.push_back(reply(R"({"status":"ok","responseData":{"numRows":3,"data":[[1,2,3]]}})"));
  scripted_server s(script);
  connection c(options(s));
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: an empty fetch chunk cannot loop for ever", "[client]") {
  auto script = login_script();
  script.push_back(reply(
      R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",)"
      R"("resultSet":{"resultSetHandle":4,"numColumns":1,"numRows":2000,"numRowsInMessage":0,)" +
      one_int_column + "}}]}}"));
  script.push_back(reply(R"({"status":"ok","responseData":{"numRows":0,"data":[[]]}})"));
  scripted_server s(script);
  connection c(options(s));
  CHECK(error_of([&] { c.execute("SELECT x"); }).kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: unsolicited pongs and pings are ignored", "[client]") {
  auto script = login_script();
  script.push_back([](ws_stream& ws, const std::string&) {
    ws.pong("heartbeat");
    ws.ping("");
    ws.pong("");
    ws.text(true);
    ws.write(net::buffer(
        std::string(
            R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":)"
            R"("resultSet","resultSet":{"numColumns":1,"numRows":1,"numRowsInMessage":1,)") +
        one_int_column + R"(,"data":[[7]]}}]}})"));
  });
  scripted_server s(script);
  connection c(options(s));
  auto rs = c.query("SELECT 7");
  CHECK(std::get<std::int64_t>(rs.at(0, 0)) == 7);
  CHECK(c.is_open());
}

TEST_CASE("client hostile server: corrupt compressed data is a protocol error", "[client]") {
  auto script = login_script();
  script.back() = [](ws_stream& ws, const std::string& request) {
    // After login, requests arrive zlib-compressed in binary frames.
    CHECK(codec::zlib_decompress(request, 1 << 20).find("getAttributes") != std::string::npos);
    ws.binary(true);
    ws.write(net::buffer(codec::zlib_compress(attributes_response)));
  };
  script.push_back([](ws_stream& ws, const std::string&) {
    ws.binary(true);
    ws.write(net::buffer(std::string("\x78\x9c garbage, not deflate")));
  });
  scripted_server s(script);
  auto o = options(s);
  o.compression = true;
  connection c(o);
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: disconnect tolerates a hang-up instead of the reply",
          "[client]") {
  auto script = login_script();
  script.push_back(hang_up());
  scripted_server s(script);
  connection c(options(s));
  c.disconnect();
  CHECK_FALSE(c.is_open());
  CHECK_FALSE(c.is_broken());
}

TEST_CASE("client hostile server: a silent server hits the socket timeout", "[client]") {
  auto script = login_script();
  script.push_back([](ws_stream&, const std::string&) { std::this_thread::sleep_for(2s); });
  scripted_server s(script);
  auto o = options(s);
  o.socket_timeout = 300ms;
  connection c(o);
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::timeout);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: an ignored abortQuery after the query timeout breaks the "
          "connection",
          "[client]") {
  auto script = login_script();
  script.push_back([](ws_stream&, const std::string&) {}); // the query: never answered
  script.push_back([](ws_stream&, const std::string&) {}); // abortQuery: ignored as well
  scripted_server s(script);
  auto o = options(s);
  o.query_timeout = 100ms;
  o.abort_grace = 100ms;
  {
    connection c(o);
    auto e = error_of([&] { c.execute("SELECT 1"); });
    CHECK(e.kind() == error_kind::timeout);
    CHECK(c.is_broken());
  }
  REQUIRE(s.requests.size() >= 5);
  CHECK(s.requests[4] == R"({"command":"abortQuery"})");
}

TEST_CASE("client hostile server: a failed fetch leaves the handle counted as open", "[client]") {
  auto script = login_script();
  script.push_back(reply(
      R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",)"
      R"("resultSet":{"resultSetHandle":4,"numColumns":1,"numRows":2000,"numRowsInMessage":0,)" +
      one_int_column + "}}]}}"));
  script.push_back(
      reply(R"({"status":"error","exception":{"text":"handle gone","sqlCode":"00000"}})"));
  script.push_back(reply(R"({"status":"ok","attributes":{"autocommit":false}})"));
  scripted_server s(script);
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT x"); });
  CHECK(e.kind() == error_kind::server);
  CHECK_FALSE(c.is_broken());
  CHECK(c.open_result_sets() == 1); // the pool must reset this session
  c.set_attributes({{"autocommit", false}});
  CHECK_FALSE(c.autocommit());
}

TEST_CASE("client hostile server: close_leftovers closes what a failure left open", "[client]") {
  auto script = login_script();
  script.push_back(reply(
      R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",)"
      R"("resultSet":{"resultSetHandle":4,"numColumns":1,"numRows":2000,"numRowsInMessage":0,)" +
      one_int_column + "}}]}}"));
  script.push_back(
      reply(R"({"status":"error","exception":{"text":"handle gone","sqlCode":"00000"}})"));
  script.push_back(reply(R"({"status":"ok"})"));
  scripted_server s(script);
  {
    connection c(options(s));
    CHECK(error_of([&] { c.execute("SELECT x"); }).kind() == error_kind::server);
    REQUIRE(c.open_result_sets() == 1);
    c.close_leftovers();
    CHECK(c.open_result_sets() == 0);
    CHECK(c.is_open());
  }
  REQUIRE(s.requests.size() >= 6);
  CHECK(s.requests[5] == R"({"command":"closeResultSet","resultSetHandles":[4]})");
}

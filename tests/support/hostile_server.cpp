// The hostile server's machinery: an accept thread, a thread per connection running blocking
// Beast calls, and a stop that wakes them all by shutting their sockets down (the descriptors
// stay open, and registered, until the thread that owns them is done with them).
#include "tests/support/hostile_server.hpp"

#include "integration/exasol/codec.hpp"
#include "integration/front/tls.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <variant>

namespace exapool::testing {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

// The largest inflated request the fixture accepts (requests are small; this only bounds it).
constexpr std::size_t max_request_bytes = std::size_t(16) << 20;

std::string command_of(const std::string& request) {
  json::error_code ec;
  auto v = json::parse(request, ec);
  if (ec || !v.is_object())
    return {};
  const auto* cmd = v.get_object().if_contains("command");
  return cmd != nullptr && cmd->is_string() ? std::string(cmd->get_string()) : std::string();
}

bool asks_for_compression(const std::string& request) {
  json::error_code ec;
  auto v = json::parse(request, ec);
  if (ec || !v.is_object())
    return false;
  const auto* flag = v.get_object().if_contains("useCompression");
  return flag != nullptr && flag->is_bool() && flag->get_bool();
}

const exasol::codec::rsa_key_pair& login_key() {
  static const auto key = exasol::codec::rsa_key_pair::generate(1024);
  return key;
}

// A WebSocket frame header for one unmasked server frame of `size` payload bytes.
std::string frame_header(bool text, std::size_t size) {
  std::string h(1, static_cast<char>(text ? 0x81 : 0x82));
  if (size < 126) {
    h += static_cast<char>(size);
  } else if (size <= 0xffff) {
    h += static_cast<char>(126);
    for (int shift : {8, 0})
      h += static_cast<char>((size >> shift) & 0xff);
  } else {
    h += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      h += static_cast<char>((std::uint64_t(size) >> shift) & 0xff);
  }
  return h;
}

} // namespace

struct hostile_server_state {
  hostile_server_state(scenario s, hostile_server_options o) : play(std::move(s)), opts(o) {
    if (opts.tls) {
      material = exafront::make_self_signed_certificate();
      tls_ctx.use_certificate_chain(net::buffer(material.certificate_pem));
      tls_ctx.use_private_key(net::buffer(material.private_key_pem), ssl::context::pem);
    }
  }

  scenario play;
  hostile_server_options opts;
  exafront::tls_material material;
  net::io_context ioc; // only for constructing sockets: every call below is blocking
  ssl::context tls_ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::thread accept_thread;
  std::vector<std::thread> connection_threads; // touched by the accept thread until it ends

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  bool stopping = false;
  std::set<int> live_sockets;
  hostile_server::counts counts;
  std::vector<std::string> requests;

  void accept_loop();
  void serve(tcp::socket socket, std::size_t index);
  void count(std::size_t hostile_server::counts::*which) {
    std::lock_guard lock(mutex);
    ++(counts.*which);
    changed.notify_all();
  }
  bool is_stopping() const {
    std::lock_guard lock(mutex);
    return stopping;
  }
};

struct hostile_peer::transport {
  using plain = websocket::stream<tcp::socket>;
  using secure = websocket::stream<ssl::stream<tcp::socket>>;
  std::variant<std::unique_ptr<plain>, std::unique_ptr<secure>> ws;

  template <class F> decltype(auto) with_ws(F&& f) {
    return std::visit([&](auto& p) -> decltype(auto) { return f(*p); }, ws);
  }
  tcp::socket& socket() {
    return with_ws([](auto& s) -> tcp::socket& { return beast::get_lowest_layer(s); });
  }
};

void hostile_server_state::accept_loop() {
  for (std::size_t index = 0;;) {
    tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    std::lock_guard lock(mutex);
    if (stopping)
      return;
    if (ec) { // e.g. out of descriptors: try again shortly rather than spin
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ++counts.connections;
    live_sockets.insert(socket.native_handle());
    connection_threads.emplace_back(
        [this, i = index++, s = std::move(socket)]() mutable { serve(std::move(s), i); });
  }
}

void hostile_server_state::serve(tcp::socket socket, std::size_t index) {
  int fd = socket.native_handle();
  hostile_peer::transport t;
  try {
    if (opts.tls) {
      auto ws = std::make_unique<hostile_peer::transport::secure>(std::move(socket), tls_ctx);
      ws->next_layer().handshake(ssl::stream_base::server);
      count(&hostile_server::counts::tls_handshakes);
      t.ws = std::move(ws);
    } else {
      t.ws = std::make_unique<hostile_peer::transport::plain>(std::move(socket));
    }
    t.with_ws([](auto& ws) { ws.accept(); });
    count(&hostile_server::counts::upgrades);
    hostile_peer peer(*this, index, t);
    play(peer);
  } catch (...) {
    // the client left, the server stops, or the scenario ended by throwing: all the same here
  }
  std::lock_guard lock(mutex);
  live_sockets.erase(fd); // before the descriptor closes (below), so stop never hits a reused one
  ++counts.finished;
  changed.notify_all();
}

// ------------------------------------------------------------------ hostile_peer

void hostile_peer::check_running() const {
  if (server_.is_stopping())
    throw gone{};
}

std::string hostile_peer::read() {
  check_running();
  beast::flat_buffer buffer;
  beast::error_code ec;
  bool binary = transport_.with_ws([&](auto& ws) {
    ws.read_message_max(max_request_bytes);
    ws.read(buffer, ec);
    return ws.got_binary();
  });
  if (ec)
    throw gone{};
  std::string text = beast::buffers_to_string(buffer.data());
  if (binary && compressed_) {
    try {
      text = exasol::codec::zlib_decompress(text, max_request_bytes);
    } catch (const exasol::codec::codec_error&) {
      throw gone{};
    }
  }
  auto command = command_of(text);
  std::lock_guard lock(server_.mutex);
  server_.requests.push_back(text);
  ++server_.counts.messages;
  server_.counts.logins += command == "login" || command == "loginToken" ? 1 : 0;
  server_.changed.notify_all();
  return text;
}

void hostile_peer::reply(std::string_view json) {
  if (compressed_)
    return reply_binary(exasol::codec::zlib_compress(json));
  check_running();
  beast::error_code ec;
  transport_.with_ws([&](auto& ws) {
    ws.text(true);
    ws.write(net::buffer(json.data(), json.size()), ec);
  });
  if (ec)
    throw gone{};
}

void hostile_peer::reply_binary(std::string_view bytes) {
  check_running();
  beast::error_code ec;
  transport_.with_ws([&](auto& ws) {
    ws.binary(true);
    ws.write(net::buffer(bytes.data(), bytes.size()), ec);
  });
  if (ec)
    throw gone{};
}

void hostile_peer::reply_truncated(std::string_view json, std::size_t bytes) {
  check_running();
  std::string raw = frame_header(true, json.size());
  raw.append(json.substr(0, std::min(bytes, json.size())));
  beast::error_code ec;
  transport_.with_ws([&](auto& ws) { net::write(ws.next_layer(), net::buffer(raw), ec); });
  hang_up();
  if (ec)
    throw gone{};
}

void hostile_peer::ping() {
  check_running();
  beast::error_code ec;
  transport_.with_ws([&](auto& ws) { ws.ping({}, ec); });
  if (ec)
    throw gone{};
}

void hostile_peer::pong() {
  check_running();
  beast::error_code ec;
  transport_.with_ws([&](auto& ws) { ws.pong("heartbeat", ec); });
  if (ec)
    throw gone{};
}

void hostile_peer::hang_up() {
  // shutdown, not close: the descriptor stays this thread's until serve() is done with it
  beast::error_code ignored;
  transport_.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

void hostile_peer::pause(std::chrono::milliseconds span) {
  std::unique_lock lock(server_.mutex);
  if (server_.changed.wait_for(lock, span, [&] { return server_.stopping; }))
    throw gone{};
}

void hostile_peer::stall() {
  for (;;)
    read();
}

void hostile_peer::heartbeats(std::chrono::milliseconds every, std::chrono::milliseconds lasting) {
  auto end = std::chrono::steady_clock::now() + lasting;
  while (std::chrono::steady_clock::now() < end) {
    pong();
    pause(every);
    ping();
    pause(every);
  }
  stall();
}

void hostile_peer::login() {
  auto first = read();
  reply(command_of(first) == "loginToken" ? responses::ok() : responses::public_key());
  auto credentials = read();
  reply(responses::session());
  compressed_ = asks_for_compression(credentials);
  read(); // getAttributes
  reply(responses::attributes());
}

// ------------------------------------------------------------------ hostile_server

hostile_server::hostile_server(scenario s, hostile_server_options o)
    : state_(std::make_shared<hostile_server_state>(std::move(s), o)) {
  state_->accept_thread = std::thread([st = state_.get()] { st->accept_loop(); });
}

hostile_server::~hostile_server() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    for (int fd : state_->live_sockets)
      ::shutdown(fd, SHUT_RDWR); // wakes a blocked read, write or handshake
    ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR); // wakes accept()
    state_->changed.notify_all();
  }
  state_->accept_thread.join();
  for (auto& t : state_->connection_threads)
    t.join();
}

std::uint16_t hostile_server::port() const {
  return state_->acceptor.local_endpoint().port();
}

std::string hostile_server::dsn() const {
  return "127.0.0.1:" + std::to_string(port());
}

std::string hostile_server::pinned_dsn() const {
  return "127.0.0.1/" + fingerprint() + ":" + std::to_string(port());
}

const std::string& hostile_server::fingerprint() const {
  return state_->material.fingerprint;
}

const std::string& hostile_server::certificate_pem() const {
  return state_->material.certificate_pem;
}

hostile_server::counts hostile_server::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->counts;
}

std::vector<std::string> hostile_server::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

bool hostile_server::wait_finished(std::size_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, limit, [&] { return state_->counts.finished >= n; });
}

// ------------------------------------------------------------------ scripts and responses

scenario scripted(std::vector<step> steps) {
  return [steps = std::move(steps)](hostile_peer& p) {
    for (const auto& next : steps)
      next(p, p.read());
    p.stall();
  };
}

step reply_with(std::string json) {
  return [json = std::move(json)](hostile_peer& p, const std::string&) { p.reply(json); };
}

step hang_up_step() {
  return [](hostile_peer& p, const std::string&) { p.hang_up(); };
}

namespace responses {

std::string public_key() {
  json::object data{{"publicKeyPem", login_key().public_pem()},
                    {"publicKeyModulus", "00"},
                    {"publicKeyExponent", "010001"}};
  return json::serialize(json::object{{"status", "ok"}, {"responseData", std::move(data)}});
}

std::string session() {
  return R"({"status":"ok","responseData":{"sessionId":9007199254740993,"protocolVersion":3,)"
         R"("productName":"EXASolution","maxDataMessageSize":67108864}})";
}

std::string attributes() {
  return R"({"status":"ok","attributes":{"autocommit":true}})";
}

std::string ok() {
  return R"({"status":"ok"})";
}

std::string result_set(std::int64_t handle, std::string_view num_rows,
                       std::string_view num_rows_in_message, std::string_view data,
                       std::size_t columns, std::string_view num_columns) {
  std::string cols;
  for (std::size_t c = 0; c < columns; ++c)
    cols += std::string(c == 0 ? "" : ",") + R"({"name":"C)" + std::to_string(c) +
            R"(","dataType":{"type":"DECIMAL","precision":18,"scale":0}})";
  std::string rs = R"({"numColumns":)" +
                   (num_columns.empty() ? std::to_string(columns) : std::string(num_columns)) +
                   R"(,"numRows":)" + std::string(num_rows) + R"(,"numRowsInMessage":)" +
                   std::string(num_rows_in_message) + R"(,"columns":[)" + cols + "]";
  if (handle > 0)
    rs += R"(,"resultSetHandle":)" + std::to_string(handle);
  if (!data.empty())
    rs += R"(,"data":)" + std::string(data);
  rs += "}";
  return R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",)"
         R"("resultSet":)" +
         rs + "}]}}";
}

std::string inline_rows(const std::vector<std::int64_t>& values) {
  std::string data = "[[";
  for (std::size_t i = 0; i < values.size(); ++i)
    data += (i == 0 ? "" : ",") + std::to_string(values[i]);
  data += "]]";
  auto n = std::to_string(values.size());
  return result_set(0, n, n, data);
}

std::string fetch_chunk(std::size_t rows) {
  std::string data;
  data.reserve(rows * 2 + 4);
  data += "[[";
  for (std::size_t i = 0; i < rows; ++i)
    data += i == 0 ? "1" : ",1";
  data += "]]";
  return R"({"status":"ok","responseData":{"numRows":)" + std::to_string(rows) + R"(,"data":)" +
         data + "}}";
}

} // namespace responses

std::string decrypt_password(std::string_view base64) {
  return login_key().decrypt_base64(std::string(base64));
}

namespace scenarios {

scenario silent_after_upgrade() {
  return [](hostile_peer& p) { p.stall(); };
}

scenario heartbeats_during_login(std::chrono::milliseconds every,
                                 std::chrono::milliseconds lasting) {
  return [every, lasting](hostile_peer& p) {
    p.read(); // the login request: never answered
    p.heartbeats(every, lasting);
  };
}

scenario garbage_during_login() {
  return [](hostile_peer& p) {
    p.read();
    p.reply("this is not JSON");
    p.stall();
  };
}

scenario wrong_public_key() {
  return [](hostile_peer& p) {
    p.read();
    p.reply(R"({"status":"ok","responseData":{"publicKeyPem":)"
            R"("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",)"
            R"("publicKeyModulus":"00","publicKeyExponent":"010001"}})");
    p.stall();
  };
}

scenario close_mid_login() {
  return [](hostile_peer& p) {
    p.read();
    p.reply(responses::public_key());
    p.read();
    p.reply_truncated(responses::session(), 20);
  };
}

scenario never_answers() {
  return [](hostile_peer& p) {
    p.login();
    p.stall();
  };
}

scenario heartbeats_during_execute(std::chrono::milliseconds every,
                                   std::chrono::milliseconds lasting) {
  return [every, lasting](hostile_peer& p) {
    p.login();
    p.read(); // the execute: never answered
    p.heartbeats(every, lasting);
  };
}

scenario streams_rows(std::string num_rows, std::size_t rows_per_fetch) {
  return [num_rows, rows_per_fetch](hostile_peer& p) {
    p.login();
    for (;;) {
      auto request = p.read();
      auto command = command_of(request);
      if (command == "execute")
        p.reply(responses::result_set(7, num_rows, "2", "[[1,2]]"));
      else if (command == "fetch")
        p.reply(responses::fetch_chunk(rows_per_fetch));
      else
        p.reply(responses::ok());
    }
  };
}

scenario close_mid_message() {
  return [](hostile_peer& p) {
    p.login();
    p.read();
    p.reply_truncated(responses::inline_rows({1, 2, 3}), 10);
  };
}

scenario answers(std::string execute_response) {
  return [execute_response](hostile_peer& p) {
    p.login();
    for (;;) {
      auto request = p.read();
      p.reply(command_of(request) == "execute" ? execute_response : responses::ok());
    }
  };
}

} // namespace scenarios

} // namespace exapool::testing

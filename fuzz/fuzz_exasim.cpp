// exasim's request handling without sockets: session_core (login state machine, command
// dispatch, attributes, result handles, queries on the SQLite engine) fed arbitrary requests
// through a transport that records what it would send.
//
// Input: lines, one WebSocket data message each. By default the harness first logs in as a
// driver would (login, then the RSA-encrypted password), so the fuzzer reaches the commands.
// A first line "#raw" skips that and sends every line as it is (the login state machine);
// "#compress" logs in with useCompression. A line starting "Z:" is sent zlib-compressed in a
// binary frame, "B:" as a raw binary frame. Each message is answered before the next is sent,
// as a driver does (one request in flight), except abortQuery, which has no answer.
//
// Every input gets a fresh server (state, SQLite database in a temporary directory), so a
// reproducer replays alone. A statement still running after 2 s is interrupted as a driver's
// abortQuery would (SQL may loop forever, as on a real database); one that ignores the interrupt
// for 20 s more is reported as a hang.
#include "fuzz/fuzz_check.hpp"

#include "integration/exasim/blocking_engine.hpp"
#include "integration/exasim/sqlite_engine.hpp"
#include "integration/exasol/codec.hpp"
#include "integration/front/front_state.hpp"
#include "integration/front/session_core.hpp"
#include "integration/front/transport.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// What session_core would put on the wire.
class recording_transport : public exafront::transport {
public:
  void send(std::string payload, bool binary) override {
    if (binary)
      payload = exasol::codec::zlib_decompress(payload, 1u << 30);
    messages.push_back(std::move(payload));
  }
  void send_pong() override { ++pongs; }
  void close() override { closed = true; }
  void drop() override { closed = true; }
  bool encrypted() const override { return true; }
  std::string peer_address() const override { return "127.0.0.1:40000"; }

  std::vector<std::string> messages;
  std::size_t pongs = 0;
  bool closed = false;
};

// One RSA key for every input: generating one costs milliseconds.
const exasol::codec::rsa_key_pair& shared_key() {
  static const auto key = exasol::codec::rsa_key_pair::generate(1024);
  return key;
}

class harness {
public:
  harness() : temp_dir_(make_temp_dir()) {
    exafront::front_options options;
    options.fresh_rsa_key_per_session = false;
    options.max_message_bytes = 1u << 20;
    options.worker_threads = 1; // see settle()
    state_ = std::make_shared<exafront::front_state>(options);
    state_->db_engine = std::make_unique<exasim::blocking_engine>(
        std::make_unique<exasim::sqlite_engine>(temp_dir_ + "/exasim.db", *state_,
                                                std::chrono::milliseconds(100)),
        exasim::credential_store{{{"sys", "exasol"}}, {}, {}}, state_->workers);
    state_->shared_key = shared_key();
    core_ = std::make_shared<exafront::session_core>(state_, transport_, asio::make_strand(io_));
  }

  ~harness() {
    core_->on_closed();
    settle();
    core_.reset();
    state_->workers.join();
    work_.reset();
    io_.poll();
    state_->db_engine.reset();
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }

  // Sends one message and runs the session until it is idle again.
  void message(std::string payload, bool binary) {
    if (transport_->closed)
      return;
    asio::post(io_, [core = core_, payload = std::move(payload), binary]() mutable {
      core->on_message(std::move(payload), binary);
    });
    settle();
  }

  bool login(bool compress) {
    message(R"({"command":"login","protocolVersion":3})", false);
    auto key = last_response();
    auto data = key.if_contains("responseData");
    if (!data || !data->is_object())
      return false;
    auto pem = data->get_object().if_contains("publicKeyPem");
    FUZZ_CHECK(pem && pem->is_string());
    json::object credentials{
        {"username", "sys"},
        {"password", exasol::codec::rsa_encrypt_base64(pem->get_string(), "exasol")},
        {"useCompression", compress}};
    message(json::serialize(credentials), false);
    auto session = last_response();
    auto status = session.if_contains("status");
    FUZZ_CHECK(status && status->is_string() && status->get_string() == "ok");
    return true;
  }

  const recording_transport& transport() const { return *transport_; }

private:
  // In memory where the machine has a tmpfs: SQLite's fsyncs on a disk cost more than the rest.
  static std::string make_temp_dir() {
    std::error_code ec;
    auto base = std::filesystem::is_directory("/dev/shm", ec)
                    ? std::filesystem::path("/dev/shm")
                    : std::filesystem::temp_directory_path();
    std::string pattern = (base / "exasim-fuzz-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }

  // Every answer exasim sends is one JSON object.
  json::object last_response() const {
    FUZZ_CHECK(!transport_->messages.empty());
    auto value = json::parse(transport_->messages.back());
    FUZZ_CHECK(value.is_object());
    return value.get_object();
  }

  // Runs handlers on the strand and waits for the worker until neither has anything left (timers
  // set for later, such as heartbeats, stay pending). With one worker thread, a marker posted
  // to it runs after everything posted before it.
  void settle() {
    for (;;) {
      std::size_t ran = io_.poll();
      wait_for_worker();
      ran += io_.poll();
      if (ran == 0)
        return;
    }
  }

  void wait_for_worker() {
    std::promise<void> done;
    auto finished = done.get_future();
    asio::post(state_->workers, [&done] { done.set_value(); });
    auto start = std::chrono::steady_clock::now();
    bool interrupted = false;
    while (finished.wait_for(50ms) != std::future_status::ready) {
      auto waited = std::chrono::steady_clock::now() - start;
      if (!interrupted && waited > 2s) {
        core_->interrupt_engine();
        interrupted = true;
      }
      if (waited > 22s) {
        std::fprintf(stderr, "exasim hang: a statement ignored its interrupt for 20 s\n");
        std::abort();
      }
    }
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::string temp_dir_;
  std::shared_ptr<exafront::front_state> state_;
  std::shared_ptr<recording_transport> transport_ = std::make_shared<recording_transport>();
  std::shared_ptr<exafront::session_core> core_;
};

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto end = text.find('\n');
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos)
      break;
    text.remove_prefix(end + 1);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto messages = lines(std::string_view(reinterpret_cast<const char*>(data), size));
  if (messages.size() > 64)
    return -1; // keeps one input's run short; longer conversations add little
  harness h;
  std::size_t first = 0;
  if (!messages.empty() && messages[0] == "#raw") {
    first = 1;
  } else {
    bool compress = !messages.empty() && messages[0] == "#compress";
    first = compress ? 1 : 0;
    if (!h.login(compress))
      return 0;
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    auto m = messages[i];
    if (starts_with(m, "Z:"))
      h.message(exasol::codec::zlib_compress(m.substr(2)), true);
    else if (starts_with(m, "B:"))
      h.message(std::string(m.substr(2)), true);
    else
      h.message(std::string(m), false);
  }
  // Whatever it was sent, exasim answers with JSON objects only.
  for (const auto& answer : h.transport().messages) {
    boost::system::error_code ec;
    auto value = json::parse(answer, ec);
    FUZZ_CHECK(!ec && value.is_object());
  }
  return 0;
}

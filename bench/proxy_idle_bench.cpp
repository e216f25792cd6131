// P2, exapool proxy at scale (issue 9, "Scale"): what N concurrent idle clients cost one proxy,
// and whether a statement still answers as fast while they are held. The real `exapool proxy`
// binary runs as a child process, so its memory and threads are measured alone (from
// /proc/<pid>/status: VmRSS, Threads), in front of exasim running in this process. The clients
// are asynchronous Beast WebSocket clients on one io_context thread of this process (no thread
// per client), each speaking Exasol's protocol: login with the RSA-encrypted password, then
// nothing (idle) or `execute`.
//
// Steps: start exasim and the proxy (transaction mode, pool of 8, one shared RSA key); client 0
// logs in and runs one untimed SELECT 1 (the pool opens its connection), then `statements`
// timed SELECT 1 back to back: the idle proxy's latency; sample the proxy (the baseline). The
// other N-1 clients connect (TCP, TLS with --bench.wss, WebSocket upgrade; `concurrency` at a
// time): sample; they log in: sample. Client 0 runs the same timed statements again with all N
// connected: the loaded latency; sample. Per idle client: (RSS logged in - baseline) / (N-1),
// split into the connected part and the login's part. Asserts nothing about the figures; exits
// 1 when a connection, login or statement failed.
//
//   build/bench/proxy_idle_bench [--bench.clients=10000] [--bench.statements=1000] [--bench.wss]
//       [--bench.exapool=PATH] [--bench.concurrency=256] [--bench.proxy-args="--proxy.threads=2"]
//       [--bench.csv=FILE]
// --bench.exapool defaults to ../apps/exapool beside this program (the build tree's layout).
// The proxy gets `--proxy.shared-rsa-key --exapool.max-size=8 --proxy.max-clients=N+64
// --proxy.login-timeout=600s` and then --bench.proxy-args. This process raises its soft
// RLIMIT_NOFILE for its own client sockets (`exapool proxy` raises its own to fit
// --proxy.max-clients, within the hard limit).
//
// CSV rows (bench/README.md):
//   P2,idle_clients,exapool_proxy,<clients>,rss_bytes_per_client|rss_bytes_per_connection|
//      rss_bytes_per_login|threads_idle|threads_loaded|p50_ms_idle|p99_ms_idle|p50_ms_loaded|
//      p99_ms_loaded|latency_ratio|latency_ratio_p50,<value>,B|count|ms|x
// latency_ratio is loaded p99 / idle p99, latency_ratio_p50 the same of the medians.
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "bench/bench_threads.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/codec.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <caf/actor_system_config.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct bench_config : caf::actor_system_config {
  std::size_t clients = 10000;
  std::size_t statements = 1000;
  std::size_t concurrency = 256;
  bool wss = false;
  std::string exapool;
  std::string proxy_args;
  std::string csv;

  bench_config() {
    opt_group{custom_options_, "bench"}
        .add(clients, "clients", "client connections held by the proxy at once (default 10000)")
        .add(statements, "statements", "timed SELECT 1 per latency phase (default 1000)")
        .add(concurrency, "concurrency", "connections and logins in flight at once (256)")
        .add(wss, "wss", "TLS (wss) on both hops instead of plain ws")
        .add(exapool, "exapool", "the exapool binary (default: ../apps/exapool beside this one)")
        .add(proxy_args, "proxy-args", "more `exapool proxy` options, space-separated")
        .add(csv, "csv", "append CSV rows to this file (bench/README.md)");
  }
};

// --- the proxy as a child process ------------------------------------------------------------

struct proc_sample {
  std::uint64_t rss_bytes = 0;
  std::uint64_t threads = 0;
};

// VmRSS and Threads of /proc/<pid>/status.
proc_sample sample(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  proc_sample s;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t value = 0;
    fields >> key >> value;
    if (key == "VmRSS:")
      s.rss_bytes = value * 1024; // the kernel reports kB
    else if (key == "Threads:")
      s.threads = value;
  }
  if (s.rss_bytes == 0)
    throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/status");
  return s;
}

// The proxy's threads by name (/proc/<pid>/task/*/comm), e.g. "caf.worker x2, exapool x1".
std::string thread_names(pid_t pid) {
  std::map<std::string, int> count;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    std::getline(in, name);
    ++count[name];
  }
  std::string text;
  for (const auto& [name, n] : count)
    text += (text.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  return text;
}

std::string default_exapool_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return "exapool";
  return (self.parent_path() / ".." / "apps" / "exapool").lexically_normal().string();
}

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

// `exapool proxy` running as a child: started with a pipe on its stdin (closing it stops the
// proxy, and a dying bench takes the proxy with it) and one on its stdout (its ready line).
class proxy_process {
public:
  proxy_process(const std::string& path, std::vector<std::string> args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0); // dup2 clears O_CLOEXEC
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    args.insert(args.begin(), {path, "proxy"});
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    if (rc != 0) {
      pid_ = 0;
      throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
    }
  }
  ~proxy_process() { stop(); }

  // The ready line, `exapool proxy ready port=... fingerprint=... dsn=...`, within `limit`;
  // lines before it are skipped (a wrapper such as heaptrack may print its own).
  std::string ready_line(std::chrono::seconds limit) {
    const std::string ready = "exapool proxy ready ";
    auto deadline = clock_type::now() + limit;
    for (;;) {
      auto end = pending_.find('\n');
      if (end != std::string::npos) {
        auto line = pending_.substr(0, end);
        pending_.erase(0, end + 1);
        if (line.rfind(ready, 0) == 0)
          return line;
        continue;
      }
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      pollfd p{stdout_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
        throw std::runtime_error("exapool proxy printed no ready line in time");
      char chunk[512];
      auto n = read(stdout_, chunk, sizeof chunk);
      if (n <= 0)
        throw std::runtime_error("exapool proxy ended before it was ready (see its stderr)");
      pending_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  pid_t pid() const { return pid_; }

  // Closes its stdin (its way to stop) and waits; SIGKILL after 30 s.
  void stop() {
    if (pid_ == 0)
      return;
    close(stdin_);
    close(stdout_);
    int status = 0;
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_)
        return void(pid_ = 0);
      std::this_thread::sleep_for(100ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

private:
  pid_t pid_ = 0;
  int stdin_ = -1, stdout_ = -1;
  std::string pending_; // read from its stdout, not yet a whole line
};

// The value of ` name=` in a ready line.
std::string field_of(const std::string& line, const std::string& name) {
  auto at = line.find(" " + name + "=");
  if (at == std::string::npos)
    return {};
  at += name.size() + 2;
  return line.substr(at, line.find(' ', at) - at);
}

// --- asynchronous Exasol clients -------------------------------------------------------------

using done_fn = std::function<void(std::string error)>;
using reply_fn = std::function<void(std::string error, json::object reply)>;

class client {
public:
  virtual ~client() = default;
  // TCP connect, TLS handshake (wss), WebSocket upgrade.
  virtual void open(tcp::endpoint to, done_fn done) = 0;
  // Sends one JSON message and reads the one response.
  virtual void request(const json::object& message, reply_fn done) = 0;
};

template <class Next>
class ws_client final : public client, public std::enable_shared_from_this<ws_client<Next>> {
public:
  template <class... Args> explicit ws_client(Args&&... args) : ws_(std::forward<Args>(args)...) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  }

  void open(tcp::endpoint to, done_fn done) override {
    beast::get_lowest_layer(ws_).expires_after(60s);
    beast::get_lowest_layer(ws_).async_connect(
        to, [self = this->shared_from_this(), done = std::move(done)](beast::error_code ec) {
          if (ec)
            return done("connect: " + ec.message());
          self->secure(std::move(done));
        });
  }

  void request(const json::object& message, reply_fn done) override {
    out_ = json::serialize(message);
    ws_.text(true);
    ws_.async_write(asio::buffer(out_), [self = this->shared_from_this(), done = std::move(done)](
                                            beast::error_code ec, std::size_t) {
      if (ec)
        return done("write: " + ec.message(), {});
      self->read_reply(std::move(done));
    });
  }

private:
  static constexpr bool tls = !std::is_same_v<Next, beast::tcp_stream>;

  void secure(done_fn done) {
    if constexpr (tls)
      ws_.next_layer().async_handshake(
          ssl::stream_base::client,
          [self = this->shared_from_this(), done = std::move(done)](beast::error_code ec) {
            if (ec)
              return done("TLS handshake: " + ec.message());
            self->upgrade(std::move(done));
          });
    else
      upgrade(std::move(done));
  }

  void upgrade(done_fn done) {
    beast::get_lowest_layer(ws_).expires_never(); // the websocket stream's own timeouts rule
    ws_.async_handshake("127.0.0.1", "/", [done = std::move(done)](beast::error_code ec) {
      done(ec ? "WebSocket handshake: " + ec.message() : std::string());
    });
  }

  void read_reply(reply_fn done) {
    buffer_.clear();
    ws_.async_read(buffer_, [self = this->shared_from_this(),
                             done = std::move(done)](beast::error_code ec, std::size_t) {
      if (ec)
        return done("read: " + ec.message(), {});
      boost::system::error_code parse_error;
      auto reply = json::parse(beast::buffers_to_string(self->buffer_.data()), parse_error);
      self->buffer_.clear();
      self->buffer_.shrink_to_fit(); // an idle client keeps no buffer
      if (parse_error || !reply.is_object())
        return done("the response is not a JSON object", {});
      done({}, std::move(reply.as_object()));
    });
  }

  websocket::stream<Next> ws_;
  beast::flat_buffer buffer_;
  std::string out_;
};

// Empty for {"status":"ok"}; otherwise the exception's text.
std::string failure_of(const json::object& reply) {
  if (auto s = reply.if_contains("status"); s && *s == "ok")
    return {};
  if (auto e = reply.if_contains("exception"))
    return json::serialize(*e);
  return "no status in the response";
}

// The member at `path` (object keys), or nullptr.
const json::value* find(const json::object& o, std::initializer_list<const char*> path) {
  const json::value* at = nullptr;
  const json::object* in = &o;
  for (auto key : path) {
    if (!in || !(at = in->if_contains(key)))
      return nullptr;
    in = at->if_object();
  }
  return at;
}

// Exasol's two-step login: the server's public key, then the encrypted password.
void log_in(const std::shared_ptr<client>& c, done_fn done) {
  c->request({{"command", "login"}, {"protocolVersion", 3}}, [c, done](std::string error,
                                                                       json::object reply) {
    if (error.empty())
      error = failure_of(reply);
    auto pem = find(reply, {"responseData", "publicKeyPem"});
    if (error.empty() && (!pem || !pem->is_string()))
      error = "no publicKeyPem";
    if (!error.empty())
      return done("login: " + error);
    std::string password;
    try {
      password = exasol::codec::rsa_encrypt_base64(json::value_to<std::string>(*pem), "exasol");
    } catch (const std::exception& e) {
      return done(std::string("login: ") + e.what());
    }
    c->request({{"username", "sys"},
                {"password", password},
                {"useCompression", false},
                {"clientName", "exapool-p2"},
                {"driverName", "beast-async"},
                {"clientOs", "Linux"}},
               [done](std::string error, json::object reply) {
                 if (error.empty())
                   error = failure_of(reply);
                 if (error.empty() && !find(reply, {"responseData", "sessionId"}))
                   error = "no sessionId";
                 done(error.empty() ? error : "login: " + error);
               });
  });
}

// SELECT 1, checked: one result set of one row.
void select1(const std::shared_ptr<client>& c, done_fn done) {
  c->request({{"command", "execute"}, {"sqlText", "SELECT 1"}},
             [done](std::string error, json::object reply) {
               if (error.empty())
                 error = failure_of(reply);
               if (error.empty()) {
                 auto results = find(reply, {"responseData", "results"});
                 const json::value* rows = nullptr;
                 if (results && results->is_array() && !results->as_array().empty() &&
                     results->as_array()[0].is_object())
                   rows = find(results->as_array()[0].as_object(), {"resultSet", "numRows"});
                 if (!rows || *rows != 1)
                   error = "SELECT 1 did not return one row";
               }
               done(error.empty() ? error : "SELECT 1: " + error);
             });
}

// --- running steps on the io_context ----------------------------------------------------------

// What a step recorded: failures (the first one's text) and statement latencies.
struct step_result {
  std::size_t failures = 0;
  std::string first_failure;
  std::vector<double> latencies_us;
  void fail(const std::string& why) {
    if (failures++ == 0)
      first_failure = why;
  }
};

using item_fn = std::function<void(std::size_t index, done_fn done)>;

// Runs `item(i)` for i in [first, last), at most `width` at a time, on the io_context's one
// thread; `finished` once all have answered.
class fan_out : public std::enable_shared_from_this<fan_out> {
public:
  fan_out(std::size_t first, std::size_t last, std::size_t width, item_fn item,
          std::function<void(step_result)> finished)
      : next_(first), last_(last), width_(width), item_(std::move(item)),
        finished_(std::move(finished)) {}

  void start() {
    if (next_ == last_)
      return finished_(std::move(result_));
    for (std::size_t k = 0; k < width_ && next_ < last_; ++k)
      launch();
  }

private:
  void launch() {
    ++in_flight_;
    item_(next_++, [self = shared_from_this()](std::string error) {
      if (!error.empty())
        self->result_.fail(error);
      --self->in_flight_;
      if (self->next_ < self->last_)
        self->launch();
      else if (self->in_flight_ == 0)
        self->finished_(std::move(self->result_));
    });
  }

  std::size_t next_, last_, width_, in_flight_ = 0;
  item_fn item_;
  std::function<void(step_result)> finished_;
  step_result result_;
};

// `count` timed SELECT 1 back to back on one client.
void timed_selects(std::shared_ptr<client> c, std::size_t count, std::shared_ptr<step_result> into,
                   std::function<void()> finished) {
  if (count == 0 || into->failures > 0)
    return finished();
  auto t0 = clock_type::now();
  select1(c, [=](std::string error) {
    if (!error.empty())
      into->fail(error);
    else
      into->latencies_us.push_back(
          std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    timed_selects(c, count - 1, into, finished);
  });
}

class client_fleet {
public:
  client_fleet(std::size_t n, bool tls, tcp::endpoint proxy) : tls_(tls), proxy_(proxy) {
    tls_context_.set_verify_mode(ssl::verify_none); // loopback to our own child
    clients_.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      clients_.push_back(make_client());
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~client_fleet() {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  // Steps over clients [first, last), each waited for at most `limit` (a hang guard).
  step_result open(std::size_t first, std::size_t last, std::size_t width) {
    return each(first, last, width, [this](std::size_t i, done_fn done) {
      clients_[i]->open(proxy_, std::move(done));
    });
  }
  step_result log_in(std::size_t first, std::size_t last, std::size_t width) {
    return each(first, last, width,
                [this](std::size_t i, done_fn done) { ::log_in(clients_[i], std::move(done)); });
  }
  step_result selects(std::size_t index, std::size_t count) {
    auto into = std::make_shared<step_result>();
    auto done = std::make_shared<std::promise<void>>();
    asio::post(ioc_,
               [=] { timed_selects(clients_[index], count, into, [done] { done->set_value(); }); });
    wait(done->get_future());
    return std::move(*into);
  }

private:
  std::shared_ptr<client> make_client() {
    if (tls_)
      return std::make_shared<ws_client<beast::ssl_stream<beast::tcp_stream>>>(ioc_, tls_context_);
    return std::make_shared<ws_client<beast::tcp_stream>>(ioc_);
  }

  step_result each(std::size_t first, std::size_t last, std::size_t width, item_fn item) {
    auto done = std::make_shared<std::promise<step_result>>();
    auto run = std::make_shared<fan_out>(first, last, width, std::move(item),
                                         [done](step_result r) { done->set_value(std::move(r)); });
    asio::post(ioc_, [run] { run->start(); });
    auto future = done->get_future();
    wait(future);
    return future.get();
  }

  template <class Future> void wait(const Future& f) {
    if (f.wait_for(600s) != std::future_status::ready)
      throw std::runtime_error("a step did not finish within 600 s");
  }

  asio::io_context ioc_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  ssl::context tls_context_{ssl::context::tls_client};
  bool tls_;
  tcp::endpoint proxy_;
  std::vector<std::shared_ptr<client>> clients_;
  std::thread thread_;
};

// --- the bench --------------------------------------------------------------------------------

std::vector<std::string> proxy_arguments(const bench_config& cfg, const exasim::server& sim) {
  std::vector<std::string> args{"--proxy.port=0", "--proxy.shared-rsa-key", "--exapool.max-size=8",
                                "--proxy.max-clients=" + std::to_string(cfg.clients + 64),
                                "--proxy.login-timeout=600s"};
  if (cfg.wss) {
    args.push_back("--proxy.upstream=" + sim.dsn()); // its fingerprint pins the certificate
  } else {
    args.push_back("--proxy.upstream=127.0.0.1:" + std::to_string(sim.port()));
    args.push_back("--proxy.upstream-plain-ws");
  }
  for (auto& w : split_words(cfg.proxy_args))
    args.push_back(w);
  return args;
}

// A step's failures, reported; false when there were any.
bool report(const char* step, const step_result& r) {
  if (r.failures == 0)
    return true;
  std::cerr << step << ": " << r.failures << " failed, first: " << r.first_failure << "\n";
  return false;
}

proc_sample settled_sample(pid_t pid) {
  std::this_thread::sleep_for(1s); // let the proxy finish what the last answers started
  return sample(pid);
}

double per_client(std::uint64_t after, std::uint64_t before, std::size_t n) {
  return n == 0 ? 0.0 : (static_cast<double>(after) - static_cast<double>(before)) / double(n);
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// What one run measured of the proxy.
struct figures {
  std::size_t clients = 0, statements = 0;
  proc_sample fresh, baseline, connected, logged_in, after;
  std::string baseline_threads, loaded_threads;
  double connect_s = 0, login_s = 0;
  double p50_idle = 0, p99_idle = 0, p50_loaded = 0, p99_loaded = 0;
  bool ok = true;

  double per_idle() const {
    return per_client(logged_in.rss_bytes, baseline.rss_bytes, clients - 1);
  }
  double per_connection() const {
    return per_client(connected.rss_bytes, baseline.rss_bytes, clients - 1);
  }
  double per_login() const {
    return per_client(logged_in.rss_bytes, connected.rss_bytes, clients - 1);
  }
  double ratio_p99() const { return p99_idle > 0 ? p99_loaded / p99_idle : 0.0; }
  double ratio_p50() const { return p50_idle > 0 ? p50_loaded / p50_idle : 0.0; }
};

// Client 0's timed statements into the figures' p50 and p99; false when one failed.
bool time_selects(client_fleet& fleet, std::size_t count, const char* step, double& p50,
                  double& p99) {
  auto r = fleet.selects(0, count);
  p50 = exapool::bench::percentile_ms(r.latencies_us, 0.50);
  p99 = exapool::bench::percentile_ms(r.latencies_us, 0.99);
  return report(step, r);
}

// The steps of the header comment, on a started proxy.
figures measure(const bench_config& cfg, pid_t pid, client_fleet& fleet) {
  figures f;
  f.clients = cfg.clients;
  f.statements = cfg.statements;
  f.fresh = sample(pid);
  f.ok = report("client 0 connect", fleet.open(0, 1, 1)) &&
         report("client 0 login", fleet.log_in(0, 1, 1)) &&
         report("client 0 warm-up", fleet.selects(0, 1));
  if (!f.ok)
    return f;
  f.ok = time_selects(fleet, cfg.statements, "idle latency", f.p50_idle, f.p99_idle);
  f.baseline = settled_sample(pid);
  f.baseline_threads = thread_names(pid);

  auto t0 = clock_type::now();
  f.ok = report("connect", fleet.open(1, cfg.clients, cfg.concurrency)) && f.ok;
  f.connect_s = seconds_since(t0);
  f.connected = settled_sample(pid);
  t0 = clock_type::now();
  f.ok = report("login", fleet.log_in(1, cfg.clients, cfg.concurrency)) && f.ok;
  f.login_s = seconds_since(t0);
  f.logged_in = settled_sample(pid);

  f.ok = time_selects(fleet, cfg.statements, "loaded latency", f.p50_loaded, f.p99_loaded) && f.ok;
  f.after = sample(pid);
  f.loaded_threads = thread_names(pid);
  return f;
}

void print_sample(const std::string& when, const proc_sample& s) {
  std::printf("%-34s %12.1f %8llu\n", when.c_str(),
              static_cast<double>(s.rss_bytes) / (1024.0 * 1024.0),
              static_cast<unsigned long long>(s.threads));
}

void print(const figures& f) {
  auto n = std::to_string(f.clients);
  std::printf("  connect %zu clients: %.1f s; log them in: %.1f s\n", f.clients - 1, f.connect_s,
              f.login_s);
  std::printf("\n%-34s %12s %8s\n", "proxy process", "VmRSS MiB", "threads");
  print_sample("started", f.fresh);
  print_sample("1 client, after its statements", f.baseline);
  print_sample(n + " connected, 1 logged in", f.connected);
  print_sample(n + " logged in, idle", f.logged_in);
  print_sample("after the loaded statements", f.after);
  std::printf("\nper idle client: %.0f bytes (connection and WebSocket upgrade %.0f, login %.0f); "
              "target <= 8192\n",
              f.per_idle(), f.per_connection(), f.per_login());
  std::printf("SELECT 1 from client 0, %zu each: idle proxy p50 %.3f ms p99 %.3f ms; with %zu "
              "idle clients p50 %.3f ms p99 %.3f ms; loaded/idle p50 %.2fx, p99 %.2fx (target <= "
              "2x)\n",
              f.statements, f.p50_idle, f.p99_idle, f.clients - 1, f.p50_loaded, f.p99_loaded,
              f.ratio_p50(), f.ratio_p99());
  std::printf("proxy threads, 1 client: %s\nproxy threads, %zu clients: %s\n",
              f.baseline_threads.c_str(), f.clients, f.loaded_threads.c_str());
  std::fflush(stdout);
}

void write_rows(const figures& f, exapool::bench::csv_rows& csv) {
  auto row = [&](const char* metric, double value, const char* unit) {
    csv.add("P2", "idle_clients", "exapool_proxy", f.clients, metric, value, unit);
  };
  row("rss_bytes_per_client", f.per_idle(), "B");
  row("rss_bytes_per_connection", f.per_connection(), "B");
  row("rss_bytes_per_login", f.per_login(), "B");
  row("threads_idle", static_cast<double>(f.baseline.threads), "count");
  row("threads_loaded", static_cast<double>(f.logged_in.threads), "count");
  row("p50_ms_idle", f.p50_idle, "ms");
  row("p99_ms_idle", f.p99_idle, "ms");
  row("p50_ms_loaded", f.p50_loaded, "ms");
  row("p99_ms_loaded", f.p99_loaded, "ms");
  row("latency_ratio", f.ratio_p99(), "x");
  row("latency_ratio_p50", f.ratio_p50(), "x");
}

int run(bench_config& cfg, exapool::bench::csv_rows& csv) {
  if (cfg.clients < 2 || cfg.statements == 0 || cfg.concurrency == 0) {
    std::cerr << "bench.clients must be at least 2, bench.statements and bench.concurrency "
                 "at least 1\n";
    return 2;
  }
  // Here: the client sockets; in the proxy (inheriting the limit): theirs and the pool's.
  auto wanted = static_cast<rlim_t>(cfg.clients + 512);
  if (auto got = exapool::cli::raise_open_files_limit(wanted); got < wanted) {
    std::cerr << "RLIMIT_NOFILE: " << got << " open files allowed, " << wanted << " needed\n";
    return 2;
  }
  exasim::server_options so;
  so.threads = 1; // it serves the pool's few connections only
  so.fresh_rsa_key_per_session = false;
  exasim::server sim(so);
  sim.start();

  auto path = cfg.exapool.empty() ? default_exapool_path() : cfg.exapool;
  proxy_process proxy(path, proxy_arguments(cfg, sim));
  auto line = proxy.ready_line(60s);
  auto port = static_cast<std::uint16_t>(std::stoul(field_of(line, "port")));
  std::printf("P2 exapool proxy at scale: %zu clients held by one `exapool proxy` (pid %d, "
              "%s), over %s\n  %s\n",
              cfg.clients, static_cast<int>(proxy.pid()), path.c_str(),
              cfg.wss ? "wss (TLS) on both hops" : "plain ws", line.c_str());
  std::fflush(stdout);

  client_fleet fleet(cfg.clients, cfg.wss,
                     tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  auto f = measure(cfg, proxy.pid(), fleet);
  if (!f.ok && f.baseline.rss_bytes == 0)
    return 1; // client 0 could not even start: nothing to print
  print(f);
  write_rows(f, csv);
  proxy.stop();
  sim.stop();
  return f.ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  return exapool::bench::bench_main<bench_config>(argc, argv, run);
}

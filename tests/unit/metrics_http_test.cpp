// The metrics endpoint over real HTTP (actors/metrics_endpoint.hpp, integration/http/
// metrics_server.hpp): a runtime over the fake backend serves /metrics, /health and /stats on
// a free loopback port, and a Beast client (http_get) scrapes it after a known workload. Also
// the server's bounds (header size, read deadline, connection count). Timeouts are hang
// guards, never timed assertions.
#include "actors/metrics_endpoint.hpp"
#include "integration/exasol/io_threads.hpp"
#include "integration/http/metrics_server.hpp"
#include "messages/stats_json.hpp"
#include "runtime_fake_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <sstream>
#include <thread>

#include <sys/socket.h>
#include <sys/time.h>

using namespace exapool;
using namespace exapool::test;

namespace {

constexpr auto guard = std::chrono::milliseconds(10'000);

http::get_result get(std::uint16_t port, const std::string& target) {
  return http::http_get("127.0.0.1", port, target, guard);
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in{text};
  for (std::string l; std::getline(in, l);)
    if (l == line)
      return true;
  return false;
}

// The value of the sample that starts with `prefix` (name and labels), or -1.
long long value_of(const std::string& text, const std::string& prefix) {
  std::istringstream in{text};
  for (std::string l; std::getline(in, l);)
    if (l.rfind(prefix + " ", 0) == 0)
      return std::stoll(l.substr(prefix.size() + 1));
  return -1;
}

} // namespace

TEST_CASE("metrics endpoint serves what a workload did", "[metrics][http]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  config.pool.acquire_timeout = std::chrono::milliseconds(200); // the refused borrow's wait
  config.metrics_port = 0;
  runtime rt{config};
  auto port = rt.metrics_port();
  REQUIRE(port != 0);

  // Nothing yet: healthy, and no pool in the samples.
  auto health = get(port, "/health");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");

  auto creds = fake_credentials("metrics-secret-pw");
  for (int i = 0; i < 5; ++i)
    rt.query(creds, "state");
  {
    // One session holds the only connection, so one more borrow times out.
    caf::scoped_actor self{rt.system()};
    auto holder = rt.spawn_session(creds);
    REQUIRE(ask<bool>(self, holder, begin_atom::value));
    try {
      rt.query(creds, "state");
      FAIL("no acquire timeout");
    } catch (const runtime_error& e) {
      CHECK(e.code() == pool_errc::acquire_timeout);
    }
    REQUIRE(ask<bool>(self, holder, rollback_atom::value));
    self->send_exit(holder, caf::exit_reason::user_shutdown);
  }

  auto metrics = get(port, "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = metrics.body;
  const std::string pool = "{pool=\"sys@fake:8563\"}";
  CHECK(has_line(text, "# TYPE exapool_pool_opened_total counter"));
  CHECK(value_of(text, "exapool_pool_opened_total" + pool) == 1);
  CHECK(value_of(text, "exapool_pool_max_size" + pool) == 1);
  CHECK(value_of(text, "exapool_pool_connections" + pool) == 1);
  // 5 statements and the held session's begin got a lease; the sixth statement did not.
  CHECK(value_of(text, "exapool_pool_borrowed_total" + pool) == 6);
  CHECK(value_of(text, "exapool_pool_timed_out_borrows_total" + pool) == 1);
  CHECK(value_of(text, "exapool_pool_waiting" + pool) == 0);
  CHECK(value_of(text, "exapool_pool_acquire_wait_seconds_count" + pool) == 6);
  CHECK(value_of(text, "exapool_pool_acquire_wait_seconds_bucket{pool=\"sys@fake:8563\","
                       "le=\"+Inf\"}") == 6);
  CHECK(value_of(text, "exapool_pool_connect_failures_total{pool=\"sys@fake:8563\","
                       "cause=\"other\"}") == 0);
  CHECK(value_of(text, "exapool_pool_connect_failures_total{pool=\"sys@fake:8563\","
                       "cause=\"auth\"}") == 0);
  CHECK(text.find("metrics-secret-pw") == std::string::npos);

  // /stats: the admin endpoint's JSON, with the same counts.
  auto stats = get(port, "/stats");
  REQUIRE(stats.status == 200);
  CHECK(stats.content_type == "application/json");
  auto pools = stats_from_json(stats.body);
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].label == "sys@fake:8563");
  CHECK(pools[0].borrowed == 6);
  CHECK(pools[0].timed_out_borrows == 1);
  CHECK(pools[0].wait_count == 6);
  CHECK(stats.body.find("metrics-secret-pw") == std::string::npos);

  CHECK(get(port, "/health").status == 200);
  CHECK(get(port, "/metrics?x=1").status == 200); // a query string is ignored
  auto missing = get(port, "/nope");
  CHECK(missing.status == 404);
  CHECK(get(port, "/").status == 404);
  CHECK(http::http_request("POST", "127.0.0.1", port, "/metrics", guard).status == 405);
  CHECK(http::http_request("DELETE", "127.0.0.1", port, "/nope", guard).status == 405);
}

TEST_CASE("health answers 503 with the reason after a refused login", "[metrics][http][health]") {
  auto plan = std::make_shared<fake_plan>();
  plan->fail_every_open = true;
  plan->failures_are_auth = true;
  auto config = fake_runtime_config(plan);
  config.metrics_port = 0;
  runtime rt{config};
  auto port = rt.metrics_port();
  CHECK(get(port, "/health").status == 200);
  try {
    rt.query(fake_credentials("refused-secret-pw"), "state");
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::authentication_failed);
  }
  auto health = get(port, "/health");
  CHECK(health.status == 503);
  CHECK(health.body ==
        "sys@fake:8563: the server refused the credentials (no login succeeded since)\n");
  auto metrics = get(port, "/metrics").body;
  CHECK(value_of(metrics, "exapool_pool_connect_failures_total{pool=\"sys@fake:8563\","
                          "cause=\"auth\"}") >= 1);
  CHECK(value_of(metrics, "exapool_pool_connect_failures_total{pool=\"sys@fake:8563\","
                          "cause=\"other\"}") == 0);
  CHECK(value_of(metrics, "exapool_pool_opened_total{pool=\"sys@fake:8563\"}") == 0);
  CHECK(metrics.find("refused-secret-pw") == std::string::npos);
  CHECK(health.body.find("refused-secret-pw") == std::string::npos);
}

TEST_CASE("metrics port taken is a clear error", "[metrics][http][errors]") {
  auto config = fake_runtime_config(std::make_shared<fake_plan>());
  config.metrics_port = 0;
  runtime first{config};
  config.metrics_port = first.metrics_port();
  try {
    runtime second{config};
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::invalid_config);
    CHECK_THAT(e.what(), Catch::Contains("exapool.metrics-host/metrics-port"));
  }
  config.metrics_port = 0;
  config.metrics_host = "localhost"; // a name, not an address
  CHECK_THROWS_AS(runtime{config}, runtime_error);
}

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// A raw connection to the server, for what a well-behaved client does not do.
struct raw_peer {
  net::io_context io;
  tcp::socket socket{io};
  explicit raw_peer(std::uint16_t port) {
    socket.connect({net::ip::make_address("127.0.0.1"), port});
    // A hang guard on every read below.
    timeval tv{10, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& text) { net::write(socket, net::buffer(text)); }
  // Everything until the server closes (or the hang guard).
  boost::system::error_code last_error;
  std::string read_all() {
    std::string out;
    auto& ec = last_error;
    char buf[4096];
    while (true) {
      auto n = socket.read_some(net::buffer(buf), ec);
      out.append(buf, n);
      if (ec)
        return out;
    }
  }
};

struct echo_server {
  exasol::io_threads io{1};
  http::metrics_server server;
  explicit echo_server(http::server_limits limits)
      : server(
            io.executor(), "127.0.0.1", 0,
            [](const std::string& target, http::reply_fn reply) {
              reply({200, "text/plain", "you asked " + target});
            },
            limits) {}
};

} // namespace

TEST_CASE("http server bounds header size, read time and connections", "[metrics][http][limits]") {
  http::server_limits limits;
  limits.max_connections = 1;
  limits.header_limit = 1024;

  SECTION("a header over the limit gets 431 and the connection ends") {
    // Room for the peer while the first GET's session may still be closing (a bound of 1 made
    // the peer's connection the refused one under ASan and load; the bound has its section).
    limits.max_connections = 2;
    echo_server s{limits};
    CHECK(get(s.server.port(), "/a").body == "you asked /a");
    raw_peer peer{s.server.port()};
    peer.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
    auto answer = peer.read_all();
    CHECK(answer.rfind("HTTP/1.1 431", 0) == 0);
  }
  SECTION("a silent peer is disconnected at the read deadline") {
    limits.read_timeout = std::chrono::milliseconds(300);
    echo_server s{limits};
    raw_peer peer{s.server.port()};
    peer.send("GET / HTTP/1.1\r\nHost: x\r\n"); // never finishes the header
    CHECK(peer.read_all().empty());
    CHECK(peer.last_error == net::error::eof); // closed by the server, not the hang guard
  }
  SECTION("one connection more than the bound is closed at once") {
    echo_server s{limits};
    auto port = s.server.port();
    raw_peer holder{port};
    holder.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"); // keep-alive: stays open
    std::string first(512, '\0');
    auto n = holder.socket.read_some(net::buffer(first));
    CHECK(first.substr(0, n).find("you asked /held") != std::string::npos);
    CHECK_THROWS_AS(get(port, "/refused"), std::runtime_error);
    holder.socket.close();
    // The held session ends once its close is seen; then a new connection is served.
    bool served = false;
    for (int i = 0; i < 200 && !served; ++i) {
      try {
        served = get(port, "/again").status == 200;
      } catch (const std::runtime_error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    CHECK(served);
    s.server.stop();
    CHECK_THROWS_AS(get(port, "/after-stop"), std::runtime_error);
  }
}

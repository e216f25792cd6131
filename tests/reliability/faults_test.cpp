// Faults one at a time, each measured from the server's side: a server restart under load, a
// database that is down (connect attempts counted at the socket), a wrong password (logins
// counted by exasim), TLS refusals before any credential is sent.
#include "tests/reliability/reliability_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

using namespace exapool;
using namespace exapool::reliability;

namespace {

// A port where "the database is down": every TCP connection is accepted, counted and closed
// at once, so each connect attempt of the pool shows up as one accept.
class counting_listener {
public:
  counting_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~counting_listener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::int64_t accepted() const { return accepted_; }

private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0)
        continue;
      int client = ::accept(fd_, nullptr, nullptr);
      if (client >= 0) {
        ++accepted_;
        ::close(client);
      }
    }
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> accepted_{0};
  std::thread thread_;
};

} // namespace

TEST_CASE("database down: waiters fail with the cause and connects back off", "[reliability]") {
  counting_listener down;
  credentials creds;
  creds.dsn = "127.0.0.1:" + std::to_string(down.port());
  creds.tls = false;
  creds.user = "sys";
  creds.password.value = "exasol";
  creds.connect_timeout = 1s;
  auto config = fault_config(8);
  config.pool.acquire_timeout = 1s;
  runtime rt{config};

  constexpr auto length = 3s;
  auto seen = run_load(rt, creds, 16, "SELECT 1", length, hang_guard);
  seen.print("database down", std::chrono::duration<double>(length).count());
  std::cout << "database down: " << down.accepted() << " connect attempts reached the address in "
            << std::chrono::duration<double>(length).count() << " s" << std::endl;

  CHECK(seen.answered == 0);
  CHECK(seen.failed() > 0);
  CHECK(seen.empty_texts == 0);
  for (auto& [code, count] : seen.failed_by_code) {
    INFO("failure code " << code);
    CHECK((code == "acquire_timeout" || code == "connect_failed"));
  }
  // The waiters' errors name the cause, not only the timeout.
  for (auto& text : seen.sample_errors) {
    INFO(text);
    CHECK(text.find("last_connect_error=none") == std::string::npos);
  }
  // Backoff (10 ms doubling to 500 ms) allows about a dozen attempts in 3 s; a hot loop makes
  // thousands. The bound leaves room for the probe after each backoff and a slow machine.
  CHECK(down.accepted() >= 1);
  CHECK(down.accepted() <= 40);
  rt.shutdown();
}

TEST_CASE("server restart under load: the pool recovers on the same address", "[reliability]") {
  auto options = sim_options();
  auto first = std::make_unique<exasim::server>(options);
  first->start();
  options.port = first->port();
  auto creds = sim_credentials(*first);
  auto config = fault_config(4);
  config.pool.validation_bypass = 50ms;
  runtime rt{config};
  rt.prewarm(creds, 4);

  exasim::server second{options};
  std::thread restart([&] {
    std::this_thread::sleep_for(1s);
    first->stop();
    std::this_thread::sleep_for(300ms);
    second.start();
  });
  constexpr auto length = 4s;
  auto seen = run_load(rt, creds, 16, "SELECT 1", length, hang_guard);
  restart.join();
  seen.print("server restart", std::chrono::duration<double>(length).count());

  CHECK(seen.answered > 0);
  CHECK(seen.empty_texts == 0);
  // After the restart everything works again, on the new server's sessions only.
  for (int i = 0; i < 8; ++i)
    CHECK(rt.query(creds, "SELECT 1").row_count() == 1);
  CHECK(second.stats().sessions_opened >= 1);
  CHECK(second.stats().active_sessions <= 4);
  CHECK(second.stats().protocol_violations == 0);
  auto stats = rt.stats(creds);
  std::cout << "server restart: " << stats.opened << " sessions opened in all, "
            << stats.connect_failures << " connect failures, " << stats.invalid << " found invalid"
            << std::endl;
  rt.shutdown();
  CHECK(server_drained(second));
}

TEST_CASE("wrong password: every borrower fails at once and logins do not storm", "[reliability]") {
  exasim::server db{sim_options()};
  db.start();
  auto creds = sim_credentials(db);
  creds.password.value = "not-the-password-4711";
  runtime rt{fault_config(8)};

  constexpr auto length = 3s;
  auto seen = run_load(rt, creds, 16, "SELECT 1", length, hang_guard);
  seen.print("wrong password", std::chrono::duration<double>(length).count());
  auto logins = db.stats().failed_logins;
  std::cout << "wrong password: " << logins << " logins reached the server in "
            << std::chrono::duration<double>(length).count() << " s" << std::endl;

  CHECK(seen.answered == 0);
  REQUIRE(seen.failed_by_code.size() == 1);
  CHECK(seen.failed_by_code.begin()->first == "authentication_failed");
  for (auto& text : seen.sample_errors)
    CHECK(text.find("not-the-password-4711") == std::string::npos);
  // Fails fast: each session's statements fail one after another at once, so there are far
  // more failures than logins; the logins themselves back off.
  CHECK(seen.failed() > 10 * static_cast<std::int64_t>(logins));
  CHECK(logins >= 1);
  CHECK(logins <= 40);
  CHECK(db.stats().sessions_opened == 0);
  rt.shutdown();
}

TEST_CASE("TLS refusals happen before any credential reaches the server", "[reliability]") {
  exasim::server db{sim_options()};
  db.start();
  auto creds = sim_credentials(db);
  creds.tls = true;
  creds.password.value = "tls-secret-8842";
  auto config = fault_config(2);
  config.pool.acquire_timeout = 1s;

  SECTION("a wrong fingerprint") {
    creds.dsn = "127.0.0.1/" + std::string(64, 'a') + ":" + std::to_string(db.port());
  }
  SECTION("a self-signed certificate without a fingerprint or CA") {
    creds.dsn = "127.0.0.1:" + std::to_string(db.port());
  }
  runtime rt{config};
  try {
    rt.query(creds, "SELECT 1");
    FAIL("the query succeeded over an untrusted certificate");
  } catch (const runtime_error& e) {
    std::string text = e.what();
    INFO(text);
    CHECK(text.find("tls-secret-8842") == std::string::npos);
    CHECK((text.find("certificate") != std::string::npos ||
           text.find("fingerprint") != std::string::npos));
  }
  auto s = db.stats();
  CHECK(s.sessions_opened == 0);
  CHECK(s.failed_logins == 0);
  CHECK(s.requests == 0);
  rt.shutdown();
}

// A certificate the TLS rules refuse fails like a wrong password: at once, with
// untrusted_server and a hint at the fix, not after acquire_timeout (set to 60 s here, so the
// bound below is a logical one: returning before half of it means the pool did not wait),
// and the handshakes back off instead of storming the server.
TEST_CASE("TLS refusals fail fast with untrusted_server and a hint, without a handshake storm",
          "[reliability][tls]") {
  exasim::server db{sim_options()};
  db.start();
  auto creds = sim_credentials(db);
  creds.tls = true;
  creds.password.value = "tls-secret-9913";
  auto config = fault_config(4);
  config.pool.acquire_timeout = 60s;
  const auto logical_bound = config.pool.acquire_timeout / 2;
  std::string fix;
  SECTION("a wrong fingerprint") {
    creds.dsn = "127.0.0.1/" + std::string(64, 'a') + ":" + std::to_string(db.port());
    fix = "pin the new fingerprint";
  }
  SECTION("a self-signed certificate without a fingerprint or CA") {
    creds.dsn = "127.0.0.1:" + std::to_string(db.port());
    fix = "pin its SHA-256 fingerprint";
  }
  runtime rt{config};
  auto check_text = [&](const std::string& text) {
    INFO(text);
    CHECK(text.find("Hint") != std::string::npos);
    CHECK(text.find(fix) != std::string::npos);
    CHECK(text.find("tls-secret-9913") == std::string::npos);
  };

  // The blocking API.
  auto start = steady::now();
  try {
    rt.query(creds, "SELECT 1");
    FAIL("the query succeeded over an untrusted certificate");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::untrusted_server);
    CHECK(e.sql_code().empty());
    check_text(e.what());
  }
  CHECK(steady::now() - start < logical_bound);

  // A session actor.
  {
    caf::scoped_actor self{rt.system()};
    auto session = rt.spawn_session(creds);
    caf::error failure;
    start = steady::now();
    self->request(session, caf::timespan{2 * config.pool.acquire_timeout}, query_atom::value,
                  std::string("SELECT 1"))
        .receive([](exasol::result_set&) { FAIL("the query succeeded"); },
                 [&](caf::error& err) { failure = err; });
    CHECK(steady::now() - start < logical_bound);
    auto info = info_of(failure);
    CHECK(info.kind == pool_errc::untrusted_server);
    check_text(info.text);
    self->send_exit(session, caf::exit_reason::user_shutdown);
  }

  // Under load: every statement fails at once, and the handshakes back off.
  auto accepts_before = db.stats().accepts;
  constexpr auto length = 3s;
  auto seen = run_load(rt, creds, 16, "SELECT 1", length, 2 * config.pool.acquire_timeout);
  seen.print("untrusted certificate", std::chrono::duration<double>(length).count());
  auto handshakes = db.stats().accepts - accepts_before;
  std::cout << "untrusted certificate: " << handshakes << " connections reached the server in "
            << std::chrono::duration<double>(length).count() << " s" << std::endl;
  CHECK(seen.answered == 0);
  REQUIRE(seen.failed_by_code.size() == 1);
  CHECK(seen.failed_by_code.begin()->first == "untrusted_server");
  CHECK(seen.failed() > 10 * static_cast<std::int64_t>(handshakes));
  CHECK(handshakes <= 40);
  auto s = db.stats();
  CHECK(s.sessions_opened == 0);
  CHECK(s.failed_logins == 0);
  CHECK(rt.stats(creds).last_connect_error.find("tls-secret-9913") == std::string::npos);
  rt.shutdown();
}

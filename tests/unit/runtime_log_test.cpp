// The runtime's log over the fake backend: pool events reach the service's sink once each,
// with the pool's label and the cause, and never with a secret; the options that set it up.
#include "messages/stats_json.hpp"
#include "runtime_fake_support.hpp"

#include <mutex>

using namespace exapool;
using namespace exapool::test;

namespace {

// What a service's sink would keep: every line, from any thread.
struct captured_log {
  std::mutex m;
  std::vector<std::pair<log_level, std::string>> lines;

  log_sink sink() {
    return [this](log_level level, const std::string& line) {
      std::lock_guard<std::mutex> lock(m);
      lines.emplace_back(level, line);
    };
  }
  std::vector<std::string> containing(const std::string& part) {
    std::lock_guard<std::mutex> lock(m);
    std::vector<std::string> out;
    for (const auto& [level, line] : lines)
      if (line.find(part) != std::string::npos)
        out.push_back(line);
    return out;
  }
  bool mentions(const std::string& part) { return !containing(part).empty(); }
};

} // namespace

TEST_CASE("runtime log: a refused login is logged once with its cause and no secret",
          "[runtime][log]") {
  auto plan = std::make_shared<fake_plan>();
  plan->fail_every_open = true;
  plan->failures_are_auth = true;
  captured_log log;
  auto config = fake_runtime_config(plan);
  config.pool.acquire_timeout = 200ms;
  config.log.sink = log.sink();
  runtime rt{config};
  auto creds = fake_credentials("secret-password");
  for (int i = 0; i < 3; ++i)
    CHECK_THROWS_AS(rt.query(creds, "state"), runtime_error);
  rt.shutdown();
  auto refused = log.containing("cannot open a connection (the server refused the credentials");
  REQUIRE(refused.size() == 1); // three refused borrows, one line (log_interval is 10 s)
  CHECK_THAT(refused[0], Catch::StartsWith("pool " + pool_label(creds) + ": "));
  CHECK_FALSE(log.mentions("secret-password"));
}

TEST_CASE("runtime log: a lease held past leak-detection-threshold is logged with its holder",
          "[runtime][log]") {
  auto plan = std::make_shared<fake_plan>();
  captured_log log;
  auto config = fake_runtime_config(plan);
  config.pool.leak_detection_threshold = 50ms;
  config.pool.keepalive_interval = 40ms; // the pool looks at its leases every 20 ms
  config.log.sink = log.sink();
  runtime rt{config};
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(fake_credentials());
  REQUIRE(ask<bool>(self, session, begin_atom::value));
  CHECK(eventually([&] { return log.mentions("beyond the leak threshold (50 ms)"); }));
  CHECK_THAT(log.containing("beyond the leak threshold")[0],
             Catch::Contains("(borrower: actor " + std::to_string(session->id()) + "@"));
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("runtime log: lines below the level are not written", "[runtime][log]") {
  auto plan = std::make_shared<fake_plan>();
  plan->fail_every_open = true;
  captured_log log;
  auto config = fake_runtime_config(plan);
  config.pool.acquire_timeout = 100ms;
  config.log.level = log_level::error; // connect failures are warnings
  config.log.sink = log.sink();
  runtime rt{config};
  CHECK_THROWS_AS(rt.query(fake_credentials(), "state"), runtime_error);
  rt.shutdown();
  std::lock_guard<std::mutex> lock(log.m);
  CHECK(log.lines.empty());
}

TEST_CASE("log: levels parse, and password-like values are masked", "[log]") {
  CHECK(parse_log_level("warning") == log_level::warn);
  CHECK(parse_log_level("off") == log_level::off);
  CHECK_FALSE(parse_log_level("WARN").has_value());
  CHECK(redact("login failed: password=hunter2, user=sys") ==
        "login failed: password=***, user=sys");
  CHECK(redact("PWD: abc;token=xyz") == "PWD: ***;token=***");
  std::vector<std::string> seen;
  logger to_vector{{log_level::warn, [&](log_level, const std::string& l) { seen.push_back(l); }}};
  to_vector.log(log_level::info, "dropped");
  to_vector.log(log_level::error, "kept secret=abc");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == "kept secret=***");
}

TEST_CASE("the version macros say what CMake's project version says", "[version]") {
  CHECK(std::string(EXAPOOL_VERSION_STRING) == EXAPOOL_PROJECT_VERSION);
  CHECK(std::to_string(EXAPOOL_VERSION_MAJOR) + "." + std::to_string(EXAPOOL_VERSION_MINOR) + "." +
            std::to_string(EXAPOOL_VERSION_PATCH) ==
        EXAPOOL_VERSION_STRING);
  CHECK(EXAPOOL_VERSION ==
        EXAPOOL_VERSION_MAJOR * 10000 + EXAPOOL_VERSION_MINOR * 100 + EXAPOOL_VERSION_PATCH);
}

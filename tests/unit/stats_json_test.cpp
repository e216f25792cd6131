// Pool stats as JSON (messages/stats_json.hpp): every field under its name, the label people
// read, no secret anywhere, and a faithful read back (what `exapool stats` relies on).
#include "messages/pool_key.hpp"
#include "messages/stats_json.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <caf/deep_to_string.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

credentials secret_laden_credentials() {
  credentials c;
  c.dsn = "db1/" + std::string(64, 'a') + ":8564,db2:8565";
  c.user = "etl_user";
  c.password.value = "pw-Hunter2-do-not-show";
  c.access_token.value = "tok-ACCESS-do-not-show";
  c.refresh_token.value = "tok-REFRESH-do-not-show";
  c.schema = "STAGE";
  return c;
}

// Every field set to a value of its own, so a field written under the wrong name shows.
pool_stats distinct_stats(const credentials& creds) {
  pool_stats s;
  s.key = make_pool_key(creds);
  s.label = pool_label(creds);
  s.name = "orders-pool";
  s.total = 3, s.leased = 1, s.idle = 2, s.opening = 0, s.waiting = 4, s.max_size = 8;
  s.borrowed = 120, s.returned = 119, s.opened = 5, s.closed = 2, s.connect_failures = 6;
  s.validated = 7, s.invalid = 9, s.evicted = 10, s.reclaimed = 11, s.resets = 12;
  s.timed_out_borrows = 13, s.clients = 14;
  s.wait_p50 = 15us, s.wait_p99 = 950us, s.wait_max = 1200ms;
  s.last_connect_error = "connect_failed: db1:8564 refused";
  s.connect_failures_auth = 16, s.connect_failures_untrusted = 17;
  s.connect_failures_session_limit = 18, s.connect_failures_other = 19;
  s.wait_count = 20, s.consecutive_connect_failures = 21, s.wait_sum = 22ns;
  s.wait_buckets = {1, 2, 3};
  s.refused = "authentication_failed";
  return s;
}

} // namespace

TEST_CASE("pool label is user at hosts and schema without fingerprints", "[stats][json]") {
  auto creds = secret_laden_credentials();
  CHECK(pool_label(creds) == "etl_user@db1:8564,db2:8565/STAGE");
  creds.schema.clear();
  creds.dsn = "10.0.0.1..3/nocertcheck";
  CHECK(pool_label(creds) == "etl_user@10.0.0.1..3");
  creds.dsn = "localhost";
  CHECK(pool_label(creds) == "etl_user@localhost");
}

TEST_CASE("stats JSON has every field by name and its value", "[stats][json]") {
  auto creds = secret_laden_credentials();
  auto s = distinct_stats(creds);
  auto doc = boost::json::parse(stats_to_json({s}));
  auto& pool = doc.at("pools").at(0).as_object();
  CHECK(pool.at("key").as_string() == s.key.hex);
  CHECK(pool.at("label").as_string() == "etl_user@db1:8564,db2:8565/STAGE");
  std::pair<const char*, std::int64_t> expected[] = {{"total", 3},
                                                     {"leased", 1},
                                                     {"idle", 2},
                                                     {"opening", 0},
                                                     {"waiting", 4},
                                                     {"max_size", 8},
                                                     {"clients", 14},
                                                     {"borrowed", 120},
                                                     {"returned", 119},
                                                     {"opened", 5},
                                                     {"closed", 2},
                                                     {"connect_failures", 6},
                                                     {"validated", 7},
                                                     {"invalid", 9},
                                                     {"evicted", 10},
                                                     {"reclaimed", 11},
                                                     {"resets", 12},
                                                     {"timed_out_borrows", 13},
                                                     {"wait_p50_us", 15},
                                                     {"wait_p99_us", 950},
                                                     {"wait_max_us", 1200000},
                                                     {"connect_failures_auth", 16},
                                                     {"connect_failures_untrusted", 17},
                                                     {"connect_failures_session_limit", 18},
                                                     {"connect_failures_other", 19},
                                                     {"wait_count", 20},
                                                     {"consecutive_connect_failures", 21},
                                                     {"wait_sum_ns", 22}};
  for (auto [name, value] : expected) {
    INFO(name);
    REQUIRE(pool.contains(name));
    CHECK(pool.at(name).to_number<std::int64_t>() == value);
  }
  CHECK(pool.at("last_connect_error").as_string() == "connect_failed: db1:8564 refused");
  CHECK(pool.at("name").as_string() == "orders-pool");
  CHECK(pool.at("refused").as_string() == "authentication_failed");
  CHECK(pool.at("wait_buckets") == boost::json::parse("[1, 2, 3]"));
  // key, name, label, last_connect_error, refused, wait_buckets and the numbers above: nothing
  // more, nothing less.
  CHECK(pool.size() == 6 + std::size(expected));
}

TEST_CASE("stats JSON never contains a password or token", "[stats][json][secrets]") {
  auto creds = secret_laden_credentials();
  auto text = stats_to_json({distinct_stats(creds)});
  for (const auto* secret : {"Hunter2", "ACCESS", "REFRESH", "do-not-show"}) {
    INFO(secret);
    CHECK(text.find(secret) == std::string::npos);
  }
  CHECK(text.find(std::string(64, 'a')) == std::string::npos); // fingerprint left out too
}

TEST_CASE("stats JSON reads back into the same stats", "[stats][json]") {
  auto one = distinct_stats(secret_laden_credentials());
  auto two = distinct_stats(credentials{});
  two.borrowed = 0, two.last_connect_error.clear();
  auto back = stats_from_json(stats_to_json({one, two}));
  REQUIRE(back.size() == 2);
  // deep_to_string covers every inspected field, so a new field that misses JSON fails here.
  CHECK(caf::deep_to_string(back[0]) == caf::deep_to_string(one));
  CHECK(caf::deep_to_string(back[1]) == caf::deep_to_string(two));
  CHECK(stats_from_json(stats_to_json({})).empty());
}

TEST_CASE("stats JSON reader names what is wrong", "[stats][json][errors]") {
  auto message_of = [](const std::string& text) -> std::string {
    try {
      stats_from_json(text);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(message_of("not json").find("not JSON") != std::string::npos);
  CHECK(message_of("{\"x\": 1}").find("no \"pools\" array") != std::string::npos);
  auto text = stats_to_json({distinct_stats(credentials{})});
  auto without_resets = text;
  without_resets.replace(without_resets.find("\"resets\""), 8, "\"rezets\"");
  CHECK(message_of(without_resets).find("\"resets\" missing") != std::string::npos);
  auto negative = text;
  negative.replace(negative.find("\"borrowed\":120"), 14, "\"borrowed\":-1");
  CHECK(message_of(negative).find("\"borrowed\" is not") != std::string::npos);
}

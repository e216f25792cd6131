// /metrics and /health as text (messages/prometheus.hpp): exact lines for given stats, label
// escaping, cumulative histogram buckets, and the health rules.
#include "messages/prometheus.hpp"
#include "messages/wait_buckets.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

pool_stats sample_stats() {
  pool_stats s;
  s.label = "sys@db1:8563/STAGE";
  s.total = 3, s.leased = 1, s.idle = 2, s.opening = 0, s.waiting = 4, s.max_size = 8;
  s.opened = 5, s.closed = 2, s.borrowed = 120, s.returned = 119, s.validated = 7;
  s.invalid = 9, s.evicted = 10, s.reclaimed = 11, s.timed_out_borrows = 13;
  s.connect_failures_auth = 16, s.connect_failures_untrusted = 17;
  s.connect_failures_session_limit = 18, s.connect_failures_other = 19;
  // 3 waits of at most 0.5 ms, 1 more up to 1 ms, 2 more up to 2.5 s, 1 beyond 30 s.
  s.wait_buckets = {3, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6};
  s.wait_count = 7;
  s.wait_sum = 35s + 1500us;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text))
    if (l == line)
      return true;
  return false;
}

} // namespace

TEST_CASE("prometheus text has every gauge and counter of a pool", "[metrics][prometheus]") {
  auto text = render_prometheus({sample_stats()});
  const char* expected[] = {
      "# HELP exapool_pool_connections Connections the pool has (idle + leased + opening; each "
      "may hold a server session).",
      "# TYPE exapool_pool_connections gauge",
      "exapool_pool_connections{pool=\"sys@db1:8563/STAGE\"} 3",
      "exapool_pool_leased{pool=\"sys@db1:8563/STAGE\"} 1",
      "exapool_pool_idle{pool=\"sys@db1:8563/STAGE\"} 2",
      "exapool_pool_opening{pool=\"sys@db1:8563/STAGE\"} 0",
      "exapool_pool_waiting{pool=\"sys@db1:8563/STAGE\"} 4",
      "exapool_pool_max_size{pool=\"sys@db1:8563/STAGE\"} 8",
      "# TYPE exapool_pool_opened_total counter",
      "exapool_pool_opened_total{pool=\"sys@db1:8563/STAGE\"} 5",
      "exapool_pool_closed_total{pool=\"sys@db1:8563/STAGE\"} 2",
      "exapool_pool_borrowed_total{pool=\"sys@db1:8563/STAGE\"} 120",
      "exapool_pool_returned_total{pool=\"sys@db1:8563/STAGE\"} 119",
      "exapool_pool_validated_total{pool=\"sys@db1:8563/STAGE\"} 7",
      "exapool_pool_invalid_total{pool=\"sys@db1:8563/STAGE\"} 9",
      "exapool_pool_evicted_total{pool=\"sys@db1:8563/STAGE\"} 10",
      "exapool_pool_reclaimed_total{pool=\"sys@db1:8563/STAGE\"} 11",
      "exapool_pool_timed_out_borrows_total{pool=\"sys@db1:8563/STAGE\"} 13",
      "# TYPE exapool_pool_connect_failures_total counter",
      "exapool_pool_connect_failures_total{pool=\"sys@db1:8563/STAGE\",cause=\"auth\"} 16",
      "exapool_pool_connect_failures_total{pool=\"sys@db1:8563/STAGE\",cause=\"untrusted\"} 17",
      "exapool_pool_connect_failures_total{pool=\"sys@db1:8563/STAGE\",cause=\"session_limit\"} "
      "18",
      "exapool_pool_connect_failures_total{pool=\"sys@db1:8563/STAGE\",cause=\"other\"} 19",
  };
  for (const auto* line : expected) {
    INFO(line);
    CHECK(has_line(text, line));
  }
  // Every family is announced once, with HELP before TYPE, and every line ends the text.
  auto lines = lines_of(text);
  std::size_t help = 0, type = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("# HELP ", 0) == 0) {
      ++help;
      REQUIRE(i + 1 < lines.size());
      CHECK(lines[i + 1].rfind("# TYPE ", 0) == 0);
    }
    type += lines[i].rfind("# TYPE ", 0) == 0;
  }
  CHECK(help == 17);
  CHECK(type == 17);
  CHECK(text.back() == '\n');
}

TEST_CASE("prometheus histogram has cumulative buckets, +Inf, sum and count",
          "[metrics][prometheus][histogram]") {
  auto text = render_prometheus({sample_stats()});
  auto lines = lines_of(text);
  const std::string prefix = "exapool_pool_acquire_wait_seconds";
  const std::string pool = "pool=\"sys@db1:8563/STAGE\"";
  std::vector<std::string> expected = {
      "# HELP " + prefix + " Time from borrow to lease.",
      "# TYPE " + prefix + " histogram",
      prefix + "_bucket{" + pool + ",le=\"0.0005\"} 3",
      prefix + "_bucket{" + pool + ",le=\"0.001\"} 4",
      prefix + "_bucket{" + pool + ",le=\"0.005\"} 4",
      prefix + "_bucket{" + pool + ",le=\"0.01\"} 4",
      prefix + "_bucket{" + pool + ",le=\"0.05\"} 4",
      prefix + "_bucket{" + pool + ",le=\"0.1\"} 4",
      prefix + "_bucket{" + pool + ",le=\"0.5\"} 4",
      prefix + "_bucket{" + pool + ",le=\"1\"} 4",
      prefix + "_bucket{" + pool + ",le=\"2.5\"} 6",
      prefix + "_bucket{" + pool + ",le=\"5\"} 6",
      prefix + "_bucket{" + pool + ",le=\"10\"} 6",
      prefix + "_bucket{" + pool + ",le=\"30\"} 6",
      prefix + "_bucket{" + pool + ",le=\"+Inf\"} 7",
      prefix + "_sum{" + pool + "} 35.0015",
      prefix + "_count{" + pool + "} 7",
  };
  // The histogram is the last family, in exactly this order.
  REQUIRE(lines.size() >= expected.size());
  std::vector<std::string> tail(lines.end() - static_cast<long>(expected.size()), lines.end());
  CHECK(tail == expected);
  CHECK(wait_bucket_count == 12);
}

TEST_CASE("prometheus label values are escaped", "[metrics][prometheus][escape]") {
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_label_value("sys@db1:8563") == "sys@db1:8563");
  auto s = sample_stats();
  s.label = "we\"ird\\user\n@db";
  auto text = render_prometheus({s});
  CHECK(has_line(text, "exapool_pool_connections{pool=\"we\\\"ird\\\\user\\n@db\"} 3"));
  // The raw newline never reaches the output: each sample stays one line.
  for (const auto& line : lines_of(text))
    CHECK((line.rfind("#", 0) == 0 || line.rfind("exapool_pool_", 0) == 0));
}

TEST_CASE("prometheus text of several pools groups samples by family", "[metrics][prometheus]") {
  auto a = sample_stats();
  auto b = sample_stats();
  b.label = "alice@db2:8563";
  b.total = 1;
  auto lines = lines_of(render_prometheus({a, b}));
  std::size_t i = 0;
  while (i < lines.size() && lines[i] != "# TYPE exapool_pool_connections gauge")
    ++i;
  REQUIRE(i + 2 < lines.size());
  CHECK(lines[i + 1] == "exapool_pool_connections{pool=\"sys@db1:8563/STAGE\"} 3");
  CHECK(lines[i + 2] == "exapool_pool_connections{pool=\"alice@db2:8563\"} 1");
  // With no pool, only the announcements.
  for (const auto& line : lines_of(render_prometheus({})))
    CHECK(line.rfind("# ", 0) == 0);
}

namespace {

// Every sample line's series (the text before the value) and how often each family is announced.
struct exposition {
  std::vector<std::string> series;
  std::map<std::string, int> help, type;
};

exposition parse_exposition(const std::string& text) {
  exposition e;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("# HELP ", 0) == 0)
      ++e.help[line.substr(7, line.find(' ', 7) - 7)];
    else if (line.rfind("# TYPE ", 0) == 0)
      ++e.type[line.substr(7, line.find(' ', 7) - 7)];
    else
      e.series.push_back(line.substr(0, line.rfind(' ')));
  }
  return e;
}

// Two pools of one runtime under one configured name (exapool.pool-name), as the supervisor
// gives them: one per credentials, each with its own label and key.
std::vector<pool_stats> two_pools_named(const std::string& name) {
  auto a = sample_stats();
  a.name = name;
  a.key.hex = std::string(64, 'a');
  auto b = sample_stats();
  b.name = name;
  b.label = "alice@db1:8563/STAGE";
  b.key.hex = std::string(64, 'b');
  return {a, b};
}

} // namespace

TEST_CASE("pools sharing a configured name have series of their own, each family announced once",
          "[metrics][prometheus][pool_name]") {
  auto pools = two_pools_named("orders");
  auto e = parse_exposition(render_prometheus(pools));
  // 2 pools x (15 simple + 4 causes + 12 buckets + +Inf + sum + count) samples.
  REQUIRE(e.series.size() == 2 * (15 + 4 + wait_bucket_count + 3));
  std::set<std::string> unique(e.series.begin(), e.series.end());
  CHECK(unique.size() == e.series.size());
  CHECK(e.help.size() == 17);
  for (const auto& [family, n] : e.help) {
    INFO(family);
    CHECK(n == 1);
    CHECK(e.type[family] == 1);
  }
  // Readable: the configured name and whose pool it is, never an opaque number alone.
  auto text = render_prometheus(pools);
  CHECK(has_line(text, "exapool_pool_connections{pool=\"orders\",label=\"sys@db1:8563/STAGE\"} 3"));
  CHECK(
      has_line(text, "exapool_pool_connections{pool=\"orders\",label=\"alice@db1:8563/STAGE\"} 3"));
  CHECK(has_line(text,
                 "exapool_pool_acquire_wait_seconds_sum{pool=\"orders\",label=\"alice@db1:8563/"
                 "STAGE\"} 35.0015"));
}

TEST_CASE("a named pool's series do not depend on which other pools exist",
          "[metrics][prometheus][pool_name]") {
  // Alone or beside another pool of the same name, in either order: the same series, so a
  // dashboard keeps following it.
  auto pools = two_pools_named("orders");
  auto alone = parse_exposition(render_prometheus({pools[0]})).series;
  auto both = parse_exposition(render_prometheus(pools)).series;
  auto swapped = parse_exposition(render_prometheus({pools[1], pools[0]})).series;
  for (const auto& series : alone) {
    INFO(series);
    CHECK(std::count(both.begin(), both.end(), series) == 1);
    CHECK(std::count(swapped.begin(), swapped.end(), series) == 1);
  }
}

TEST_CASE("pools of the same user and hosts are told apart by their key's start, never a secret",
          "[metrics][prometheus][pool_name]") {
  // A rotated password: same name, same label, another key.
  for (const std::string name : {"orders", ""}) {
    auto pools = two_pools_named(name);
    pools[1].label = pools[0].label;
    auto e = parse_exposition(render_prometheus(pools));
    std::set<std::string> unique(e.series.begin(), e.series.end());
    CHECK(unique.size() == e.series.size());
    auto text = render_prometheus(pools);
    auto named = name.empty() ? "pool=\"sys@db1:8563/STAGE\""
                              : "pool=\"orders\",label=\"sys@db1:8563/STAGE\"";
    CHECK(has_line(text,
                   std::string("exapool_pool_leased{") + named + ",id=\"aaaaaaaaaaaaaaaa\"} 1"));
    CHECK(has_line(text,
                   std::string("exapool_pool_leased{") + named + ",id=\"bbbbbbbbbbbbbbbb\"} 1"));
  }
}

TEST_CASE("health names a pool by its configured name and its label", "[metrics][health]") {
  auto pools = two_pools_named("orders");
  pools[1].refused = "authentication_failed";
  auto v = judge_health(pools);
  CHECK_FALSE(v.ok);
  CHECK(v.text == "orders (alice@db1:8563/STAGE): the server refused the credentials (no login "
                  "succeeded since)\n");
}

TEST_CASE("health is ok unless a pool is refused or starved by failing connects",
          "[metrics][health]") {
  CHECK(judge_health({}).ok);
  CHECK(judge_health({}).text == "ok\n");
  pool_stats fine;
  fine.label = "sys@db1:8563";
  fine.total = 2;
  fine.waiting = 3;
  fine.consecutive_connect_failures = 1; // but it has live connections
  CHECK(judge_health({fine}).ok);

  auto refused = fine;
  refused.refused = "authentication_failed";
  auto v = judge_health({fine, refused});
  CHECK_FALSE(v.ok);
  CHECK(v.text == "sys@db1:8563: the server refused the credentials (no login succeeded "
                  "since)\n");

  auto starved = fine;
  starved.total = 1, starved.opening = 1; // nothing live
  CHECK_FALSE(judge_health({starved}).ok);
  CHECK(judge_health({starved}).text ==
        "sys@db1:8563: 3 waiting, no live connection, the last 1 connect(s) failed\n");
  starved.waiting = 0; // nobody waits: not (yet) a problem
  CHECK(judge_health({starved}).ok);
  starved.waiting = 1, starved.consecutive_connect_failures = 0; // still trying the first
  CHECK(judge_health({starved}).ok);
}

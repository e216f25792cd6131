#include "messages/prometheus.hpp"

#include "messages/wait_buckets.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace exapool {
namespace {

// Samples are labelled by the pool's name (exapool.pool-name; by default its label).
const std::string& pool_name_of(const pool_stats& s) {
  return s.name.empty() ? s.label : s.name;
}

using counter = std::uint64_t pool_stats::*;

// Seconds from whole units of 10^-digits seconds, exactly, without trailing zeros: "0.0005",
// "2.5", "30".
std::string seconds_text(std::uint64_t units, int digits) {
  std::uint64_t scale = 1;
  for (int i = 0; i < digits; ++i)
    scale *= 10;
  auto text = std::to_string(units / scale);
  auto frac = std::to_string(units % scale);
  if (units % scale == 0)
    return text;
  frac.insert(0, static_cast<std::size_t>(digits) - frac.size(), '0');
  while (frac.back() == '0')
    frac.pop_back();
  return text + "." + frac;
}

struct writer {
  const std::vector<pool_stats>& pools;
  std::string out;

  void header(const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const std::string& name, const pool_stats& s, const std::string& more_labels,
              std::uint64_t value) {
    out += name + "{pool=\"" + escape_label_value(pool_name_of(s)) + "\"" + more_labels + "} " +
           std::to_string(value) + "\n";
  }
  void family(const char* name, const char* type, const char* help, counter field) {
    header(name, type, help);
    for (const auto& s : pools)
      sample(name, s, "", s.*field);
  }
};

} // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string render_prometheus(const std::vector<pool_stats>& pools) {
  writer w{pools, {}};
  struct one {
    const char* name;
    const char* type;
    const char* help;
    counter field;
  };
  const one simple[] = {
      {"exapool_pool_connections", "gauge",
       "Connections the pool has (idle + leased + opening; each may hold a server session).",
       &pool_stats::total},
      {"exapool_pool_leased", "gauge", "Connections lent to borrowers.", &pool_stats::leased},
      {"exapool_pool_idle", "gauge",
       "Connections not lent (also being validated, reset or closed).", &pool_stats::idle},
      {"exapool_pool_opening", "gauge", "Connections being opened.", &pool_stats::opening},
      {"exapool_pool_waiting", "gauge", "Borrowers waiting for a connection.",
       &pool_stats::waiting},
      {"exapool_pool_max_size", "gauge", "The most connections the pool may have.",
       &pool_stats::max_size},
      {"exapool_pool_opened_total", "counter", "Connections opened (logged in).",
       &pool_stats::opened},
      {"exapool_pool_closed_total", "counter", "Connections closed.", &pool_stats::closed},
      {"exapool_pool_borrowed_total", "counter", "Leases granted.", &pool_stats::borrowed},
      {"exapool_pool_returned_total", "counter", "Leases given back.", &pool_stats::returned},
      {"exapool_pool_validated_total", "counter", "Validation checks (SELECT 1) run.",
       &pool_stats::validated},
      {"exapool_pool_invalid_total", "counter", "Validation checks that failed.",
       &pool_stats::invalid},
      {"exapool_pool_evicted_total", "counter", "Connections evicted (idle timeout, max lifetime).",
       &pool_stats::evicted},
      {"exapool_pool_reclaimed_total", "counter", "Leases taken back from borrowers that died.",
       &pool_stats::reclaimed},
      {"exapool_pool_timed_out_borrows_total", "counter",
       "Borrows that got no connection within acquire_timeout.", &pool_stats::timed_out_borrows},
  };
  for (const auto& m : simple)
    w.family(m.name, m.type, m.help, m.field);

  const std::string failures = "exapool_pool_connect_failures_total";
  w.header(failures, "counter", "Connects that failed, by cause.");
  const std::pair<const char*, counter> causes[] = {
      {"auth", &pool_stats::connect_failures_auth},
      {"untrusted", &pool_stats::connect_failures_untrusted},
      {"session_limit", &pool_stats::connect_failures_session_limit},
      {"other", &pool_stats::connect_failures_other},
  };
  for (const auto& s : pools)
    for (auto [cause, field] : causes)
      w.sample(failures, s, std::string(",cause=\"") + cause + "\"", s.*field);

  const std::string wait = "exapool_pool_acquire_wait_seconds";
  w.header(wait, "histogram", "Time from borrow to lease.");
  for (const auto& s : pools) {
    for (std::size_t i = 0; i < wait_bucket_count; ++i) {
      auto bound = static_cast<std::uint64_t>(wait_bucket_bounds_us[i]);
      auto n = i < s.wait_buckets.size() ? s.wait_buckets[i] : s.wait_count;
      w.sample(wait + "_bucket", s, ",le=\"" + seconds_text(bound, 6) + "\"", n);
    }
    w.sample(wait + "_bucket", s, ",le=\"+Inf\"", s.wait_count);
    w.out +=
        wait + "_sum{pool=\"" + escape_label_value(pool_name_of(s)) + "\"} " +
        seconds_text(
            static_cast<std::uint64_t>(std::max<caf::timespan::rep>(0, s.wait_sum.count())), 9) +
        "\n";
    w.sample(wait + "_count", s, "", s.wait_count);
  }
  return std::move(w.out);
}

health_verdict judge_health(const std::vector<pool_stats>& pools) {
  health_verdict v;
  std::string reasons;
  for (const auto& s : pools) {
    std::string reason;
    if (s.refused == "authentication_failed")
      reason = "the server refused the credentials (no login succeeded since)";
    else if (!s.refused.empty())
      reason = "the server is not trusted (" + s.refused + "; no login succeeded since)";
    else if (s.waiting > 0 && s.total == s.opening && s.consecutive_connect_failures > 0)
      reason = std::to_string(s.waiting) + " waiting, no live connection, the last " +
               std::to_string(s.consecutive_connect_failures) + " connect(s) failed";
    if (!reason.empty())
      reasons += pool_name_of(s) + ": " + reason + "\n";
  }
  if (!reasons.empty()) {
    v.ok = false;
    v.text = std::move(reasons);
  }
  return v;
}

} // namespace exapool

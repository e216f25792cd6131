#include "messages/prometheus.hpp"

#include "messages/wait_buckets.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

namespace exapool {
namespace {

// The pool's name (exapool.pool-name; by default its label).
const std::string& pool_name_of(const pool_stats& s) {
  return s.name.empty() ? s.label : s.name;
}

// A pool as people read it: its name, and whose pool it is when a configured name hides that.
std::string readable_name(const pool_stats& s) {
  const auto& name = pool_name_of(s);
  return name == s.label ? name : name + " (" + s.label + ")";
}

// The labels that tell one pool's series from every other's. A configured pool-name is given to
// every pool of the runtime (one per credentials), so the name alone would give several pools
// the same series, which Prometheus refuses as duplicates. We add the pool's label
// (user@hosts[/schema], never a secret) rather than a suffix such as "orders-2": pools are
// listed in the order of their keys, HMACs under a key drawn per process, so a suffix would
// move between pools at every restart and dashboards would mix them up. `label` is there
// whenever a name is configured, not only while two pools share it, so a pool's series keep
// their identity when another pool comes or goes; a pool named by its label (the default)
// keeps the one label `pool` it always had. Two pools of the same user and hosts (a rotated
// password or token, other settings) still share both: only they get `id`, the start of the
// pool's key (what /stats calls "key"; it reveals nothing), while they are both there.
std::vector<std::string> series_labels(const std::vector<pool_stats>& pools) {
  std::vector<std::string> out;
  std::map<std::string, std::size_t> seen;
  for (const auto& s : pools) {
    auto labels = "pool=\"" + escape_label_value(pool_name_of(s)) + "\"";
    if (pool_name_of(s) != s.label)
      labels += ",label=\"" + escape_label_value(s.label) + "\"";
    ++seen[labels];
    out.push_back(std::move(labels));
  }
  for (std::size_t i = 0; i < pools.size(); ++i)
    if (seen[out[i]] > 1)
      out[i] += ",id=\"" + pools[i].key.hex.substr(0, 16) + "\"";
  return out;
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
  std::vector<std::string> labels; // series_labels(pools), in the same order
  std::string out;

  void header(const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  // A sample of pools[i]; `more` labels (",le=\"0.5\"") follow the pool's own.
  void sample(const std::string& name, std::size_t i, const std::string& more,
              const std::string& value) {
    out += name + "{" + labels[i] + more + "} " + value + "\n";
  }
  void sample(const std::string& name, std::size_t i, const std::string& more,
              std::uint64_t value) {
    sample(name, i, more, std::to_string(value));
  }
  void family(const char* name, const char* type, const char* help, counter field) {
    header(name, type, help);
    for (std::size_t i = 0; i < pools.size(); ++i)
      sample(name, i, "", pools[i].*field);
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
  writer w{pools, series_labels(pools), {}};
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
  for (std::size_t i = 0; i < pools.size(); ++i)
    for (auto [cause, field] : causes)
      w.sample(failures, i, std::string(",cause=\"") + cause + "\"", pools[i].*field);

  const std::string wait = "exapool_pool_acquire_wait_seconds";
  w.header(wait, "histogram", "Time from borrow to lease.");
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const auto& s = pools[i];
    for (std::size_t b = 0; b < wait_bucket_count; ++b) {
      auto bound = static_cast<std::uint64_t>(wait_bucket_bounds_us[b]);
      auto n = b < s.wait_buckets.size() ? s.wait_buckets[b] : s.wait_count;
      w.sample(wait + "_bucket", i, ",le=\"" + seconds_text(bound, 6) + "\"", n);
    }
    w.sample(wait + "_bucket", i, ",le=\"+Inf\"", s.wait_count);
    auto sum_ns = std::max<caf::timespan::rep>(0, s.wait_sum.count());
    w.sample(wait + "_sum", i, "", seconds_text(static_cast<std::uint64_t>(sum_ns), 9));
    w.sample(wait + "_count", i, "", s.wait_count);
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
      reasons += readable_name(s) + ": " + reason + "\n";
  }
  if (!reasons.empty()) {
    v.ok = false;
    v.text = std::move(reasons);
  }
  return v;
}

} // namespace exapool

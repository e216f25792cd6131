#include "messages/stats_json.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <utility>

namespace exapool {
namespace {

namespace json = boost::json;

using counter = std::uint64_t pool_stats::*;
using duration = caf::timespan pool_stats::*;
using text = std::string pool_stats::*;

// Every field by its JSON name: one list, so writing and reading cannot drift apart.
constexpr std::pair<const char*, counter> counters[] = {
    {"total", &pool_stats::total},
    {"leased", &pool_stats::leased},
    {"idle", &pool_stats::idle},
    {"opening", &pool_stats::opening},
    {"waiting", &pool_stats::waiting},
    {"max_size", &pool_stats::max_size},
    {"clients", &pool_stats::clients},
    {"borrowed", &pool_stats::borrowed},
    {"returned", &pool_stats::returned},
    {"opened", &pool_stats::opened},
    {"closed", &pool_stats::closed},
    {"connect_failures", &pool_stats::connect_failures},
    {"validated", &pool_stats::validated},
    {"invalid", &pool_stats::invalid},
    {"evicted", &pool_stats::evicted},
    {"reclaimed", &pool_stats::reclaimed},
    {"resets", &pool_stats::resets},
    {"timed_out_borrows", &pool_stats::timed_out_borrows},
    {"connect_failures_auth", &pool_stats::connect_failures_auth},
    {"connect_failures_untrusted", &pool_stats::connect_failures_untrusted},
    {"connect_failures_session_limit", &pool_stats::connect_failures_session_limit},
    {"connect_failures_other", &pool_stats::connect_failures_other},
    {"wait_count", &pool_stats::wait_count},
    {"consecutive_connect_failures", &pool_stats::consecutive_connect_failures},
};

constexpr std::pair<const char*, duration> durations[] = {
    {"wait_p50_us", &pool_stats::wait_p50},
    {"wait_p99_us", &pool_stats::wait_p99},
    {"wait_max_us", &pool_stats::wait_max},
};

constexpr std::pair<const char*, text> texts[] = {
    {"name", &pool_stats::name},
    {"label", &pool_stats::label},
    {"last_connect_error", &pool_stats::last_connect_error},
    {"refused", &pool_stats::refused},
};

json::object to_object(const pool_stats& s) {
  json::object out;
  out["key"] = s.key.hex;
  for (auto [name, field] : texts)
    out[name] = s.*field;
  for (auto [name, field] : counters)
    out[name] = s.*field;
  for (auto [name, field] : durations)
    out[name] = std::chrono::duration_cast<std::chrono::microseconds>(s.*field).count();
  // The histogram's sum exactly (nanoseconds) and its cumulative buckets.
  out["wait_sum_ns"] = s.wait_sum.count();
  json::array buckets;
  for (auto n : s.wait_buckets)
    buckets.push_back(n);
  out["wait_buckets"] = std::move(buckets);
  return out;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("pool stats JSON: " + what);
}

const json::value& field_of(const json::object& pool, const char* name) {
  auto* value = pool.if_contains(name);
  if (value == nullptr)
    fail(std::string("field \"") + name + "\" missing");
  return *value;
}

std::string string_field(const json::object& pool, const char* name) {
  const auto& value = field_of(pool, name);
  if (!value.is_string())
    fail(std::string("field \"") + name + "\" is not a string");
  return std::string(value.get_string());
}

template <class T> T number_field(const json::object& pool, const char* name) {
  const auto& value = field_of(pool, name);
  boost::system::error_code ec;
  auto number = value.to_number<T>(ec);
  if (ec)
    fail(std::string("field \"") + name + "\" is not a non-negative whole number");
  return number;
}

pool_stats from_object(const json::object& pool) {
  pool_stats s;
  s.key.hex = string_field(pool, "key");
  for (auto [name, field] : texts)
    s.*field = string_field(pool, name);
  for (auto [name, field] : counters)
    s.*field = number_field<std::uint64_t>(pool, name);
  for (auto [name, field] : durations)
    s.*field = std::chrono::microseconds(number_field<std::uint64_t>(pool, name));
  s.wait_sum = caf::timespan{number_field<caf::timespan::rep>(pool, "wait_sum_ns")};
  const auto& buckets = field_of(pool, "wait_buckets");
  if (!buckets.is_array() || buckets.get_array().size() > 64)
    fail("field \"wait_buckets\" is not an array of at most 64 numbers");
  for (const auto& b : buckets.get_array()) {
    boost::system::error_code ec;
    auto n = b.to_number<std::uint64_t>(ec);
    if (ec)
      fail("field \"wait_buckets\" holds something other than a non-negative whole number");
    s.wait_buckets.push_back(n);
  }
  return s;
}

} // namespace

std::string pool_label(const credentials& creds) {
  // DSN parts are host[/FINGERPRINT][:PORT]; keep host and port of each.
  std::string hosts;
  std::string_view dsn = creds.dsn;
  while (true) {
    auto comma = dsn.find(',');
    auto part = dsn.substr(0, comma);
    auto slash = part.find('/');
    if (slash == std::string_view::npos) {
      hosts += part;
    } else {
      hosts += part.substr(0, slash);
      auto colon = part.find(':', slash);
      if (colon != std::string_view::npos)
        hosts += part.substr(colon);
    }
    if (comma == std::string_view::npos)
      break;
    hosts += ',';
    dsn.remove_prefix(comma + 1);
  }
  std::string label = creds.user + "@" + hosts;
  if (!creds.schema.empty())
    label += "/" + creds.schema;
  return label;
}

std::string stats_to_json(const std::vector<pool_stats>& pools) {
  json::array list;
  for (const auto& s : pools)
    list.push_back(to_object(s));
  return json::serialize(json::object{{"pools", std::move(list)}});
}

std::vector<pool_stats> stats_from_json(std::string_view text) {
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec)
    fail("not JSON (" + ec.message() + ")");
  auto* pools = doc.is_object() ? doc.as_object().if_contains("pools") : nullptr;
  if (pools == nullptr || !pools->is_array())
    fail("no \"pools\" array");
  std::vector<pool_stats> out;
  for (const auto& pool : pools->get_array()) {
    if (!pool.is_object())
      fail("a pool entry is not an object");
    out.push_back(from_object(pool.get_object()));
  }
  return out;
}

} // namespace exapool

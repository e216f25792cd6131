#include "integration/front/attributes.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>

namespace exafront {
namespace {

enum class kind { boolean, integer, text };

struct writable {
  const char* name;
  kind type;
  std::int64_t max = 0; // integers: larger values are clamped to this
};

// The attributes a client may set (protocol reference §6); every other name is read-only.
constexpr writable writable_attributes[] = {
    {"autocommit", kind::boolean},
    {"currentSchema", kind::text},
    {"feedbackInterval", kind::integer, max_attribute_seconds},
    {"numericCharacters", kind::text},
    {"queryTimeout", kind::integer, max_attribute_seconds},
    {"snapshotTransactionsEnabled", kind::boolean},
    {"timestampUtcEnabled", kind::boolean},
    {"resultSetMaxRows", kind::integer, max_result_set_max_rows},
};

// Converts `v` to the attribute's type, or returns nullopt when it does not fit.
std::optional<boost::json::value> convert(const writable& w, const boost::json::value& v) {
  switch (w.type) {
  case kind::boolean:
    if (v.is_bool())
      return v;
    return std::nullopt;
  case kind::integer:
    if (auto i = saturated_integer(v); i && *i >= 0)
      return boost::json::value(std::min(*i, w.max));
    return std::nullopt;
  case kind::text:
    if (v.is_string())
      return v;
    if (v.is_null()) // currentSchema: null means "no schema" like ""
      return boost::json::value(boost::json::string());
    return std::nullopt;
  }
  return std::nullopt;
}

const char* kind_name(kind type) {
  switch (type) {
  case kind::boolean:
    return "a boolean";
  case kind::integer:
    return "a non-negative integer";
  case kind::text:
    return "a string";
  }
  return "?";
}

} // namespace

std::optional<std::int64_t> saturated_integer(const boost::json::value& v) {
  constexpr double int64_limit = 9223372036854775808.0; // 2^63, exact as a double
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64())
    return static_cast<std::int64_t>(
        std::min<std::uint64_t>(v.get_uint64(), static_cast<std::uint64_t>(INT64_MAX)));
  if (!v.is_double() || !std::isfinite(v.get_double()) ||
      std::floor(v.get_double()) != v.get_double())
    return std::nullopt;
  double d = v.get_double();
  if (d >= int64_limit)
    return INT64_MAX;
  if (d < -int64_limit)
    return INT64_MIN;
  return static_cast<std::int64_t>(d);
}

attribute_set::attribute_set()
    : values_{{"autocommit", true},
              {"compressionEnabled", false},
              {"currentSchema", ""},
              {"dateFormat", "YYYY-MM-DD"},
              {"dateLanguage", "ENG"},
              {"datetimeFormat", "YYYY-MM-DD HH24:MI:SS.FF6"},
              {"defaultLikeEscapeCharacter", "\\"},
              {"feedbackInterval", 1},
              {"numericCharacters", ".,"},
              {"openTransaction", false},
              {"queryTimeout", 0},
              {"resultSetMaxRows", 0},
              {"snapshotTransactionsEnabled", false},
              {"timestampUtcEnabled", false},
              {"timezone", "UNIVERSAL"},
              {"timeZoneBehavior", "INVALID SHIFT AMBIGUOUS ST"}} {}

std::optional<std::string> attribute_set::apply(const boost::json::object& requested) {
  boost::json::object accepted;
  for (const auto& w : writable_attributes) {
    auto it = requested.find(w.name);
    if (it == requested.end())
      continue;
    auto converted = convert(w, it->value());
    if (!converted)
      return std::string("attribute ") + w.name + " must be " + kind_name(w.type);
    accepted[w.name] = std::move(*converted);
  }
  for (auto& [name, value] : accepted)
    values_[name] = std::move(value);
  return std::nullopt;
}

boost::json::object attribute_set::changed_since(const attribute_set& before) const {
  boost::json::object out;
  for (const auto& [name, value] : values_) {
    auto it = before.values_.find(name);
    if (it == before.values_.end() || it->value() != value)
      out[name] = value;
  }
  return out;
}

bool attribute_set::autocommit() const {
  return values_.at("autocommit").as_bool();
}
std::string attribute_set::current_schema() const {
  return std::string(values_.at("currentSchema").as_string());
}
std::int64_t attribute_set::query_timeout_seconds() const {
  return values_.at("queryTimeout").as_int64();
}
std::int64_t attribute_set::feedback_interval_seconds() const {
  return values_.at("feedbackInterval").as_int64();
}
std::int64_t attribute_set::result_set_max_rows() const {
  return values_.at("resultSetMaxRows").as_int64();
}
bool attribute_set::compression_enabled() const {
  return values_.at("compressionEnabled").as_bool();
}

void attribute_set::set_autocommit(bool on) {
  values_["autocommit"] = on;
}
void attribute_set::set_current_schema(const std::string& schema) {
  values_["currentSchema"] = schema;
}
void attribute_set::set_open_transaction(bool open) {
  values_["openTransaction"] = open;
}
void attribute_set::set_query_timeout_seconds(std::int64_t seconds) {
  values_["queryTimeout"] = std::clamp<std::int64_t>(seconds, 0, max_attribute_seconds);
}
void attribute_set::set_compression_enabled(bool on) {
  values_["compressionEnabled"] = on;
}

} // namespace exafront

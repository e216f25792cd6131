// Exasol session attributes (protocol reference §6): the full set a session carries, applied
// from any request's "attributes" object and reported back when they change.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace exafront {

// Clients may send any number; these bounds keep every later computation (timer deadlines in
// nanoseconds, row counts) far from overflow. queryTimeout and feedbackInterval are seconds:
// ten years is "no limit" in practice, while 9.3e9 s in nanoseconds overflows a 64-bit clock.
constexpr std::int64_t max_attribute_seconds = 10LL * 365 * 24 * 3600;
constexpr std::int64_t max_result_set_max_rows = std::int64_t{1} << 53;

// A JSON number as an integer, saturated at the int64 range: huge integers and integral
// doubles (1e20) give INT64_MAX (or INT64_MIN); non-integers, NaN, infinities and other
// kinds give nullopt.
std::optional<std::int64_t> saturated_integer(const boost::json::value& v);

class attribute_set {
public:
  attribute_set(); // Exasol's defaults (autocommit on since 7.1, no schema, no timeout)

  // Applies a client's "attributes" object. Unknown names and read-only attributes are
  // ignored, as drivers send e.g. compressionEnabled at login. Integers above their bound
  // (max_attribute_seconds, max_result_set_max_rows) are clamped to it. Returns an error text
  // naming the attribute when a writable one has the wrong JSON type, a negative or a
  // non-integer number; then nothing is applied.
  std::optional<std::string> apply(const boost::json::object& requested);

  const boost::json::object& all() const { return values_; }
  // The attributes whose values differ from `before`.
  boost::json::object changed_since(const attribute_set& before) const;

  bool autocommit() const;
  std::string current_schema() const;
  std::int64_t query_timeout_seconds() const;
  std::int64_t feedback_interval_seconds() const;
  std::int64_t result_set_max_rows() const;
  bool compression_enabled() const;

  void set_autocommit(bool on);
  void set_current_schema(const std::string& schema);
  void set_open_transaction(bool open);
  void set_query_timeout_seconds(std::int64_t seconds); // clamped to [0, max_attribute_seconds]
  void set_compression_enabled(bool on);

private:
  boost::json::object values_;
};

} // namespace exafront

// Exasol typing of SQLite values: the declared column type (sqlite3_column_decltype) decides
// when there is one, otherwise the storage classes of the values do. Pure logic, no SQLite.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exasim {

struct exa_type {
  enum class kind { decimal, double_precision, varchar, fixed_char, boolean, date, timestamp };
  kind what = kind::varchar;
  int precision = 18, scale = 0;     // decimal
  std::int64_t size = 2000000;       // varchar, char (characters)
  bool with_local_time_zone = false; // timestamp

  static exa_type decimal(int p, int s) { return {kind::decimal, p, s, 0, false}; }
  static exa_type double_precision() { return {kind::double_precision, 0, 0, 0, false}; }
  static exa_type varchar(std::int64_t n = 2000000) { return {kind::varchar, 0, 0, n, false}; }
  static exa_type boolean() { return {kind::boolean, 0, 0, 0, false}; }
};

// A value as SQLite stored it.
struct raw_value {
  enum class storage { null, integer, real, text, blob } cls = storage::null;
  std::int64_t integer = 0;
  double real = 0;
  std::string bytes; // text or blob
};

// Exasol's type for a declared SQLite column type ("VARCHAR(20)", "DECIMAL(10,2)", "INT",
// "TIMESTAMP", ...), or nullopt when the declaration says nothing Exasol knows.
std::optional<exa_type> type_from_declaration(std::string_view declared);

// The type of an undeclared column (an expression) from its values: integers are
// DECIMAL(18,0) (DECIMAL(36,0) beyond 18 digits), any real makes it DOUBLE, any text VARCHAR.
exa_type type_from_values(const std::vector<raw_value>& values);

// The dataType object of a result column (protocol reference §8, v1-v4 shapes).
boost::json::object data_type_json(const exa_type& type);

// The JSON value Exasol sends for `value` in a column of `type`: DECIMAL with precision > 18
// or scale > 0 as a string, CHAR space-padded, TIMESTAMP with six fraction digits, ...
boost::json::value encode_value(const raw_value& value, const exa_type& type);

} // namespace exasim

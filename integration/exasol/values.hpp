// Typed values, column metadata and results as the client hands them out. Plain data, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace exasol {

// An exact decimal that does not fit int64 semantics: DECIMAL with precision > 18 or scale > 0,
// kept as the server's text ("3.141", "-12345678901234567890") so no digit is lost. A distinct
// type so that a decimal is never confused with a VARCHAR.
struct decimal {
  std::string text;
  friend bool operator==(const decimal& a, const decimal& b) { return a.text == b.text; }
};

// NULL is std::monostate. DECIMAL(p<=18, 0) is int64; DOUBLE is double; BOOLEAN is bool;
// CHAR, VARCHAR, DATE, TIMESTAMP, INTERVAL, GEOMETRY and HASHTYPE are strings.
using value = std::variant<std::monostate, bool, std::int64_t, double, decimal, std::string>;

inline bool is_null(const value& v) {
  return std::holds_alternative<std::monostate>(v);
}
// The value as a person reads it: NULL, TRUE/FALSE, numbers, decimal text, strings verbatim.
std::string to_string(const value& v);

// Column metadata from `columns[i]` (protocol reference §8); absent properties stay 0 / "".
struct column {
  std::string name;
  std::string type; // "DECIMAL", "VARCHAR", "TIMESTAMP WITH LOCAL TIME ZONE", ...
  int precision = 0;
  int scale = 0;
  std::int64_t size = 0;
  std::string character_set;
  bool with_local_time_zone = false;
  int fraction = 0;
  int srid = 0;
};

// A result set, column-major like the wire: data[column][row]. After execute() returns, every
// row is loaded (the client fetches handle-backed results completely and closes the handle).
struct result_set {
  std::vector<column> columns;
  std::vector<std::vector<value>> data; // data[c][r]
  std::uint64_t total_rows = 0;         // numRows reported by the server
  std::int64_t handle = 0;              // resultSetHandle, 0 when the rows came inline

  std::size_t column_count() const { return columns.size(); }
  std::size_t row_count() const { return data.empty() ? 0 : data.front().size(); }
  const value& at(std::size_t row, std::size_t col) const { return data.at(col).at(row); }
  // Index of the first column called `name`, if any.
  std::optional<std::size_t> column_index(const std::string& name) const;
};

// One entry of `results`: a row count (DML, DDL) or a result set.
struct result {
  enum class kind { row_count, result_set };
  kind type = kind::row_count;
  std::int64_t row_count = 0;
  exasol::result_set rows; // meaningful when type == kind::result_set

  bool is_result_set() const { return type == kind::result_set; }
};

// Session attributes (protocol reference §6) by name: autocommit, currentSchema, queryTimeout...
using attributes = std::map<std::string, value>;

// What the login response tells about the session (protocol reference §2.1).
struct session_info {
  std::uint64_t session_id = 0; // above 2^53 on real servers: never a double
  int protocol_version = 0;     // the version in use (the server may downgrade)
  std::string release_version, database_name, product_name, identifier_quote_string, time_zone,
      time_zone_behavior;
  std::int64_t max_data_message_size = 0, max_identifier_length = 0, max_varchar_length = 0;
};

// A server-side prepared statement. Close it with connection::close_prepared.
struct prepared_statement {
  std::int64_t handle = 0;
  std::vector<column> parameters;     // parameterData.columns; empty without parameters
  std::vector<result> results;        // the describe-shape results (columns of a SELECT)
  std::string parameter_columns_json; // parameterData.columns verbatim, sent back on execute
  // The columns of the first result set among `results` as the server sent them (JSON array
  // text); empty when the statement returns no result set.
  std::string result_columns_json;
};

} // namespace exasol

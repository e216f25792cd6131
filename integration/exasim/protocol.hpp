// The JSON shapes of Exasol's responses (protocol reference §3-§5): the envelope, errors,
// results (inline below 1000 rows, a handle from 1000 rows on) and fetch chunks. Pure logic:
// no sockets, no engine.
#pragma once

#include "integration/exasim/engine.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace exasim {

// From this many rows on a result set is sent as a handle, to be read with fetch.
constexpr std::size_t handle_threshold_rows = 1000;

boost::json::object ok_response();
boost::json::array columns_json(const std::vector<column>& columns);
boost::json::object error_response(const std::string& sql_code, const std::string& text);
inline boost::json::object error_response(const sql_error& e) {
  return error_response(e.sql_code, e.text);
}

// The result sets of one session that wait to be fetched, by handle.
class result_store {
public:
  // {"resultType":"resultSet",...} or {"resultType":"rowCount",...}; a result set of 1000
  // rows or more is kept here and announced by its handle without data.
  boost::json::object encode(statement_result result, std::int64_t max_rows = 0);

  // {"numRows":n,"data":[...]} for rows from `start` within about `num_bytes` of JSON, at
  // least one row while rows remain; nullopt for an unknown handle.
  std::optional<boost::json::object> fetch(std::int64_t handle, std::uint64_t start,
                                           std::uint64_t num_bytes) const;
  // {"resultType":"resultSet","resultSet":{...}} without data for an open handle
  // (getResultSetHeader); nullopt for an unknown one.
  std::optional<boost::json::object> header(std::int64_t handle) const;
  bool close(std::int64_t handle);
  std::size_t open_handles() const { return sets_.size(); }

private:
  std::map<std::int64_t, std::shared_ptr<const result_set>> sets_;
  std::int64_t next_handle_ = 1;
};

// Builds {"numResults":n,"results":[...]} from an execution's results.
boost::json::object encode_results(std::vector<statement_result> results, result_store& store,
                                   std::int64_t max_rows);

// About how many bytes `v` takes in JSON (for fetch's numBytes budget).
std::size_t approximate_json_size(const boost::json::value& v);

} // namespace exasim

// The JSON shapes of Exasol's responses (protocol reference §3-§5): the envelope, errors,
// results (inline below 1000 rows, a handle from 1000 rows on) and fetch chunks. Pure logic:
// no sockets, no engine.
#pragma once

#include "integration/front/engine.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace exafront {

// From this many rows on a result set is sent as a handle, to be read with fetch.
constexpr std::size_t handle_threshold_rows = 1000;

boost::json::object ok_response();
boost::json::array columns_json(const std::vector<column>& columns);
boost::json::object error_response(const std::string& sql_code, const std::string& text);
inline boost::json::object error_response(const sql_error& e) {
  return error_response(e.sql_code, e.text);
}

// The login refusal when max_sessions is reached (sqlCode 08004, like every login refusal):
// "Connection exception - session limit reached: <n> sessions are open." Clients tell it from
// a wrong password ("Connection exception - authentication failed.") by this marker.
constexpr const char* session_limit_marker = "session limit reached";
std::string session_limit_text(std::size_t open_sessions);

// What the open result sets of every session hold (server-wide, read from any thread).
struct result_memory {
  std::atomic<std::uint64_t> rows{0};
  std::atomic<std::uint64_t> bytes{0}; // approximate JSON size, as fetch counts it
};

// The result sets of one session that wait to be fetched, by handle. Each is freed when the
// client closes it (closeResultSet) and, for the rest, when the store is destroyed with its
// session (disconnect, KILL SESSION, a vanished client).
class result_store {
public:
  explicit result_store(std::shared_ptr<result_memory> memory = nullptr);
  ~result_store();
  result_store(const result_store&) = delete;
  result_store& operator=(const result_store&) = delete;

  // {"resultType":"resultSet",...} or {"resultType":"rowCount",...}; a result set of 1000
  // rows or more is kept here and announced by its handle without data.
  boost::json::object encode(statement_result result, std::int64_t max_rows = 0);

  // Appends {"numRows":n,"data":[...]} to `out` for rows from `start` within about
  // `num_bytes` of JSON, at least one row while rows remain; false (and nothing appended) for
  // an unknown handle. The rows are serialized straight from the store, not copied into a
  // JSON tree first (with two smaller changes: exasim's CPU per 1,000-row query 451 -> 391 µs).
  bool fetch(std::int64_t handle, std::uint64_t start, std::uint64_t num_bytes,
             std::string& out) const;
  // {"resultType":"resultSet","resultSet":{...}} without data for an open handle
  // (getResultSetHeader); nullopt for an unknown one.
  std::optional<boost::json::object> header(std::int64_t handle) const;
  // Forgets the handle and hands its rows back: the caller frees them where it suits (a big
  // result takes a while to free, better off the I/O thread). Null for an unknown handle.
  std::shared_ptr<const result_set> close(std::int64_t handle);
  // Forgets every handle and hands all their rows back (the session ends).
  std::vector<std::shared_ptr<const result_set>> close_all();
  std::size_t open_handles() const { return sets_.size(); }
  std::uint64_t held_rows() const { return held_rows_; }
  std::uint64_t held_bytes() const { return held_bytes_; }

private:
  struct held {
    std::shared_ptr<const result_set> rows;
    std::uint64_t bytes = 0;
  };
  void account(std::int64_t rows, std::int64_t bytes);

  std::shared_ptr<result_memory> memory_;
  std::map<std::int64_t, held> sets_;
  std::int64_t next_handle_ = 1;
  std::uint64_t held_rows_ = 0, held_bytes_ = 0;
};

// The JSON size of a result's rows as fetch estimates it.
std::uint64_t approximate_rows_size(const result_set& rows);

// Builds {"numResults":n,"results":[...]} from an execution's results.
boost::json::object encode_results(std::vector<statement_result> results, result_store& store,
                                   std::int64_t max_rows);

// About how many bytes `v` takes in JSON (for fetch's numBytes budget).
std::size_t approximate_json_size(const boost::json::value& v);

} // namespace exafront

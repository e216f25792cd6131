#include "integration/front/protocol.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

namespace exafront {
namespace {

void truncate_rows(result_set& rows, std::size_t max_rows) {
  if (rows.num_rows <= max_rows)
    return;
  for (auto& column : rows.data)
    column.resize(max_rows);
  rows.num_rows = max_rows;
}

// One value in JSON, through the library's serializer (no string allocated per value).
void append_json(std::string& out, boost::json::serializer& serializer,
                 const boost::json::value& v) {
  serializer.reset(&v);
  char buffer[512];
  while (!serializer.done()) {
    auto piece = serializer.read(buffer, sizeof buffer);
    out.append(piece.data(), piece.size());
  }
}

} // namespace

boost::json::object ok_response() {
  return {{"status", "ok"}};
}

boost::json::array columns_json(const std::vector<column>& columns) {
  boost::json::array out;
  for (const auto& c : columns)
    out.push_back(boost::json::object{{"name", c.name}, {"dataType", c.data_type}});
  return out;
}

boost::json::object error_response(const std::string& sql_code, const std::string& text) {
  std::string code = sql_code.size() == 5 ? sql_code : "00000"; // always 5 characters
  return {{"status", "error"}, {"exception", {{"text", text}, {"sqlCode", code}}}};
}

std::string session_limit_text(std::size_t open_sessions) {
  return std::string("Connection exception - ") + session_limit_marker + ": " +
         std::to_string(open_sessions) + " sessions are open.";
}

std::size_t approximate_json_size(const boost::json::value& v) {
  switch (v.kind()) {
  case boost::json::kind::string:
    return v.get_string().size() + 3;
  case boost::json::kind::int64:
  case boost::json::kind::uint64:
    return 21;
  case boost::json::kind::double_:
    return 25;
  default:
    return 6;
  }
}

std::uint64_t approximate_rows_size(const result_set& rows) {
  std::uint64_t bytes = 0;
  for (const auto& column : rows.data)
    for (const auto& v : column)
      bytes += approximate_json_size(v);
  return bytes;
}

result_store::result_store(std::shared_ptr<result_memory> memory) : memory_(std::move(memory)) {}

result_store::~result_store() {
  account(-static_cast<std::int64_t>(held_rows_), -static_cast<std::int64_t>(held_bytes_));
}

void result_store::account(std::int64_t rows, std::int64_t bytes) {
  held_rows_ += static_cast<std::uint64_t>(rows); // modular: adding a negative subtracts
  held_bytes_ += static_cast<std::uint64_t>(bytes);
  if (memory_) {
    memory_->rows += static_cast<std::uint64_t>(rows);
    memory_->bytes += static_cast<std::uint64_t>(bytes);
  }
}

boost::json::object result_store::encode(statement_result result, std::int64_t max_rows) {
  if (!result.rows)
    return {{"resultType", "rowCount"}, {"rowCount", result.row_count}};
  result_set& rows = *result.rows;
  if (max_rows > 0)
    truncate_rows(rows, static_cast<std::size_t>(max_rows));
  boost::json::object set{{"numColumns", rows.columns.size()},
                          {"numRows", rows.num_rows},
                          {"columns", columns_json(rows.columns)}};
  if (rows.num_rows >= handle_threshold_rows) {
    std::int64_t handle = next_handle_++;
    set["resultSetHandle"] = handle;
    set["numRowsInMessage"] = 0;
    std::uint64_t bytes = approximate_rows_size(rows);
    std::int64_t count = static_cast<std::int64_t>(rows.num_rows);
    sets_[handle] = held{std::make_shared<const result_set>(std::move(rows)), bytes};
    account(count, static_cast<std::int64_t>(bytes));
  } else {
    set["numRowsInMessage"] = rows.num_rows;
    if (rows.num_rows > 0) { // Exasol omits data for an empty result
      boost::json::array data;
      for (auto& column : rows.data)
        data.push_back(std::move(column));
      set["data"] = std::move(data);
    }
  }
  return {{"resultType", "resultSet"}, {"resultSet", std::move(set)}};
}

bool result_store::fetch(std::int64_t handle, std::uint64_t start, std::uint64_t num_bytes,
                         std::string& out) const {
  auto it = sets_.find(handle);
  if (it == sets_.end())
    return false;
  const result_set& rows = *it->second.rows;
  std::size_t first = start < rows.num_rows ? static_cast<std::size_t>(start) : rows.num_rows;
  std::size_t last = first;
  std::uint64_t used = 0;
  while (last < rows.num_rows) {
    std::size_t row_bytes = 0;
    for (const auto& column : rows.data)
      row_bytes += approximate_json_size(column[last]);
    if (last > first && used + row_bytes > num_bytes)
      break; // at least one row, then stay within the budget
    used += row_bytes;
    ++last;
  }
  out.reserve(out.size() + used + 64);
  out += "{\"numRows\":";
  out += std::to_string(last - first);
  out += ",\"data\":[";
  boost::json::serializer serializer;
  for (std::size_t c = 0; c < rows.data.size(); ++c) {
    out += c == 0 ? "[" : ",[";
    for (std::size_t r = first; r < last; ++r) {
      if (r != first)
        out += ',';
      append_json(out, serializer, rows.data[c][r]);
    }
    out += ']';
  }
  out += "]}";
  return true;
}

std::optional<boost::json::object> result_store::header(std::int64_t handle) const {
  auto it = sets_.find(handle);
  if (it == sets_.end())
    return std::nullopt;
  const result_set& rows = *it->second.rows;
  boost::json::object set{{"resultSetHandle", handle},
                          {"numColumns", rows.columns.size()},
                          {"numRows", rows.num_rows},
                          {"numRowsInMessage", 0},
                          {"columns", columns_json(rows.columns)}};
  return boost::json::object{{"resultType", "resultSet"}, {"resultSet", std::move(set)}};
}

std::shared_ptr<const result_set> result_store::close(std::int64_t handle) {
  auto it = sets_.find(handle);
  if (it == sets_.end())
    return nullptr;
  auto rows = std::move(it->second.rows);
  account(-static_cast<std::int64_t>(rows->num_rows), -static_cast<std::int64_t>(it->second.bytes));
  sets_.erase(it);
  return rows;
}

std::vector<std::shared_ptr<const result_set>> result_store::close_all() {
  std::vector<std::shared_ptr<const result_set>> all;
  for (auto& [handle, entry] : sets_)
    all.push_back(std::move(entry.rows));
  sets_.clear();
  account(-static_cast<std::int64_t>(held_rows_), -static_cast<std::int64_t>(held_bytes_));
  return all;
}

boost::json::object encode_results(std::vector<statement_result> results, result_store& store,
                                   std::int64_t max_rows) {
  boost::json::array encoded;
  for (auto& r : results)
    encoded.push_back(store.encode(std::move(r), max_rows));
  return {{"numResults", encoded.size()}, {"results", std::move(encoded)}};
}

} // namespace exafront

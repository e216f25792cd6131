#include "proxy/result_json.hpp"

#include <boost/json/parse.hpp>

namespace exapool::proxy {
namespace {

namespace json = boost::json;

// The session attributes a client can set that live on the connection (the front keeps the
// others itself: compressionEnabled, feedbackInterval, resultSetMaxRows).
const char* const connection_attributes[] = {"autocommit",
                                             "currentSchema",
                                             "queryTimeout",
                                             "numericCharacters",
                                             "snapshotTransactionsEnabled",
                                             "timestampUtcEnabled"};

json::value plain_json(const exasol::value& v) {
  return std::visit(
      [](const auto& x) -> json::value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return nullptr;
        else if constexpr (std::is_same_v<T, exasol::decimal>)
          return json::string(x.text);
        else if constexpr (std::is_same_v<T, std::string>)
          return json::string(x);
        else
          return x;
      },
      v);
}

std::optional<exasol::value> attribute_value(const json::value& v) {
  if (v.is_bool())
    return v.get_bool();
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64())
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_string())
    return std::string(v.get_string());
  return std::nullopt;
}

} // namespace

json::object data_type_json(const exasol::column& c) {
  json::object t{{"type", c.type}};
  if (c.type == "DECIMAL") {
    t["precision"] = c.precision;
    t["scale"] = c.scale;
  } else if (c.type == "CHAR" || c.type == "VARCHAR") {
    t["size"] = c.size;
    t["characterSet"] = c.character_set.empty() ? "UTF8" : c.character_set;
  } else if (c.type.rfind("TIMESTAMP", 0) == 0) {
    t["size"] = c.size;
    t["withLocalTimeZone"] = c.with_local_time_zone;
  } else if (c.type.rfind("INTERVAL", 0) == 0) {
    t["size"] = c.size;
    t["precision"] = c.precision;
    if (c.type.find("SECOND") != std::string::npos)
      t["fraction"] = c.fraction;
  } else if (c.type == "GEOMETRY") {
    t["size"] = c.size;
    t["srid"] = c.srid;
  } else if (c.type == "DATE" || c.type == "HASHTYPE") {
    t["size"] = c.size;
  }
  return t;
}

json::value value_json(const exasol::value& v) {
  return plain_json(v);
}

exafront::statement_result front_result(const exasol::result& r) {
  exafront::statement_result out;
  if (!r.is_result_set()) {
    out.row_count = r.row_count;
    return out;
  }
  exafront::result_set rows;
  for (const auto& c : r.rows.columns)
    rows.columns.push_back({c.name, data_type_json(c)});
  rows.num_rows = r.rows.row_count();
  rows.data.reserve(r.rows.data.size());
  for (const auto& column : r.rows.data) {
    json::array values;
    values.reserve(column.size());
    for (const auto& v : column)
      values.push_back(plain_json(v));
    rows.data.push_back(std::move(values));
  }
  out.rows = std::move(rows);
  return out;
}

std::vector<exafront::column> front_columns(const std::string& columns_json) {
  std::vector<exafront::column> out;
  boost::system::error_code ec;
  auto parsed = json::parse(columns_json, ec);
  if (ec || !parsed.is_array())
    return out;
  for (const auto& c : parsed.get_array()) {
    if (!c.is_object())
      continue;
    exafront::column column;
    if (auto name = c.get_object().if_contains("name"); name && name->is_string())
      column.name = std::string(name->get_string());
    if (auto type = c.get_object().if_contains("dataType"); type && type->is_object())
      column.data_type = type->get_object();
    out.push_back(std::move(column));
  }
  return out;
}

exasol::attributes wanted_attributes(const exafront::attribute_set& client) {
  exasol::attributes wanted;
  const auto& all = client.all();
  for (const char* name : connection_attributes)
    if (auto v = all.if_contains(name))
      if (auto value = attribute_value(*v))
        wanted[name] = std::move(*value);
  return wanted;
}

void take_attributes(const exasol::attributes& after, bool transaction_open,
                     exafront::attribute_set& client) {
  json::object changed;
  for (const char* name : connection_attributes)
    if (auto it = after.find(name); it != after.end()) {
      if (!exasol::is_null(it->second))
        changed[name] = plain_json(it->second);
      else if (std::string_view(name) == "currentSchema")
        changed[name] = ""; // no schema open
    }
  client.apply(changed); // the connection's values are valid ones
  client.set_open_transaction(transaction_open);
}

} // namespace exapool::proxy

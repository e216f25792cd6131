#include "integration/exasol/request.hpp"

#include "integration/exasol/errors.hpp"

#include <boost/json.hpp>

namespace exasol::request {
namespace json = boost::json;
namespace {

json::value to_json(const value& v) {
  struct visitor {
    json::value operator()(std::monostate) const { return nullptr; }
    json::value operator()(bool b) const { return b; }
    json::value operator()(std::int64_t i) const { return i; }
    json::value operator()(double d) const { return d; }
    json::value operator()(const decimal& d) const { return json::string(d.text); }
    json::value operator()(const std::string& s) const { return json::string(s); }
  };
  return std::visit(visitor{}, v);
}

json::object to_json(const attributes& attrs) {
  json::object out;
  for (const auto& [name, v] : attrs)
    out[name] = to_json(v);
  return out;
}

std::string command(std::string_view name) {
  return json::serialize(json::object{{"command", name}});
}

} // namespace

std::string login(int protocol_version) {
  return json::serialize(json::object{{"command", "login"}, {"protocolVersion", protocol_version}});
}

std::string login_token(int protocol_version) {
  return json::serialize(
      json::object{{"command", "loginToken"}, {"protocolVersion", protocol_version}});
}

std::string login_credentials(const credentials& c) {
  json::object msg;
  if (!c.access_token.empty()) {
    msg["accessToken"] = c.access_token;
  } else if (!c.refresh_token.empty()) {
    msg["refreshToken"] = c.refresh_token;
  } else {
    msg["username"] = c.username;
    msg["password"] = c.encrypted_password;
  }
  msg["useCompression"] = c.use_compression;
  const auto& id = c.identity;
  msg["clientName"] = id.client_name;
  msg["driverName"] = id.driver_name;
  msg["clientOs"] = id.client_os;
  msg["clientOsUsername"] = id.client_os_username;
  msg["clientLanguage"] = id.client_language;
  msg["clientVersion"] = id.client_version;
  msg["clientRuntime"] = id.client_runtime;
  msg["attributes"] = to_json(c.initial_attributes);
  return json::serialize(msg);
}

std::string execute(std::string_view sql_text) {
  return json::serialize(json::object{{"command", "execute"}, {"sqlText", sql_text}});
}

std::string execute_batch(const std::vector<std::string>& sql_texts) {
  json::array texts;
  for (const auto& t : sql_texts)
    texts.emplace_back(t);
  return json::serialize(json::object{{"command", "executeBatch"}, {"sqlTexts", texts}});
}

std::string fetch(std::int64_t handle, std::uint64_t start_position, std::uint64_t num_bytes) {
  return json::serialize(json::object{{"command", "fetch"},
                                      {"resultSetHandle", handle},
                                      {"startPosition", start_position},
                                      {"numBytes", num_bytes}});
}

std::string close_result_set(std::int64_t handle) {
  return json::serialize(
      json::object{{"command", "closeResultSet"}, {"resultSetHandles", json::array{handle}}});
}

std::string create_prepared_statement(std::string_view sql_text) {
  return json::serialize(
      json::object{{"command", "createPreparedStatement"}, {"sqlText", sql_text}});
}

std::string execute_prepared_statement(const prepared_statement& statement,
                                       const std::vector<std::vector<value>>& rows) {
  const std::size_t num_columns = statement.parameters.size();
  json::array columns;
  if (!statement.parameter_columns_json.empty())
    columns = json::parse(statement.parameter_columns_json).as_array();
  json::array data(num_columns, json::array{});
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != num_columns)
      throw error(error_kind::config, "prepared statement row " + std::to_string(r) + " has " +
                                          std::to_string(rows[r].size()) + " values for " +
                                          std::to_string(num_columns) + " parameters");
    for (std::size_t c = 0; c < num_columns; ++c)
      data[c].as_array().push_back(to_json(rows[r][c]));
  }
  return json::serialize(json::object{{"command", "executePreparedStatement"},
                                      {"statementHandle", statement.handle},
                                      {"numColumns", num_columns},
                                      {"numRows", rows.size()},
                                      {"columns", columns},
                                      {"data", data}});
}

std::string execute_prepared_statement_raw(std::int64_t handle, std::string_view columns_json,
                                           std::string_view data_json, std::uint64_t num_rows) {
  auto parse_array = [](std::string_view text, const char* what) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_array())
      throw error(error_kind::config,
                  std::string("prepared statement ") + what + " is not a JSON array");
    return std::move(v.as_array());
  };
  json::array columns =
      columns_json.empty() ? json::array{} : parse_array(columns_json, "parameter columns");
  if (!data_json.empty()) {
    auto data = parse_array(data_json, "data");
    if (data.size() != columns.size())
      throw error(error_kind::config, "prepared statement data has " + std::to_string(data.size()) +
                                          " columns for " + std::to_string(columns.size()) +
                                          " parameters");
    for (std::size_t c = 0; c < data.size(); ++c)
      if (!data[c].is_array() || data[c].as_array().size() != num_rows)
        throw error(error_kind::config, "prepared statement data column " + std::to_string(c) +
                                            " does not hold " + std::to_string(num_rows) +
                                            " values");
  } else if (!columns.empty() && num_rows > 0) {
    throw error(error_kind::config, "prepared statement data missing for " +
                                        std::to_string(columns.size()) + " parameters");
  }
  auto text = json::serialize(json::object{{"command", "executePreparedStatement"},
                                           {"statementHandle", handle},
                                           {"numColumns", columns.size()},
                                           {"numRows", num_rows},
                                           {"columns", columns}});
  // The data goes in as it came: checked above, never re-encoded.
  text.pop_back(); // the object's closing brace
  text += ",\"data\":";
  text += data_json.empty() ? std::string_view("[]") : data_json;
  text += '}';
  return text;
}

std::string close_prepared_statement(std::int64_t handle) {
  return json::serialize(
      json::object{{"command", "closePreparedStatement"}, {"statementHandle", handle}});
}

std::string get_attributes() {
  return command("getAttributes");
}

std::string set_attributes(const attributes& attrs) {
  return json::serialize(
      json::object{{"command", "setAttributes"}, {"attributes", to_json(attrs)}});
}

std::string abort_query() {
  return command("abortQuery");
}

std::string disconnect() {
  return command("disconnect");
}

} // namespace exasol::request

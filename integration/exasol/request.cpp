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

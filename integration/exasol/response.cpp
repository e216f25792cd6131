#include "integration/exasol/response.hpp"

#include "integration/exasol/errors.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>

namespace exasol::response {
namespace json = boost::json;
namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw error(error_kind::protocol, "protocol error: server sent " + what);
}

// Parses the envelope (protocol reference §3): status ok -> the root object; status error ->
// throws the server's exception. The storage keeps big results cheap to build and free.
json::value parse_json(std::string_view text, json::storage_ptr storage) {
  json::error_code ec;
  json::value root = json::parse(text, ec, std::move(storage));
  if (ec)
    malformed("malformed JSON (" + ec.message() + ")");
  return root;
}

// A per-thread scratch block for the JSON tree of one response. Reusing it spares the page
// faults of fresh multi-megabyte allocations on every big result; blocks above the cap are
// not kept, so an idle thread holds at most that much.
constexpr std::size_t scratch_cap = std::size_t(16) << 20;

struct scratch_block {
  std::unique_ptr<unsigned char[]> bytes;
  std::size_t size = 0;
  bool in_use = false; // a nested parse on the same thread falls back to the heap
};

thread_local scratch_block scratch;

class scratch_lease {
public:
  explicit scratch_lease(std::size_t wanted) {
    if (scratch.in_use || wanted > scratch_cap || wanted < 4096)
      return;
    if (scratch.size < wanted) {
      scratch.bytes.reset(new unsigned char[wanted]);
      scratch.size = wanted;
    }
    scratch.in_use = leased_ = true;
  }
  ~scratch_lease() {
    if (leased_)
      scratch.in_use = false;
  }
  scratch_lease(const scratch_lease&) = delete;
  scratch_lease& operator=(const scratch_lease&) = delete;
  unsigned char* data() const { return leased_ ? scratch.bytes.get() : nullptr; }
  std::size_t size() const { return leased_ ? scratch.size : 0; }

private:
  bool leased_ = false;
};

struct envelope {
  // The tree of a result takes roughly four times the text (16-byte values plus strings).
  explicit envelope(std::string_view text)
      : lease(text.size() * 4), storage(lease.data(), lease.size()),
        root(parse_json(text, &storage)) {
    check();
  }
  void check();

  scratch_lease lease;
  json::monotonic_resource storage; // declared before root: it must outlive it
  json::value root;
  const json::object* object = nullptr;
  const json::object* data = nullptr; // responseData, when present
};

void envelope::check() {
  envelope& env = *this;
  env.object = env.root.if_object();
  if (env.object == nullptr)
    malformed("a message that is not a JSON object");
  auto status = env.object->find("status");
  if (status == env.object->end() || !status->value().is_string())
    malformed("a response without a string 'status'");
  if (status->value().get_string() == "error") {
    auto exception = env.object->find("exception");
    const json::object* ex =
        exception == env.object->end() ? nullptr : exception->value().if_object();
    if (ex == nullptr)
      malformed("an error response without an 'exception' object");
    auto text_it = ex->find("text");
    auto code_it = ex->find("sqlCode");
    std::string message = text_it != ex->end() && text_it->value().is_string()
                              ? std::string(text_it->value().get_string())
                              : std::string("(no text)");
    std::string code = code_it != ex->end() && code_it->value().is_string()
                           ? std::string(code_it->value().get_string())
                           : std::string("00000");
    throw error(error_kind::server, "[" + code + "] " + message, code);
  }
  if (status->value().get_string() != "ok")
    malformed("an unknown status '" + std::string(status->value().get_string()) + "'");
  auto data = env.object->find("responseData");
  if (data != env.object->end()) {
    env.data = data->value().if_object();
    if (env.data == nullptr)
      malformed("a 'responseData' that is not an object");
  }
}

const json::object& need_data(const envelope& env, const char* command) {
  if (env.data == nullptr)
    malformed(std::string("a ") + command + " response without 'responseData'");
  return *env.data;
}

const json::value* find(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->value();
}

std::int64_t need_int(const json::object& obj, std::string_view key, const char* where) {
  const json::value* v = find(obj, key);
  if (v != nullptr && v->is_int64())
    return v->get_int64();
  if (v != nullptr && v->is_uint64() && v->get_uint64() <= std::uint64_t(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  malformed(std::string(where) + " without an integer '" + std::string(key) + "'");
}

std::int64_t opt_int(const json::object& obj, std::string_view key, const char* where,
                     std::int64_t fallback = 0) {
  return find(obj, key) == nullptr || find(obj, key)->is_null() ? fallback
                                                                : need_int(obj, key, where);
}

std::string opt_string(const json::object& obj, std::string_view key) {
  const json::value* v = find(obj, key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::array& need_array(const json::object& obj, std::string_view key, const char* where) {
  const json::value* v = find(obj, key);
  if (v == nullptr || !v->is_array())
    malformed(std::string(where) + " without an array '" + std::string(key) + "'");
  return v->get_array();
}

const json::object& need_object(const json::value& v, const char* what) {
  if (!v.is_object())
    malformed(std::string(what) + " that is not an object");
  return v.get_object();
}

std::string double_text(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(d);
}

// A JSON scalar as a loosely typed value (attributes and unknown column types).
value plain_value(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null:
    return std::monostate{};
  case json::kind::bool_:
    return v.get_bool();
  case json::kind::int64:
    return v.get_int64();
  case json::kind::uint64:
    return decimal{std::to_string(v.get_uint64())};
  case json::kind::double_:
    return v.get_double();
  case json::kind::string:
    return std::string(v.get_string());
  default:
    return json::serialize(v); // arrays or objects: kept as their JSON text
  }
}

void merge_attributes(const json::object& root, attributes& out) {
  const json::value* attrs = find(root, "attributes");
  if (attrs == nullptr || attrs->is_null())
    return;
  for (const auto& [key, v] : need_object(*attrs, "an 'attributes'"))
    out[std::string(key)] = plain_value(v);
}

// How the values of one column are read, decided once per column from its dataType.
enum class reader { integer, exact_decimal, floating, boolean, text, loose };

reader reader_for(const column& c) {
  if (c.type == "DECIMAL")
    return c.precision <= 18 && c.scale == 0 ? reader::integer : reader::exact_decimal;
  if (c.type == "DOUBLE")
    return reader::floating;
  if (c.type == "BOOLEAN")
    return reader::boolean;
  if (c.type == "CHAR" || c.type == "VARCHAR" || c.type == "DATE" ||
      c.type.rfind("TIMESTAMP", 0) == 0 || c.type.rfind("INTERVAL", 0) == 0 ||
      c.type == "GEOMETRY" || c.type == "HASHTYPE")
    return reader::text;
  return reader::loose;
}

[[noreturn]] void wrong_type(const column& c, const json::value& v) {
  malformed("a " + std::string(json::to_string(v.kind())) + " value in " + c.type + " column '" +
            c.name + "'");
}

value read_value(reader how, const column& c, const json::value& v) {
  if (v.is_null())
    return std::monostate{};
  switch (how) {
  case reader::integer:
    if (v.is_int64())
      return v.get_int64();
    if (v.is_string()) { // tolerated: an integer sent as text
      auto s = v.get_string();
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc{} && end == s.data() + s.size())
        return i;
    }
    wrong_type(c, v);
  case reader::exact_decimal:
    if (v.is_string())
      return decimal{std::string(v.get_string())};
    if (v.is_int64())
      return decimal{std::to_string(v.get_int64())};
    if (v.is_uint64())
      return decimal{std::to_string(v.get_uint64())};
    if (v.is_double())
      return decimal{double_text(v.get_double())};
    wrong_type(c, v);
  case reader::floating:
    if (v.is_double())
      return v.get_double();
    if (v.is_int64())
      return static_cast<double>(v.get_int64());
    if (v.is_uint64())
      return static_cast<double>(v.get_uint64());
    wrong_type(c, v);
  case reader::boolean:
    if (v.is_bool())
      return v.get_bool();
    wrong_type(c, v);
  case reader::text:
    if (v.is_string())
      return std::string(v.get_string());
    wrong_type(c, v);
  case reader::loose:
    if (v.is_array() || v.is_object())
      wrong_type(c, v);
    return plain_value(v);
  }
  wrong_type(c, v);
}

column parse_column(const json::value& v) {
  const auto& obj = need_object(v, "a column");
  column c;
  c.name = opt_string(obj, "name");
  const json::value* type = find(obj, "dataType");
  if (type == nullptr)
    malformed("column '" + c.name + "' without a 'dataType'");
  const auto& t = need_object(*type, "a 'dataType'");
  const json::value* name = find(t, "type");
  if (name == nullptr || !name->is_string())
    malformed("column '" + c.name + "' without a string dataType.type");
  c.type = std::string(name->get_string());
  c.precision = static_cast<int>(opt_int(t, "precision", "a dataType"));
  c.scale = static_cast<int>(opt_int(t, "scale", "a dataType"));
  c.size = opt_int(t, "size", "a dataType");
  c.character_set = opt_string(t, "characterSet");
  const json::value* local = find(t, "withLocalTimeZone");
  c.with_local_time_zone = local != nullptr && local->is_bool() && local->get_bool();
  c.fraction = static_cast<int>(opt_int(t, "fraction", "a dataType"));
  c.srid = static_cast<int>(opt_int(t, "srid", "a dataType"));
  return c;
}

std::vector<column> parse_columns(const json::array& columns) {
  std::vector<column> out;
  out.reserve(columns.size());
  for (const auto& c : columns)
    out.push_back(parse_column(c));
  return out;
}

// Appends the column-major `data` (expected_rows per column) to `into`.
void append_rows(const json::value* data, std::size_t expected_rows, result_set& into) {
  if (expected_rows == 0 && (data == nullptr || data->is_null()))
    return; // Exasol omits `data` for zero rows
  if (data == nullptr || !data->is_array())
    malformed("rows without a 'data' array");
  const auto& columns = data->get_array();
  if (columns.size() != into.columns.size())
    malformed("'data' with " + std::to_string(columns.size()) + " columns for " +
              std::to_string(into.columns.size()) + " result columns");
  into.data.resize(into.columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const auto* values = columns[c].if_array();
    if (values == nullptr || values->size() != expected_rows)
      malformed("a 'data' column that does not hold " + std::to_string(expected_rows) + " rows");
    const column& meta = into.columns[c];
    reader how = reader_for(meta);
    auto& out = into.data[c];
    // Grow by the rows that arrived, never by the count a server claims (a header may announce
    // 4e9 rows and send two); doubling keeps a long fetch loop linear.
    std::size_t needed = out.size() + values->size();
    if (out.capacity() < needed)
      out.reserve(std::max(needed, 2 * out.capacity()));
    for (const auto& v : *values)
      out.push_back(read_value(how, meta, v));
  }
}

result_set parse_result_set(const json::object& obj) {
  result_set rs;
  rs.columns = parse_columns(need_array(obj, "columns", "a resultSet"));
  auto num_columns = need_int(obj, "numColumns", "a resultSet");
  if (num_columns != static_cast<std::int64_t>(rs.columns.size()))
    malformed("a resultSet whose numColumns differs from its columns");
  auto num_rows = need_int(obj, "numRows", "a resultSet");
  auto in_message = opt_int(obj, "numRowsInMessage", "a resultSet");
  rs.handle = opt_int(obj, "resultSetHandle", "a resultSet");
  if (num_rows < 0 || in_message < 0 || in_message > num_rows)
    malformed("a resultSet with inconsistent row counts");
  if (rs.handle <= 0 && in_message != num_rows)
    malformed("a resultSet without a handle that does not carry all its rows");
  rs.total_rows = static_cast<std::uint64_t>(num_rows);
  rs.data.resize(rs.columns.size());
  append_rows(find(obj, "data"), static_cast<std::size_t>(in_message), rs);
  return rs;
}

result parse_result(const json::value& v) {
  const auto& obj = need_object(v, "a result");
  const json::value* type = find(obj, "resultType");
  if (type == nullptr || !type->is_string())
    malformed("a result without a string 'resultType'");
  result r;
  if (type->get_string() == "rowCount") {
    r.type = result::kind::row_count;
    r.row_count = need_int(obj, "rowCount", "a rowCount result");
  } else if (type->get_string() == "resultSet") {
    r.type = result::kind::result_set;
    const json::value* rs = find(obj, "resultSet");
    if (rs == nullptr)
      malformed("a resultSet result without 'resultSet'");
    r.rows = parse_result_set(need_object(*rs, "a 'resultSet'"));
  } else {
    malformed("an unknown resultType '" + std::string(type->get_string()) + "'");
  }
  return r;
}

std::vector<result> parse_result_list(const json::object& data, const char* where) {
  const auto& list = need_array(data, "results", where);
  auto count = opt_int(data, "numResults", where, static_cast<std::int64_t>(list.size()));
  if (count != static_cast<std::int64_t>(list.size()))
    malformed(std::string(where) + " whose numResults differs from its results");
  std::vector<result> out;
  out.reserve(list.size());
  for (const auto& r : list)
    out.push_back(parse_result(r));
  return out;
}

} // namespace

login_key parse_login_key(std::string_view text) {
  envelope env(text);
  const auto& data = need_data(env, "login");
  login_key key{opt_string(data, "publicKeyPem"), opt_string(data, "publicKeyModulus"),
                opt_string(data, "publicKeyExponent")};
  if (key.pem.empty())
    malformed("a login response without 'publicKeyPem'");
  return key;
}

session_info parse_session_info(std::string_view text) {
  envelope env(text);
  const auto& data = need_data(env, "login");
  session_info info;
  const json::value* id = find(data, "sessionId");
  if (id != nullptr && id->is_uint64())
    info.session_id = id->get_uint64();
  else if (id != nullptr && id->is_int64() && id->get_int64() >= 0)
    info.session_id = static_cast<std::uint64_t>(id->get_int64());
  else
    malformed("a login response without an integer 'sessionId'");
  info.protocol_version = static_cast<int>(need_int(data, "protocolVersion", "a login response"));
  info.release_version = opt_string(data, "releaseVersion");
  info.database_name = opt_string(data, "databaseName");
  info.product_name = opt_string(data, "productName");
  info.identifier_quote_string = opt_string(data, "identifierQuoteString");
  info.time_zone = opt_string(data, "timeZone");
  info.time_zone_behavior = opt_string(data, "timeZoneBehavior");
  info.max_data_message_size = opt_int(data, "maxDataMessageSize", "a login response");
  info.max_identifier_length = opt_int(data, "maxIdentifierLength", "a login response");
  info.max_varchar_length = opt_int(data, "maxVarcharLength", "a login response");
  return info;
}

attributes parse_status(std::string_view text) {
  envelope env(text);
  attributes changed;
  merge_attributes(*env.object, changed);
  return changed;
}

results_response parse_results(std::string_view text) {
  envelope env(text);
  results_response out;
  out.results = parse_result_list(need_data(env, "execute"), "an execute response");
  merge_attributes(*env.object, out.changed);
  return out;
}

fetch_response parse_fetch_into(std::string_view text, result_set& into) {
  envelope env(text);
  const auto& data = need_data(env, "fetch");
  auto rows = need_int(data, "numRows", "a fetch response");
  if (rows < 0 || into.row_count() + static_cast<std::uint64_t>(rows) > into.total_rows)
    malformed("a fetch chunk beyond the end of the result set");
  append_rows(find(data, "data"), static_cast<std::size_t>(rows), into);
  fetch_response out;
  out.rows = static_cast<std::size_t>(rows);
  merge_attributes(*env.object, out.changed);
  return out;
}

prepared_response parse_prepared(std::string_view text) {
  envelope env(text);
  const auto& data = need_data(env, "createPreparedStatement");
  prepared_response out;
  out.statement.handle = need_int(data, "statementHandle", "a createPreparedStatement response");
  const json::value* params = find(data, "parameterData");
  if (params != nullptr && !params->is_null()) {
    const auto& p = need_object(*params, "a 'parameterData'");
    const auto& columns = need_array(p, "columns", "a 'parameterData'");
    out.statement.parameters = parse_columns(columns);
    out.statement.parameter_columns_json = json::serialize(columns);
  }
  if (find(data, "results") != nullptr) {
    out.statement.results = parse_result_list(data, "a createPreparedStatement response");
    const auto& list = need_array(data, "results", "a createPreparedStatement response");
    for (std::size_t i = 0; i < out.statement.results.size(); ++i) {
      if (!out.statement.results[i].is_result_set())
        continue;
      // parse_result_list checked the shape of a result set already.
      const auto& rs =
          need_object(*find(need_object(list[i], "a result"), "resultSet"), "a 'resultSet'");
      out.statement.result_columns_json = json::serialize(need_array(rs, "columns", "a resultSet"));
      break;
    }
  }
  merge_attributes(*env.object, out.changed);
  return out;
}

} // namespace exasol::response

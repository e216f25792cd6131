// The protocol commands (integration/exasol/protocol.hpp) driven with canned server replies, no
// sockets: each test plays the server, checks every request a command sends and feeds it JSON.
#include "integration/exasol/codec.hpp"
#include "integration/exasol/protocol.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace exasol;
namespace json = boost::json;
namespace protocol = exasol::protocol;

namespace {

const std::string secret = "Sup3r-Secret-Pa55word";

json::object request_of(const protocol::step& s) {
  REQUIRE_FALSE(s.done);
  return json::parse(s.request).as_object();
}

std::string command_of(const protocol::step& s) {
  return std::string(request_of(s).at("command").as_string());
}

std::string ok(json::object data = {}, json::object attributes = {}) {
  json::object msg{{"status", "ok"}};
  if (!data.empty())
    msg["responseData"] = std::move(data);
  if (!attributes.empty())
    msg["attributes"] = std::move(attributes);
  return json::serialize(msg);
}

std::string server_error(const std::string& code, const std::string& text) {
  return json::serialize(
      json::object{{"status", "error"}, {"exception", {{"sqlCode", code}, {"text", text}}}});
}

std::string key_reply(const codec::rsa_key_pair& key) {
  return ok({{"publicKeyPem", key.public_pem()},
             {"publicKeyModulus", key.modulus_hex()},
             {"publicKeyExponent", key.exponent_hex()}});
}

std::string session_reply() {
  return ok({{"sessionId", 4242}, {"protocolVersion", 3}, {"releaseVersion", "8.0.0"}});
}

connection_options login_options() {
  connection_options o;
  o.user = "sys";
  o.password = secret;
  o.schema = "S";
  o.autocommit = false;
  return o;
}

// A DECIMAL column result set of `total` rows, the first `inline_rows` of them inline.
json::object wire_result_set(std::int64_t handle, int total, int inline_rows) {
  json::array column;
  for (int i = 0; i < inline_rows; ++i)
    column.push_back(i);
  json::object rs{
      {"numColumns", 1},
      {"numRows", total},
      {"numRowsInMessage", inline_rows},
      {"columns",
       json::array{
           {{"name", "ID"}, {"dataType", {{"type", "DECIMAL"}, {"precision", 18}, {"scale", 0}}}}}},
      {"data", json::array{column}}};
  if (handle > 0)
    rs["resultSetHandle"] = handle;
  return rs;
}

std::string results_reply(json::array results) {
  auto n = results.size();
  return ok({{"numResults", n}, {"results", std::move(results)}});
}

json::object rs_result(json::object rs) {
  return {{"resultType", "resultSet"}, {"resultSet", std::move(rs)}};
}

std::string fetch_reply(int from, int rows) {
  json::array column;
  for (int i = 0; i < rows; ++i)
    column.push_back(from + i);
  return ok({{"numRows", rows}, {"data", json::array{column}}});
}

error_kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const error& e) {
    CHECK(std::string(e.what()).find(secret) == std::string::npos);
    return e.kind();
  }
  FAIL("no error");
  return error_kind::server;
}

} // namespace

TEST_CASE("login: key, encrypted credentials, session, attributes", "[protocol]") {
  auto key = codec::rsa_key_pair::generate(1024);
  protocol::session_state st;
  auto opts = login_options();
  opts.compression = true;
  protocol::login_command cmd(opts);

  auto s = cmd.start(st);
  CHECK(command_of(s) == "login");
  CHECK(request_of(s).at("protocolVersion").as_int64() == 3);

  s = cmd.on_response(st, key_reply(key));
  auto creds = request_of(s);
  CHECK(creds.at("username").as_string() == "sys");
  std::string encrypted(creds.at("password").as_string());
  CHECK(encrypted != secret);
  CHECK(s.request.find(secret) == std::string::npos);
  CHECK(key.decrypt_base64(encrypted) == secret);
  CHECK(creds.at("useCompression").as_bool());
  CHECK_FALSE(st.compressed); // the credentials themselves go uncompressed

  s = cmd.on_response(st, session_reply());
  CHECK(command_of(s) == "getAttributes");
  CHECK(st.info.session_id == 4242);
  CHECK(st.compressed); // getAttributes is the first compressed request
  CHECK(st.current_schema() == "S");

  s = cmd.on_response(st, ok({}, {{"currentSchema", "OTHER"}, {"autocommit", true}}));
  CHECK(s.done);
  CHECK(st.current_schema() == "OTHER");
  CHECK(st.autocommit());
}

TEST_CASE("login: server errors become auth, a long password config", "[protocol]") {
  auto key = codec::rsa_key_pair::generate(1024);
  protocol::session_state st;

  SECTION("rejected credentials") {
    protocol::login_command cmd(login_options());
    cmd.start(st);
    cmd.on_response(st, key_reply(key));
    try {
      cmd.on_response(st, server_error("08004", "Connection exception - authentication failed."));
      FAIL("accepted");
    } catch (const error& e) {
      CHECK(e.kind() == error_kind::auth);
      CHECK(e.sql_code() == "08004");
      CHECK(std::string(e.what()).rfind("login failed: [08004]", 0) == 0);
    }
  }
  SECTION("an error instead of the key") {
    protocol::login_command cmd(login_options());
    cmd.start(st);
    CHECK(kind_of([&] { cmd.on_response(st, server_error("42000", "no")); }) == error_kind::auth);
  }
  SECTION("a password too long for the key") {
    auto opts = login_options();
    opts.password = std::string(200, 'x') + secret;
    protocol::login_command cmd(opts);
    cmd.start(st);
    CHECK(kind_of([&] { cmd.on_response(st, key_reply(key)); }) == error_kind::config);
  }
  SECTION("a key OpenSSL cannot read is a protocol violation") {
    protocol::login_command cmd(login_options());
    cmd.start(st);
    CHECK_THROWS_AS(cmd.on_response(st, ok({{"publicKeyPem", "not a key"}})), protocol::violation);
  }
  SECTION("an error after the session exists keeps its kind") {
    protocol::login_command cmd(login_options());
    cmd.start(st);
    cmd.on_response(st, key_reply(key));
    cmd.on_response(st, session_reply());
    CHECK(kind_of([&] { cmd.on_response(st, server_error("42000", "x")); }) == error_kind::server);
  }
}

TEST_CASE("loginToken sends the token and no password", "[protocol]") {
  protocol::session_state st;
  auto opts = login_options();
  opts.access_token = "tok";
  protocol::login_command cmd(opts);
  auto s = cmd.start(st);
  CHECK(command_of(s) == "loginToken");
  s = cmd.on_response(st, ok());
  CHECK(request_of(s).at("accessToken").as_string() == "tok");
  CHECK(request_of(s).count("password") == 0);
}

TEST_CASE("a query fetches every handle until all rows are in, then closes it", "[protocol]") {
  protocol::session_state st;
  protocol::result_limits limits{0, 0, 1000};
  auto cmd = protocol::query_command::execute("SELECT ID FROM T", limits);
  auto s = cmd.start(st);
  CHECK(s.how == protocol::wait::query);
  CHECK(command_of(s) == "execute");
  CHECK(st.statements_since_end == 1);

  s = cmd.on_response(st, results_reply({rs_result(wire_result_set(7, 5, 2))}));
  CHECK(st.open_handles == std::set<std::int64_t>{7});
  CHECK(s.how == protocol::wait::reply); // fetches have plain deadlines
  auto fetch = request_of(s);
  CHECK(fetch.at("command").as_string() == "fetch");
  CHECK(fetch.at("resultSetHandle").as_int64() == 7);
  CHECK(fetch.at("startPosition").as_int64() == 2);
  CHECK(fetch.at("numBytes").as_int64() == 1000);

  s = cmd.on_response(st, fetch_reply(2, 2));
  CHECK(request_of(s).at("startPosition").as_int64() == 4);
  s = cmd.on_response(st, fetch_reply(4, 1));
  CHECK(command_of(s) == "closeResultSet");
  s = cmd.on_response(st, ok());
  CHECK(s.done);
  CHECK(st.open_handles.empty());

  auto results = cmd.take_results();
  REQUIRE(results.size() == 1);
  REQUIRE(results[0].rows.row_count() == 5);
  for (std::size_t r = 0; r < 5; ++r)
    CHECK(std::get<std::int64_t>(results[0].rows.at(r, 0)) == std::int64_t(r));
}

TEST_CASE("an empty fetch chunk before the end is a protocol violation", "[protocol]") {
  protocol::session_state st;
  auto cmd = protocol::query_command::execute("SELECT 1", {0, 0, 1000});
  cmd.start(st);
  cmd.on_response(st, results_reply({rs_result(wire_result_set(7, 5, 0))}));
  CHECK_THROWS_AS(cmd.on_response(st, fetch_reply(0, 0)), protocol::violation);
}

TEST_CASE("result_too_large after a fetch closes the handle, then throws", "[protocol]") {
  protocol::session_state st;
  // Room for the first result (2 inline rows) but not for the second's first chunk.
  std::uint64_t limit = 3 * sizeof(value);
  auto cmd = protocol::query_command::execute("SELECT", {0, limit, 1000});
  cmd.start(st);
  auto s = cmd.on_response(st, results_reply({rs_result(wire_result_set(3, 2, 2)),
                                              rs_result(wire_result_set(4, 50, 0))}));
  CHECK(request_of(s).at("resultSetHandles").as_array().at(0).as_int64() == 3);
  s = cmd.on_response(st, ok());
  CHECK(st.open_handles == std::set<std::int64_t>{4});
  CHECK(command_of(s) == "fetch");
  s = cmd.on_response(st, fetch_reply(0, 4));
  REQUIRE(command_of(s) == "closeResultSet");
  CHECK(request_of(s).at("resultSetHandles").as_array().at(0).as_int64() == 4);
  CHECK(st.open_handles == std::set<std::int64_t>{4}); // open until the server confirms
  CHECK(kind_of([&] { cmd.on_response(st, ok()); }) == error_kind::result_too_large);
  CHECK(st.open_handles.empty());
}

TEST_CASE("result_too_large: the handles are closed before the error", "[protocol]") {
  protocol::session_state st;
  auto cmd = protocol::query_command::execute("SELECT", {10, 0, 1000});
  cmd.start(st);
  // Both announce more rows than max_result_rows: the first check closes both handles.
  auto s = cmd.on_response(st, results_reply({rs_result(wire_result_set(3, 20, 0)),
                                              rs_result(wire_result_set(4, 50, 0))}));
  CHECK(st.open_handles == std::set<std::int64_t>{3, 4});
  REQUIRE(command_of(s) == "closeResultSet");
  CHECK(request_of(s).at("resultSetHandles").as_array().at(0).as_int64() == 3);
  s = cmd.on_response(st, ok());
  CHECK(request_of(s).at("resultSetHandles").as_array().at(0).as_int64() == 4);
  // The server no longer knows handle 4: closed all the same, and then the error.
  try {
    cmd.on_response(st, server_error("07000", "unknown handle"));
    FAIL("no error");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::result_too_large);
    CHECK(std::string(e.what()) ==
          "result too large: the server announced 20 rows, above max_result_rows (10)");
  }
  CHECK(st.open_handles.empty());
}

TEST_CASE("a batch counts its statements and a COMMIT in it ends the count", "[protocol]") {
  protocol::session_state st;
  st.configured_autocommit = false;
  auto cmd = protocol::query_command::batch({"INSERT 1", "commit", "INSERT 2"}, {0, 0, 1000});
  auto s = cmd.start(st);
  auto texts = request_of(s).at("sqlTexts").as_array();
  CHECK(texts.size() == 3);
  CHECK(st.statements_since_end == 3);
  json::object count{{"resultType", "rowCount"}, {"rowCount", 1}};
  s = cmd.on_response(st, results_reply({count, count, count}));
  CHECK(s.done);
  CHECK(cmd.take_results().size() == 3);
  CHECK(st.statements_since_end == 1);
  CHECK(st.transaction_may_be_open());
}

TEST_CASE("a failed statement stays counted", "[protocol]") {
  protocol::session_state st;
  st.configured_autocommit = false;
  auto cmd = protocol::query_command::execute("COMMIT", {0, 0, 1000});
  cmd.start(st);
  CHECK(kind_of([&] { cmd.on_response(st, server_error("42000", "no")); }) == error_kind::server);
  CHECK(st.statements_since_end == 1);
}

TEST_CASE("set_attributes merges what was sent, then what the server reports", "[protocol]") {
  protocol::session_state st;
  st.attrs = {{"autocommit", true}, {"currentSchema", "A"}};
  auto cmd = protocol::set_attributes({{"autocommit", false}, {"currentSchema", "B"}});
  auto s = cmd.start(st);
  CHECK(command_of(s) == "setAttributes");
  s = cmd.on_response(st, ok({}, {{"currentSchema", "C"}}));
  CHECK(s.done);
  CHECK_FALSE(st.autocommit());
  CHECK(st.current_schema() == "C");
}

// The pool's dirty check compares the attributes with its baseline only when this version moved.
TEST_CASE("attrs_version counts new values, not repeated ones", "[protocol]") {
  protocol::session_state st;
  st.merge({{"autocommit", true}, {"currentSchema", "A"}});
  auto first = st.attrs_version;
  CHECK(first > 0);
  st.merge({{"autocommit", true}, {"currentSchema", "A"}}); // the server repeats itself
  CHECK(st.attrs_version == first);
  st.merge({});
  CHECK(st.attrs_version == first);
  st.merge({{"currentSchema", "B"}});
  CHECK(st.attrs_version > first);
  CHECK(st.current_schema() == "B");
  auto second = st.attrs_version;
  st.merge({{"queryTimeout", std::int64_t{5}}}); // a name not seen before
  CHECK(st.attrs_version > second);
}

TEST_CASE("prepare and close_leftovers track the open objects", "[protocol]") {
  protocol::session_state st;
  protocol::prepare_command prepare("SELECT ?");
  CHECK(command_of(prepare.start(st)) == "createPreparedStatement");
  CHECK(prepare.on_response(st, ok({{"statementHandle", 11}})).done);
  CHECK(prepare.take_statement().handle == 11);
  st.open_handles = {5};
  CHECK(st.open_statements == std::set<std::int64_t>{11});

  protocol::close_leftovers_command leftovers;
  auto s = leftovers.start(st);
  CHECK(command_of(s) == "closeResultSet");
  s = leftovers.on_response(st, server_error("07000", "gone")); // gone already: closed
  CHECK(command_of(s) == "closePreparedStatement");
  CHECK(request_of(s).at("statementHandle").as_int64() == 11);
  CHECK(leftovers.on_response(st, ok()).done);
  CHECK(st.open_handles.empty());
  CHECK(st.open_statements.empty());

  // Nothing left: nothing to send.
  protocol::close_leftovers_command none;
  CHECK(none.start(st).done);
}

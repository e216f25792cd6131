#include "integration/exasol/errors.hpp"
#include "integration/exasol/request.hpp"
#include "integration/exasol/response.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace exasol;
namespace json = boost::json;

namespace {

error_kind kind_of_results(const std::string& text) {
  try {
    response::parse_results(text);
  } catch (const error& e) {
    return e.kind();
  }
  FAIL("accepted: " << text);
  return error_kind::server;
}

std::string one_result_set(const std::string& columns, const std::string& data, int rows,
                           const std::string& extra = "") {
  return R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",)"
         R"("resultSet":{)" +
         extra + R"("numColumns":)" + std::to_string(json::parse(columns).as_array().size()) +
         R"(,"numRows":)" + std::to_string(rows) + R"(,"numRowsInMessage":)" +
         std::to_string(rows) + R"(,"columns":)" + columns +
         (data.empty() ? "" : R"(,"data":)" + data) + "}}]}}";
}

const std::string int_col =
    R"([{"name":"ID","dataType":{"type":"DECIMAL","precision":18,"scale":0}}])";

} // namespace

TEST_CASE("response parses a result set of every value type", "[response]") {
  std::string columns = R"([
    {"name":"I","dataType":{"type":"DECIMAL","precision":18,"scale":0}},
    {"name":"BIG","dataType":{"type":"DECIMAL","precision":36,"scale":0}},
    {"name":"D","dataType":{"type":"DECIMAL","precision":10,"scale":3}},
    {"name":"F","dataType":{"type":"DOUBLE"}},
    {"name":"B","dataType":{"type":"BOOLEAN"}},
    {"name":"C","dataType":{"type":"CHAR","size":5,"characterSet":"ASCII"}},
    {"name":"V","dataType":{"type":"VARCHAR","size":100,"characterSet":"UTF8"}},
    {"name":"DT","dataType":{"type":"DATE","size":4}},
    {"name":"TS","dataType":{"type":"TIMESTAMP","size":16,"withLocalTimeZone":false}},
    {"name":"TZ","dataType":{"type":"TIMESTAMP WITH LOCAL TIME ZONE","withLocalTimeZone":true}}])";
  std::string data = R"([[42,null],["12345678901234567890123",null],["3.141","-0.500"],
    [2.5,1],[true,false],["abc  ",null],["äöü😀",""],["2022-05-31",null],
    ["2021-12-31 23:59:59.999000",null],["2022-01-01 00:59:59.999000",null]])";
  auto r = response::parse_results(one_result_set(columns, data, 2));
  REQUIRE(r.results.size() == 1);
  REQUIRE(r.results[0].is_result_set());
  const auto& rs = r.results[0].rows;
  REQUIRE(rs.column_count() == 10);
  REQUIRE(rs.row_count() == 2);
  CHECK(rs.handle == 0);
  CHECK(rs.total_rows == 2);
  CHECK(std::get<std::int64_t>(rs.at(0, 0)) == 42);
  CHECK(is_null(rs.at(1, 0)));
  CHECK(std::get<decimal>(rs.at(0, 1)).text == "12345678901234567890123");
  CHECK(std::get<decimal>(rs.at(0, 2)).text == "3.141");
  CHECK(std::get<decimal>(rs.at(1, 2)).text == "-0.500");
  CHECK(std::get<double>(rs.at(0, 3)) == 2.5);
  CHECK(std::get<double>(rs.at(1, 3)) == 1.0); // an integral DOUBLE may arrive as 1
  CHECK(std::get<bool>(rs.at(0, 4)) == true);
  CHECK(std::get<bool>(rs.at(1, 4)) == false);
  CHECK(std::get<std::string>(rs.at(0, 5)) == "abc  ");
  CHECK(std::get<std::string>(rs.at(0, 6)) == "äöü😀");
  CHECK(std::get<std::string>(rs.at(0, 7)) == "2022-05-31");
  CHECK(std::get<std::string>(rs.at(0, 8)) == "2021-12-31 23:59:59.999000");
  CHECK(std::get<std::string>(rs.at(0, 9)) == "2022-01-01 00:59:59.999000");
  CHECK(rs.columns[2].precision == 10);
  CHECK(rs.columns[2].scale == 3);
  CHECK(rs.columns[6].size == 100);
  CHECK(rs.columns[6].character_set == "UTF8");
  CHECK(rs.columns[9].with_local_time_zone);
  CHECK(rs.column_index("V") == std::size_t(6));
  CHECK_FALSE(rs.column_index("nope"));
  CHECK(to_string(rs.at(0, 1)) == "12345678901234567890123");
  CHECK(to_string(rs.at(1, 0)) == "NULL");
  CHECK(to_string(rs.at(0, 4)) == "TRUE");
}

TEST_CASE("response keeps decimals distinct from varchar", "[response]") {
  std::string columns = R"([{"name":"D","dataType":{"type":"DECIMAL","precision":20,"scale":2}},
                            {"name":"V","dataType":{"type":"VARCHAR","size":10}}])";
  auto r = response::parse_results(one_result_set(columns, R"([["100.12"],["100.12"]])", 1));
  const auto& rs = r.results[0].rows;
  CHECK(std::holds_alternative<decimal>(rs.at(0, 0)));
  CHECK(std::holds_alternative<std::string>(rs.at(0, 1)));
  CHECK_FALSE(rs.at(0, 0) == rs.at(0, 1));
}

TEST_CASE("response with zero rows has no data", "[response]") {
  auto r = response::parse_results(one_result_set(int_col, "", 0));
  const auto& rs = r.results[0].rows;
  CHECK(rs.column_count() == 1);
  CHECK(rs.row_count() == 0);
  CHECK(rs.total_rows == 0);
}

TEST_CASE("response with a handle and no data waits for fetch", "[response]") {
  std::string text =
      R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",
      "resultSet":{"resultSetHandle":3,"numColumns":1,"numRows":2500,"numRowsInMessage":0,
      "columns":)" +
      int_col + "}}]}}";
  auto r = response::parse_results(text);
  auto& rs = r.results[0].rows;
  CHECK(rs.handle == 3);
  CHECK(rs.total_rows == 2500);
  CHECK(rs.row_count() == 0);

  auto chunk = response::parse_fetch_into(
      R"({"status":"ok","responseData":{"numRows":2,"data":[[1,2]]}})", rs);
  CHECK(chunk.rows == 2);
  CHECK(rs.row_count() == 2);
  CHECK(std::get<std::int64_t>(rs.at(1, 0)) == 2);
  // A chunk that overshoots numRows is a protocol error, as is one with the wrong column count.
  rs.total_rows = 3;
  try {
    response::parse_fetch_into(R"({"status":"ok","responseData":{"numRows":2,"data":[[3,4]]}})",
                               rs);
    FAIL("accepted a chunk beyond the end");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::protocol);
  }
  CHECK_THROWS_AS(response::parse_fetch_into(
                      R"({"status":"ok","responseData":{"numRows":1,"data":[[3],[4]]}})", rs),
                  error);
}

TEST_CASE("response with inline rows and a handle keeps the inline rows", "[response]") {
  std::string text =
      R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",
      "resultSet":{"resultSetHandle":9,"numColumns":1,"numRows":1200,"numRowsInMessage":2,
      "columns":)" +
      int_col + R"(,"data":[[7,8]]}}]}})";
  auto rs = response::parse_results(text).results[0].rows;
  CHECK(rs.handle == 9);
  CHECK(rs.row_count() == 2);
  CHECK(rs.total_rows == 1200);
}

TEST_CASE("response with several results and row counts", "[response]") {
  std::string text = R"({"status":"ok","attributes":{"autocommit":false},
    "responseData":{"numResults":3,"results":[
      {"resultType":"rowCount","rowCount":5},
      {"resultType":"resultSet","resultSet":{"numColumns":1,"numRows":1,"numRowsInMessage":1,
        "columns":)" +
                     int_col + R"(,"data":[[1]]}},
      {"resultType":"rowCount","rowCount":0}]}})";
  auto r = response::parse_results(text);
  REQUIRE(r.results.size() == 3);
  CHECK_FALSE(r.results[0].is_result_set());
  CHECK(r.results[0].row_count == 5);
  CHECK(r.results[1].is_result_set());
  CHECK(r.results[2].row_count == 0);
  CHECK(std::get<bool>(r.changed.at("autocommit")) == false);
}

TEST_CASE("response with status error is a server error with its sqlCode", "[response]") {
  std::string text =
      R"({"status":"error","exception":{"text":"object T not found [line 1, column 15]",
    "sqlCode":"42000"}})";
  try {
    response::parse_results(text);
    FAIL("no error");
  } catch (const error& e) {
    CHECK(e.kind() == error_kind::server);
    CHECK(e.sql_code() == "42000");
    CHECK(std::string(e.what()).find("object T not found") != std::string::npos);
  }
  CHECK_THROWS_AS(response::parse_status(text), error);
}

TEST_CASE("response malformed, truncated or wrongly typed is a protocol error", "[response]") {
  std::string good = one_result_set(int_col, "[[1,2]]", 2);
  CHECK_NOTHROW(response::parse_results(good));
  for (std::size_t cut : {std::size_t(0), std::size_t(1), good.size() / 2, good.size() - 1})
    CHECK(kind_of_results(good.substr(0, cut)) == error_kind::protocol);
  CHECK(kind_of_results("not json") == error_kind::protocol);
  CHECK(kind_of_results("[1,2]") == error_kind::protocol);
  CHECK(kind_of_results("{}") == error_kind::protocol);
  CHECK(kind_of_results(R"({"status":7})") == error_kind::protocol);
  CHECK(kind_of_results(R"({"status":"maybe"})") == error_kind::protocol);
  CHECK(kind_of_results(R"({"status":"error"})") == error_kind::protocol);
  CHECK(kind_of_results(R"({"status":"ok"})") == error_kind::protocol);
  CHECK(kind_of_results(R"({"status":"ok","responseData":[]})") == error_kind::protocol);
  CHECK(kind_of_results(R"({"status":"ok","responseData":{"results":{}}})") ==
        error_kind::protocol);
  CHECK(kind_of_results(R"({"status":"ok","responseData":{"numResults":2,"results":[]}})") ==
        error_kind::protocol);
  CHECK(kind_of_results(
            R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"x"}]}})") ==
        error_kind::protocol);
  CHECK(
      kind_of_results(
          R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"rowCount","rowCount":"5"}]}})") ==
      error_kind::protocol);
  // Wrong value types for the declared column types.
  CHECK(kind_of_results(one_result_set(int_col, R"([[1.5]])", 1)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(int_col, R"([["x"]])", 1)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(R"([{"name":"V","dataType":{"type":"VARCHAR"}}])",
                                       R"([[5]])", 1)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(R"([{"name":"F","dataType":{"type":"DOUBLE"}}])",
                                       R"([["1.5"]])", 1)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(R"([{"name":"B","dataType":{"type":"BOOLEAN"}}])",
                                       R"([[1]])", 1)) == error_kind::protocol);
  // Shape mismatches: rows missing, too many columns, ragged columns, no dataType.
  CHECK(kind_of_results(one_result_set(int_col, "", 2)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(int_col, "[[1],[2]]", 1)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(int_col, "[[1,2,3]]", 2)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(R"([{"name":"X"}])", "[[1]]", 1)) == error_kind::protocol);
  CHECK(kind_of_results(one_result_set(int_col, "[1]", 1)) == error_kind::protocol);
}

TEST_CASE("response login fields: session id above 2^53 stays exact", "[response]") {
  auto info = response::parse_session_info(
      R"({"status":"ok","responseData":{"sessionId":1750902846820319233,"protocolVersion":3,
      "releaseVersion":"7.1.6","databaseName":"exa_db1","productName":"EXASolution",
      "maxDataMessageSize":67108864,"maxIdentifierLength":128,"maxVarcharLength":2000000,
      "identifierQuoteString":"\"","timeZone":"EUROPE/BERLIN",
      "timeZoneBehavior":"INVALID SHIFT AMBIGUOUS ST"}})");
  CHECK(info.session_id == 1750902846820319233ULL);
  CHECK(info.protocol_version == 3);
  CHECK(info.release_version == "7.1.6");
  CHECK(info.max_data_message_size == 67108864);
  CHECK(info.time_zone == "EUROPE/BERLIN");
  CHECK(
      response::parse_session_info(
          R"({"status":"ok","responseData":{"sessionId":18446744073709551615,"protocolVersion":1}})")
          .session_id == 18446744073709551615ULL);
  CHECK_THROWS_AS(response::parse_session_info(
                      R"({"status":"ok","responseData":{"sessionId":1.5e18,"protocolVersion":3}})"),
                  error);
  CHECK_THROWS_AS(response::parse_session_info(R"({"status":"ok","responseData":{}})"), error);

  auto key = response::parse_login_key(
      R"({"status":"ok","responseData":{"publicKeyPem":"PEM","publicKeyModulus":"AB","publicKeyExponent":"010001"}})");
  CHECK(key.pem == "PEM");
  CHECK(key.exponent_hex == "010001");
  CHECK_THROWS_AS(response::parse_login_key(R"({"status":"ok","responseData":{}})"), error);
}

TEST_CASE("response attributes are reported from status-only responses", "[response]") {
  auto attrs = response::parse_status(
      R"({"status":"ok","attributes":{"autocommit":true,"currentSchema":"S","queryTimeout":30,
      "openTransaction":false,"timezone":"UNIVERSAL","numericCharacters":".,"}})");
  CHECK(std::get<bool>(attrs.at("autocommit")) == true);
  CHECK(std::get<std::string>(attrs.at("currentSchema")) == "S");
  CHECK(std::get<std::int64_t>(attrs.at("queryTimeout")) == 30);
  CHECK(response::parse_status(R"({"status":"ok"})").empty());
  CHECK_THROWS_AS(response::parse_status(R"({"status":"ok","attributes":5})"), error);
}

TEST_CASE("response of createPreparedStatement and the request that executes it", "[response]") {
  auto r = response::parse_prepared(R"({"status":"ok","responseData":{"statementHandle":7,
      "parameterData":{"numColumns":2,"columns":[
         {"name":"","dataType":{"type":"DECIMAL","precision":18,"scale":0}},
         {"name":"","dataType":{"type":"VARCHAR","size":100,"characterSet":"UTF8"}}]},
      "numResults":1,"results":[{"resultType":"rowCount","rowCount":0}]}})");
  CHECK(r.statement.handle == 7);
  REQUIRE(r.statement.parameters.size() == 2);
  CHECK(r.statement.parameters[1].type == "VARCHAR");
  REQUIRE(r.statement.results.size() == 1);

  auto text = request::execute_prepared_statement(
      r.statement, {{std::int64_t(1), std::string("a")}, {std::int64_t(2), std::monostate{}}});
  auto msg = json::parse(text).as_object();
  CHECK(msg.at("command").as_string() == "executePreparedStatement");
  CHECK(msg.at("statementHandle").as_int64() == 7);
  CHECK(msg.at("numRows").to_number<int>() == 2);
  CHECK(msg.at("columns").as_array().size() == 2);
  auto data = msg.at("data").as_array();
  REQUIRE(data.size() == 2); // column-major
  CHECK(data[0].as_array() == json::array{1, 2});
  CHECK(data[1].as_array()[0].as_string() == "a");
  CHECK(data[1].as_array()[1].is_null());
  CHECK_THROWS_AS(request::execute_prepared_statement(r.statement, {{std::int64_t(1)}}), error);

  auto no_params =
      response::parse_prepared(R"({"status":"ok","responseData":{"statementHandle":8}})");
  CHECK(no_params.statement.parameters.empty());
  CHECK_THROWS_AS(response::parse_prepared(R"({"status":"ok","responseData":{}})"), error);
}

TEST_CASE("response of createPreparedStatement keeps the result columns as sent", "[response]") {
  const std::string result_columns =
      R"([{"name":"ID","dataType":{"type":"DECIMAL","precision":9,"scale":0}},)"
      R"({"name":"LABEL","dataType":{"type":"VARCHAR","size":40,"characterSet":"UTF8"}}])";
  auto r = response::parse_prepared(
      R"({"status":"ok","responseData":{"statementHandle":9,"numResults":1,"results":[)"
      R"({"resultType":"resultSet","resultSet":{"numColumns":2,"numRows":0,)"
      R"("numRowsInMessage":0,"columns":)" +
      result_columns + "}}]}}");
  REQUIRE(r.statement.results.size() == 1);
  CHECK(r.statement.results[0].rows.columns.size() == 2);
  CHECK(json::parse(r.statement.result_columns_json) == json::parse(result_columns));
  CHECK(r.statement.parameter_columns_json.empty());
  // A statement without a result set has no result columns.
  auto insert = response::parse_prepared(
      R"({"status":"ok","responseData":{"statementHandle":10,"numResults":1,)"
      R"("results":[{"resultType":"rowCount","rowCount":0}]}})");
  CHECK(insert.statement.result_columns_json.empty());
}

TEST_CASE("request executePreparedStatement with raw data passes the data on verbatim",
          "[response]") {
  const std::string columns = R"([{"name":"","dataType":{"type":"DECIMAL","precision":36,)"
                              R"("scale":2}},{"name":"","dataType":{"type":"VARCHAR"}}])";
  // 1.10 and a 36-digit number would change if re-encoded as doubles.
  const std::string data = R"([[1.10,123456789012345678901234567890123.45],["a",null]])";
  auto text = request::execute_prepared_statement_raw(7, columns, data, 2);
  CHECK(text.find(R"("data":)" + data) != std::string::npos);
  auto msg = json::parse(text).as_object();
  CHECK(msg.at("command").as_string() == "executePreparedStatement");
  CHECK(msg.at("statementHandle").as_int64() == 7);
  CHECK(msg.at("numColumns").to_number<int>() == 2);
  CHECK(msg.at("numRows").to_number<int>() == 2);
  CHECK(msg.at("columns") == json::parse(columns));
  // No parameters: empty columns and data.
  auto bare = json::parse(request::execute_prepared_statement_raw(8, "", "", 0)).as_object();
  CHECK(bare.at("numColumns").to_number<int>() == 0);
  CHECK(bare.at("data").as_array().empty());
  // What is not data of the statement's shape never reaches the server.
  auto refused = [&](const std::string& d, std::uint64_t rows) {
    try {
      request::execute_prepared_statement_raw(7, columns, d, rows);
    } catch (const error& e) {
      return e.kind() == error_kind::config;
    }
    return false;
  };
  CHECK(refused(R"([[1],["a"]],"statementHandle":1)", 1)); // not one JSON value
  CHECK(refused(R"({"a":1})", 1));
  CHECK(refused(R"([[1,2]])", 2));           // one column for two parameters
  CHECK(refused(R"([[1,2],["a"]])", 2));     // a short column
  CHECK(refused(R"([[1,2],["a","b"]])", 3)); // numRows disagrees
  CHECK(refused("", 1));                     // rows without data
  CHECK_THROWS_AS(request::execute_prepared_statement_raw(7, "{}", "", 0), error);
}

TEST_CASE("request login credentials carry the identity and never the plain password",
          "[response]") {
  request::credentials c;
  c.username = "sys";
  c.encrypted_password = "Q0lQSEVS";
  c.initial_attributes = {{"autocommit", true}, {"currentSchema", std::string("S")}};
  auto msg = json::parse(request::login_credentials(c)).as_object();
  CHECK(msg.at("username").as_string() == "sys");
  CHECK(msg.at("password").as_string() == "Q0lQSEVS");
  CHECK(msg.at("useCompression").as_bool() == false);
  CHECK(msg.at("clientName").as_string() == "exapool");
  CHECK(msg.contains("driverName"));
  CHECK(msg.contains("clientRuntime"));
  CHECK(msg.at("attributes").as_object().at("currentSchema").as_string() == "S");
  CHECK_FALSE(msg.contains("command"));

  c.access_token = "tok";
  auto token_msg = json::parse(request::login_credentials(c)).as_object();
  CHECK(token_msg.at("accessToken").as_string() == "tok");
  CHECK_FALSE(token_msg.contains("password"));
  CHECK_FALSE(token_msg.contains("username"));
}

// Issue 8, defect 5: room was reserved for the rows a header announced, so a header claiming
// 4e9 rows threw std::bad_alloc. Only the rows that arrive may take memory.
TEST_CASE("response reserves for the rows that arrive, never for the rows announced",
          "[response]") {
  std::string text =
      R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",
      "resultSet":{"resultSetHandle":9,"numColumns":1,"numRows":4000000000,"numRowsInMessage":2,
      "columns":)" +
      int_col + R"(,"data":[[7,8]]}}]}})";
  auto rs = response::parse_results(text).results[0].rows;
  CHECK(rs.total_rows == 4000000000ULL);
  CHECK(rs.row_count() == 2);
  CHECK(rs.data[0].capacity() < 1000);
  // A fetch chunk grows the column by what it holds (doubling at most), not to numRows.
  response::parse_fetch_into(R"({"status":"ok","responseData":{"numRows":3,"data":[[1,2,3]]}})",
                             rs);
  CHECK(rs.row_count() == 5);
  CHECK(rs.data[0].capacity() < 1000);
}

TEST_CASE("response with lying, overflowing or mistyped counts is a protocol error", "[response]") {
  auto header = [](const std::string& num_columns, const std::string& num_rows,
                   const std::string& in_message, const std::string& data) {
    return R"({"status":"ok","responseData":{"numResults":1,"results":[{"resultType":"resultSet",)"
           R"("resultSet":{"resultSetHandle":3,"numColumns":)" +
           num_columns + R"(,"numRows":)" + num_rows + R"(,"numRowsInMessage":)" + in_message +
           R"(,"columns":)" + int_col + (data.empty() ? "" : R"(,"data":)" + data) + "}}]}}";
  };
  CHECK_NOTHROW(response::parse_results(header("1", "5", "2", "[[1,2]]")));
  CHECK(kind_of_results(header("2", "5", "2", "[[1,2]]")) == error_kind::protocol);
  CHECK(kind_of_results(header("0", "5", "2", "[[1,2]]")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "-5", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "5", "-1", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "5", "6", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "5", "3", "[[1,2]]")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "1e30", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "5.5", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "18446744073709551615", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "99999999999999999999999", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", R"("5")", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "null", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header(R"("one")", "5", "0", "")) == error_kind::protocol);
  CHECK(kind_of_results(header("1", "5", "true", "")) == error_kind::protocol);

  // A fetch chunk that lies about its own rows, or about the total.
  auto rs = response::parse_results(header("1", "5", "2", "[[1,2]]")).results[0].rows;
  auto fetch_kind = [&](const std::string& text) {
    try {
      response::parse_fetch_into(text, rs);
    } catch (const error& e) {
      return e.kind();
    }
    FAIL("accepted: " << text);
    return error_kind::server;
  };
  CHECK(fetch_kind(R"({"status":"ok","responseData":{"numRows":1000,"data":[[1,2]]}})") ==
        error_kind::protocol);
  CHECK(fetch_kind(R"({"status":"ok","responseData":{"numRows":-1,"data":[[]]}})") ==
        error_kind::protocol);
  CHECK(fetch_kind(R"({"status":"ok","responseData":{"numRows":4,"data":[[1,2,3,4]]}})") ==
        error_kind::protocol); // 2 + 4 > 5
  CHECK(fetch_kind(R"({"status":"ok","responseData":{"numRows":"2","data":[[1,2]]}})") ==
        error_kind::protocol);
  CHECK(rs.row_count() == 2);
}

TEST_CASE("response nested beyond reason is a protocol error, not a stack overflow", "[response]") {
  for (std::size_t depth : {std::size_t(100), std::size_t(100000)}) {
    std::string deep = std::string(depth, '[') + std::string(depth, ']');
    CHECK(kind_of_results(deep) == error_kind::protocol);
    std::string in_data = one_result_set(int_col, "[[" + deep + "]]", 1);
    CHECK(kind_of_results(in_data) == error_kind::protocol);
  }
}

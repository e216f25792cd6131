// exasim's SQL behaviour over the wire: types, result sizes and fetch, errors, transactions,
// schemas, prepared statements, batches, EXA_ALL_SESSIONS and concurrent writers.
#include "tests/support/exasim_test_client.hpp"

#include "integration/exasim/server.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <thread>

using exasim_test::session_id_of;
using exasim_test::test_client;
namespace json = boost::json;

namespace {

struct logged_in {
  explicit logged_in(const exasim::server& sim, bool tls = false) : client(sim.port(), tls) {
    auto session = client.login("sys", "exasol");
    REQUIRE(session.at("status") == "ok");
    id = session_id_of(session);
  }
  json::object ok(const std::string& sql) {
    auto r = client.execute(sql);
    INFO(sql << " -> " << json::serialize(r));
    REQUIRE(r.at("status") == "ok");
    return r;
  }
  json::object result_set(const std::string& sql) {
    auto r = ok(sql);
    return r.at("responseData").at("results").at(0).at("resultSet").as_object();
  }
  std::int64_t row_count(const std::string& sql) {
    return ok(sql).at("responseData").at("results").at(0).at("rowCount").as_int64();
  }
  std::string error_code(const std::string& sql) {
    auto r = client.execute(sql);
    INFO(sql << " -> " << json::serialize(r));
    REQUIRE(r.at("status") == "error");
    return std::string(r.at("exception").at("sqlCode").as_string());
  }
  test_client client;
  std::uint64_t id = 0;
};

// Reads every row of a handle-backed result set column-major, fetching from 0.
json::array fetch_all(test_client& client, std::int64_t handle, std::size_t rows,
                      std::int64_t num_bytes, std::size_t& chunks) {
  json::array columns;
  std::size_t position = 0;
  while (position < rows) {
    auto r = client.request({{"command", "fetch"},
                             {"resultSetHandle", handle},
                             {"startPosition", position},
                             {"numBytes", num_bytes}});
    REQUIRE(r.at("status") == "ok");
    const auto& data = r.at("responseData").as_object();
    auto n = data.at("numRows").to_number<std::size_t>();
    REQUIRE(n > 0);
    const auto& chunk = data.at("data").as_array();
    if (columns.empty())
      columns.resize(chunk.size(), json::array());
    for (std::size_t c = 0; c < chunk.size(); ++c)
      for (const auto& v : chunk[c].as_array())
        columns[c].as_array().push_back(v);
    position += n;
    ++chunks;
  }
  return columns;
}

} // namespace

TEST_CASE("exasim returns every type as Exasol encodes it", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  s.ok("CREATE TABLE all_types (c_int DECIMAL(9,0), c_big DECIMAL(20,0), c_dec DECIMAL(12,3), "
       "c_double DOUBLE, c_varchar VARCHAR(20), c_char CHAR(5), c_bool BOOLEAN, c_date DATE, "
       "c_ts TIMESTAMP, c_null VARCHAR(10))");
  CHECK(s.row_count("INSERT INTO all_types VALUES (42, 1234567890123456789, 12345.678, -1e10, "
                    "'h\xc3\xa4llo', 'ab', TRUE, '2024-02-29', '2024-02-29 13:14:15.123', "
                    "NULL)") == 1);
  auto set = s.result_set("SELECT * FROM all_types");
  const auto& columns = set.at("columns").as_array();
  REQUIRE(columns.size() == 10);
  CHECK(columns[0] ==
        json::object{{"name", "C_INT"},
                     {"dataType", {{"type", "DECIMAL"}, {"precision", 9}, {"scale", 0}}}});
  CHECK(columns[2].at("dataType").at("scale") == 3);
  CHECK(columns[3].at("dataType").at("type") == "DOUBLE");
  CHECK(columns[4].at("dataType").at("size") == 20);
  CHECK(columns[5].at("dataType").at("type") == "CHAR");
  CHECK(columns[6].at("dataType").at("type") == "BOOLEAN");
  CHECK(columns[7].at("dataType").at("type") == "DATE");
  CHECK(columns[8].at("dataType").at("type") == "TIMESTAMP");
  const auto& data = set.at("data").as_array();
  CHECK(data[0].at(0) == 42);
  CHECK(data[1].at(0) == "1234567890123456789");
  CHECK(data[2].at(0) == "12345.678");
  CHECK(data[3].at(0) == -1e10);
  CHECK(data[4].at(0) == "h\xc3\xa4llo");
  CHECK(data[5].at(0) == "ab   ");
  CHECK(data[6].at(0) == true);
  CHECK(data[7].at(0) == "2024-02-29");
  CHECK(data[8].at(0) == "2024-02-29 13:14:15.123000");
  CHECK(data[9].at(0).is_null());

  auto expr = s.result_set("SELECT 1 AS ONE, 2.5 AS half, 'x' AS \"lower\" FROM DUAL");
  CHECK(expr.at("columns").at(0).at("name") == "ONE");
  CHECK(expr.at("columns").at(1).at("name") == "HALF");
  CHECK(expr.at("columns").at(1).at("dataType").at("type") == "DOUBLE");
  CHECK(expr.at("columns").at(2).at("name") == "lower");
  CHECK(expr.at("columns").at(2).at("dataType").at("type") == "VARCHAR");
}

TEST_CASE("exasim sends 0 and 999 rows inline and 1000 and 5000 rows behind a handle",
          "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  auto numbers = [](int n) {
    return "WITH RECURSIVE r(id) AS (SELECT 0 UNION ALL SELECT id + 1 FROM r WHERE id < " +
           std::to_string(n - 1) + ") SELECT id, 'row-' || id AS label FROM r";
  };
  auto none = s.result_set("SELECT 1 AS x FROM DUAL WHERE 1 = 0");
  CHECK(none.at("numRows") == 0);
  CHECK(none.at("numRowsInMessage") == 0);
  CHECK_FALSE(none.contains("data"));
  CHECK(none.at("numColumns") == 1);

  auto inline_set = s.result_set(numbers(999));
  CHECK(inline_set.at("numRows") == 999);
  CHECK_FALSE(inline_set.contains("resultSetHandle"));
  CHECK(inline_set.at("data").at(1).at(998) == "row-998");

  for (int n : {1000, 5000}) {
    INFO(n << " rows");
    auto set = s.result_set(numbers(n));
    CHECK(set.at("numRows") == n);
    CHECK(set.at("numRowsInMessage") == 0);
    CHECK_FALSE(set.contains("data"));
    auto handle = set.at("resultSetHandle").as_int64();
    CHECK(handle > 0);
    std::size_t chunks = 0;
    auto columns = fetch_all(s.client, handle, static_cast<std::size_t>(n), 8192, chunks);
    CHECK(chunks > 3);
    REQUIRE(columns.at(0).as_array().size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; i += 997)
      CHECK(columns.at(1).at(static_cast<std::size_t>(i)) ==
            json::string("row-" + std::to_string(i)));
    // Absolute positions: a fetch from the middle gives that row first.
    auto middle = s.client.request({{"command", "fetch"},
                                    {"resultSetHandle", handle},
                                    {"startPosition", n / 2},
                                    {"numBytes", 1}});
    CHECK(middle.at("responseData").at("numRows") == 1);
    CHECK(middle.at("responseData").at("data").at(0).at(0) == n / 2);
    auto header =
        s.client.request({{"command", "getResultSetHeader"}, {"resultSetHandles", {handle}}});
    REQUIRE(header.at("status") == "ok");
    const auto& described = header.at("responseData").at("results").at(0).at("resultSet");
    CHECK(described.at("numRows") == n);
    CHECK(described.at("columns").at(1).at("name") == "LABEL");
    CHECK_FALSE(described.as_object().contains("data"));
    CHECK(s.client.request({{"command", "getOffset"}, {"resultSetHandle", handle}})
              .at("responseData")
              .at("rowOffset") == 0);
    CHECK(s.client.request({{"command", "closeResultSet"}, {"resultSetHandles", {handle}}})
              .at("status") == "ok");
    auto closed = s.client.request({{"command", "fetch"},
                                    {"resultSetHandle", handle},
                                    {"startPosition", 0},
                                    {"numBytes", 1000}});
    CHECK(closed.at("status") == "error");
  }
  auto unknown = s.client.request(
      {{"command", "fetch"}, {"resultSetHandle", 999}, {"startPosition", 0}, {"numBytes", 10}});
  CHECK(unknown.at("status") == "error");
}

TEST_CASE("exasim reports errors with Exasol's sqlCodes", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  CHECK(s.error_code("SELEC 1") == "42000");
  CHECK(s.error_code("SELECT * FROM conf_missing") == "42000");
  auto missing = s.client.execute("SELECT * FROM conf_missing");
  std::string text(missing.at("exception").at("text").as_string());
  CHECK(text.find("object CONF_MISSING not found") != std::string::npos);
  CHECK(text.find("(Session: " + std::to_string(s.id) + ")") != std::string::npos);
  s.ok("CREATE TABLE keyed (id DECIMAL(9,0) PRIMARY KEY, name VARCHAR(10) NOT NULL)");
  s.ok("INSERT INTO keyed VALUES (1, 'a')");
  CHECK(s.error_code("INSERT INTO keyed VALUES (2, NULL)") == "27001");
  CHECK(s.error_code("INSERT INTO keyed VALUES (1, 'b')") == "42X91");
  CHECK(s.error_code("CREATE TABLE keyed (x INT)") == "42000");
  CHECK(s.error_code("SELECT 1; SELECT 2") == "42000");
  CHECK(s.error_code("OPEN SCHEMA no_such_schema") == "42000");
  // The session goes on after errors.
  CHECK(s.result_set("SELECT COUNT(*) FROM keyed").at("data").at(0).at(0) == 1);
}

TEST_CASE("exasim honours autocommit off with COMMIT and ROLLBACK", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in writer(sim), reader(sim);
  writer.ok("CREATE TABLE tx (x DECIMAL(9,0))");
  auto set = writer.client.request(
      {{"command", "setAttributes"}, {"attributes", {{"autocommit", false}}}});
  REQUIRE(set.at("status") == "ok");
  CHECK(set.at("attributes").at("autocommit") == false);
  auto inserted = writer.client.execute("INSERT INTO tx VALUES (1)");
  CHECK(inserted.at("attributes").at("openTransaction") == true);
  CHECK(reader.result_set("SELECT COUNT(*) FROM tx").at("data").at(0).at(0) == 0);
  auto rolled_back = writer.client.execute("ROLLBACK");
  CHECK(rolled_back.at("attributes").at("openTransaction") == false);
  CHECK(writer.result_set("SELECT COUNT(*) FROM tx").at("data").at(0).at(0) == 0);
  writer.ok("INSERT INTO tx VALUES (2)");
  writer.ok("COMMIT");
  CHECK(reader.result_set("SELECT COUNT(*) FROM tx").at("data").at(0).at(0) == 1);
  // Turning autocommit back on commits what is open.
  writer.ok("INSERT INTO tx VALUES (3)");
  auto on =
      writer.client.request({{"command", "setAttributes"}, {"attributes", {{"autocommit", true}}}});
  CHECK(on.at("attributes").at("openTransaction") == false);
  CHECK(reader.result_set("SELECT COUNT(*) FROM tx").at("data").at(0).at(0) == 2);
  // COMMIT with nothing open is fine, as in Exasol.
  reader.ok("COMMIT");
}

TEST_CASE("exasim tracks the schema and reports changed attributes", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  auto created = s.ok("CREATE SCHEMA my_schema"); // Exasol opens a schema it creates
  CHECK(created.at("attributes").at("currentSchema") == "MY_SCHEMA");
  s.ok("CLOSE SCHEMA");
  auto opened = s.client.execute("OPEN SCHEMA my_schema");
  REQUIRE(opened.at("status") == "ok");
  CHECK(opened.at("attributes").at("currentSchema") == "MY_SCHEMA");
  auto again = s.client.execute("SELECT 1");
  CHECK_FALSE(again.contains("attributes")); // nothing changed
  auto all = s.client.request({{"command", "getAttributes"}});
  const auto& attributes = all.at("attributes").as_object();
  CHECK(attributes.at("currentSchema") == "MY_SCHEMA");
  for (const char* name :
       {"autocommit", "compressionEnabled", "dateFormat", "datetimeFormat", "feedbackInterval",
        "numericCharacters", "openTransaction", "queryTimeout", "snapshotTransactionsEnabled",
        "timestampUtcEnabled", "timezone", "timeZoneBehavior"})
    CHECK(attributes.contains(name));
  // Attributes on any request are applied before it runs.
  auto with = s.client.request(
      {{"command", "execute"}, {"sqlText", "SELECT 1"}, {"attributes", {{"queryTimeout", 7}}}});
  CHECK(with.at("attributes").at("queryTimeout") == 7);
  auto alter = s.client.execute("ALTER SESSION SET QUERY_TIMEOUT = 9");
  CHECK(alter.at("attributes").at("queryTimeout") == 9);
  auto bad = s.client.request(
      {{"command", "setAttributes"}, {"attributes", {{"autocommit", "sometimes"}}}});
  CHECK(bad.at("status") == "error");
  s.ok("DROP SCHEMA my_schema CASCADE");
  CHECK(s.client.request({{"command", "getAttributes"}}).at("attributes").at("currentSchema") ==
        "");
}

TEST_CASE("exasim runs prepared statements with column-major parameters", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  s.ok("CREATE TABLE conf_rows (id DECIMAL(9,0), label VARCHAR(40))");
  auto created = s.client.request(
      {{"command", "createPreparedStatement"}, {"sqlText", "INSERT INTO conf_rows VALUES (?, ?)"}});
  REQUIRE(created.at("status") == "ok");
  const auto& data = created.at("responseData").as_object();
  auto handle = data.at("statementHandle").as_int64();
  const auto& parameters = data.at("parameterData").as_object();
  CHECK(parameters.at("numColumns") == 2);
  CHECK(parameters.at("columns").at(0).at("dataType") ==
        json::object{{"type", "DECIMAL"}, {"precision", 9}, {"scale", 0}});
  CHECK(parameters.at("columns").at(1).at("dataType").at("size") == 40);
  CHECK(data.at("numResults") == 1);
  CHECK(data.at("results").at(0).at("resultType") == "rowCount");

  json::array ids, labels;
  for (int i = 0; i < 5000; ++i) {
    ids.push_back(i);
    labels.push_back(json::string("row-" + std::to_string(i)));
  }
  auto executed = s.client.request({{"command", "executePreparedStatement"},
                                    {"statementHandle", handle},
                                    {"numColumns", 2},
                                    {"numRows", 5000},
                                    {"columns", parameters.at("columns")},
                                    {"data", {ids, labels}}});
  REQUIRE(executed.at("status") == "ok");
  CHECK(executed.at("responseData").at("results").at(0).at("rowCount") == 5000);
  // Numbers as strings are accepted too.
  auto as_strings = s.client.request({{"command", "executePreparedStatement"},
                                      {"statementHandle", handle},
                                      {"numRows", 1},
                                      {"data", {{"6000"}, {nullptr}}}});
  CHECK(as_strings.at("responseData").at("results").at(0).at("rowCount") == 1);
  CHECK(s.client.request({{"command", "closePreparedStatement"}, {"statementHandle", handle}})
            .at("status") == "ok");
  CHECK(s.client.request({{"command", "executePreparedStatement"}, {"statementHandle", handle}})
            .at("status") == "error");

  auto query = s.client.request(
      {{"command", "createPreparedStatement"},
       {"sqlText", "SELECT id, label FROM conf_rows WHERE id = ? OR id = ? ORDER BY id"}});
  REQUIRE(query.at("status") == "ok");
  const auto& described = query.at("responseData").at("results").at(0).as_object();
  CHECK(described.at("resultType") == "resultSet");
  CHECK(described.at("resultSet").at("columns").at(1).at("name") == "LABEL");
  auto rows = s.client.request({{"command", "executePreparedStatement"},
                                {"statementHandle", query.at("responseData").at("statementHandle")},
                                {"numColumns", 2},
                                {"numRows", 1},
                                {"data", {{3}, {6000}}}});
  REQUIRE(rows.at("status") == "ok");
  const auto& set = rows.at("responseData").at("results").at(0).at("resultSet").as_object();
  CHECK(set.at("numRows") == 2);
  CHECK(set.at("data").at(0) == json::array{3, 6000});
  CHECK(set.at("data").at(1).at(0) == "row-3");

  // No parameters: columns and data may be absent or empty.
  auto count = s.client.request(
      {{"command", "createPreparedStatement"}, {"sqlText", "SELECT COUNT(*) FROM conf_rows"}});
  CHECK_FALSE(count.at("responseData").as_object().contains("parameterData"));
  auto counted =
      s.client.request({{"command", "executePreparedStatement"},
                        {"statementHandle", count.at("responseData").at("statementHandle")},
                        {"numColumns", 0},
                        {"numRows", 0},
                        {"columns", json::array()},
                        {"data", json::array()}});
  CHECK(counted.at("responseData").at("results").at(0).at("resultSet").at("data").at(0).at(0) ==
        5001);
}

// Found by fuzz_exasim: with no parameter rows the statement never steps, and encoding its
// (empty) result read a column vector that did not exist.
TEST_CASE("exasim runs a prepared SELECT with no parameter rows", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  auto created = s.client.request(
      {{"command", "createPreparedStatement"}, {"sqlText", "SELECT 1 WHERE 1 = ?"}});
  REQUIRE(created.at("status") == "ok");
  auto handle = created.at("responseData").at("statementHandle").as_int64();
  auto executed = s.client.request(
      {{"command", "executePreparedStatement"}, {"statementHandle", handle}, {"numRows", 0}});
  INFO(json::serialize(executed));
  REQUIRE(executed.at("status") == "ok");
  const auto& result = executed.at("responseData").at("results").at(0);
  CHECK(result.at("resultType") == "resultSet");
  CHECK(result.at("resultSet").at("numRows") == 0);
  CHECK(s.client.request({{"command", "getAttributes"}}).at("status") == "ok"); // still serving
}

TEST_CASE("exasim runs executeBatch in order with one result each", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in s(sim);
  s.ok("CREATE TABLE conf_batch (x DECIMAL(9,0))");
  auto batch =
      s.client.request({{"command", "executeBatch"},
                        {"sqlTexts",
                         {"INSERT INTO conf_batch VALUES (1)", "INSERT INTO conf_batch VALUES (2)",
                          "UPDATE conf_batch SET x = x + 10", "SELECT SUM(x) FROM conf_batch"}}});
  REQUIRE(batch.at("status") == "ok");
  const auto& data = batch.at("responseData").as_object();
  CHECK(data.at("numResults") == 4);
  CHECK(data.at("results").at(0).at("rowCount") == 1);
  CHECK(data.at("results").at(1).at("rowCount") == 1);
  CHECK(data.at("results").at(2).at("rowCount") == 2);
  CHECK(data.at("results").at(3).at("resultSet").at("data").at(0).at(0) == 23);
  auto failing = s.client.request(
      {{"command", "executeBatch"}, {"sqlTexts", {"INSERT INTO conf_batch VALUES (5)", "SELEC"}}});
  CHECK(failing.at("status") == "error");
}

TEST_CASE("EXA_ALL_SESSIONS shows one row per live session", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in a(sim), b(sim, true);
  auto set = a.result_set(
      "SELECT SESSION_ID, USER_NAME, STATUS, CLIENT, DRIVER, LOGIN_TIME, ENCRYPTED FROM "
      "EXA_ALL_SESSIONS ORDER BY SESSION_ID");
  REQUIRE(set.at("numRows") == 2);
  const auto& data = set.at("data").as_array();
  CHECK(set.at("columns").at(0).at("dataType").at("precision") == 20);
  CHECK(data[0].at(0) ==
        json::string(std::to_string(a.id))); // DECIMAL(20,0): a string, as in Exasol
  CHECK(data[1].at(0) == "SYS");
  CHECK(data[1].at(1) == "SYS");
  CHECK(data[2].at(0) == "EXECUTE SQL"); // the asking session runs this very query
  CHECK(data[2].at(1) == "IDLE");
  CHECK(data[3].at(0) == "exasim-test");
  CHECK(data[4].at(0) == "raw-beast");
  CHECK(data[5].at(0).as_string().size() == 26);
  CHECK(data[6].at(0) == false);
  CHECK(data[6].at(1) == true);
  CHECK(a.result_set("SELECT COUNT(*) AS N FROM EXA_ALL_SESSIONS").at("data").at(0).at(0) == 2);
  b.client.request({{"command", "disconnect"}});
  CHECK(a.result_set("SELECT COUNT(*) AS N FROM EXA_ALL_SESSIONS").at("data").at(0).at(0) == 1);
}

TEST_CASE("CURRENT_SESSION and CURRENT_USER name the asking session", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in a(sim), b(sim, true);
  for (auto* s : {&a, &b}) {
    auto set = s->result_set("SELECT CURRENT_SESSION AS S, CURRENT_USER AS U");
    const auto& id = set.at("data").at(0).at(0);
    CHECK((id.is_string() ? std::string(id.as_string()) : json::serialize(id)) ==
          std::to_string(s->id));
    CHECK(set.at("data").at(1).at(0) == "SYS");
    // The same session as EXA_ALL_SESSIONS lists it.
    CHECK(s->result_set("SELECT COUNT(*) AS N FROM EXA_ALL_SESSIONS WHERE SESSION_ID = "
                        "CURRENT_SESSION AND USER_NAME = CURRENT_USER")
              .at("data")
              .at(0)
              .at(0) == 1);
  }
}

TEST_CASE("exasim serves concurrent writers from several sessions", "[exasim][sql]") {
  exasim::server sim;
  sim.start();
  logged_in setup(sim);
  setup.ok("CREATE TABLE shared_rows (writer DECIMAL(9,0), n DECIMAL(9,0))");
  constexpr int writers = 4, inserts = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(writers, 0);
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      test_client client(sim.port(), w % 2 == 1);
      if (client.login("sys", "exasol").at("status") != "ok") {
        failures[w] = inserts;
        return;
      }
      for (int i = 0; i < inserts; ++i) {
        auto r = client.execute("INSERT INTO shared_rows VALUES (" + std::to_string(w) + ", " +
                                std::to_string(i) + ")");
        if (r.at("status") != "ok")
          ++failures[w];
      }
    });
  }
  for (auto& t : threads)
    t.join();
  for (int w = 0; w < writers; ++w)
    CHECK(failures[w] == 0);
  CHECK(setup.result_set("SELECT COUNT(*) FROM shared_rows").at("data").at(0).at(0) ==
        writers * inserts);
  CHECK(setup.result_set("SELECT COUNT(DISTINCT writer) FROM shared_rows").at("data").at(0).at(0) ==
        writers);
}

TEST_CASE("a writer blocked by another transaction fails with 40001 and rolls back",
          "[exasim][sql]") {
  exasim::server_options options;
  options.lock_wait_timeout = std::chrono::milliseconds(200);
  exasim::server sim(options);
  sim.start();
  logged_in holder(sim), blocked(sim);
  holder.ok("CREATE TABLE contested (x DECIMAL(9,0))");
  REQUIRE(
      holder.client.request({{"command", "setAttributes"}, {"attributes", {{"autocommit", false}}}})
          .at("status") == "ok");
  holder.ok("INSERT INTO contested VALUES (1)"); // holds the write lock until COMMIT
  REQUIRE(blocked.client
              .request({{"command", "setAttributes"}, {"attributes", {{"autocommit", false}}}})
              .at("status") == "ok");
  auto collision = blocked.client.execute("INSERT INTO contested VALUES (2)");
  CHECK(blocked.error_code("INSERT INTO contested VALUES (2)") == "40001");
  CHECK(std::string(collision.at("exception").at("text").as_string())
            .rfind("GlobalTransactionRollback msg: Transaction collision", 0) == 0);
  CHECK(blocked.client.request({{"command", "getAttributes"}})
            .at("attributes")
            .at("openTransaction") == false);
  holder.ok("COMMIT");
  CHECK(blocked.row_count("INSERT INTO contested VALUES (3)") == 1);
  blocked.ok("COMMIT");
  CHECK(holder.result_set("SELECT COUNT(*) FROM contested").at("data").at(0).at(0) == 2);
}

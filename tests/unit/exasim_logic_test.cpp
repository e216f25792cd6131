// exasim's pure logic: Exasol typing of SQLite values, the Exasol-only statement matcher,
// session attributes and the result encoding (inline, handles, fetch chunks).
#include "integration/exasim/exasol_statements.hpp"
#include "integration/exasim/value_types.hpp"
#include "integration/front/attributes.hpp"
#include "integration/front/protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace exasim;
using namespace exafront;
namespace json = boost::json;

namespace {

raw_value integer(std::int64_t i) {
  raw_value v;
  v.cls = raw_value::storage::integer;
  v.integer = i;
  return v;
}
raw_value real(double d) {
  raw_value v;
  v.cls = raw_value::storage::real;
  v.real = d;
  return v;
}
raw_value text(std::string s) {
  raw_value v;
  v.cls = raw_value::storage::text;
  v.bytes = std::move(s);
  return v;
}

result_set numbered_rows(std::size_t n) {
  result_set rows;
  rows.columns.push_back({"ID", data_type_json(exa_type::decimal(18, 0))});
  rows.columns.push_back({"LABEL", data_type_json(exa_type::varchar(20))});
  rows.data.resize(2);
  for (std::size_t i = 0; i < n; ++i) {
    rows.data[0].push_back(static_cast<std::int64_t>(i));
    rows.data[1].push_back(json::string("row-" + std::to_string(i)));
  }
  rows.num_rows = n;
  return rows;
}

} // namespace

TEST_CASE("declared SQLite types map to Exasol types", "[exasim][types]") {
  auto t = type_from_declaration("DECIMAL(12, 3)");
  REQUIRE(t);
  CHECK(t->what == exa_type::kind::decimal);
  CHECK(t->precision == 12);
  CHECK(t->scale == 3);
  CHECK(type_from_declaration("integer")->precision == 18);
  CHECK(type_from_declaration("BIGINT")->precision == 36);
  CHECK(type_from_declaration("double precision")->what == exa_type::kind::double_precision);
  CHECK(type_from_declaration("VARCHAR(20)")->size == 20);
  CHECK(type_from_declaration("CHAR(5)")->what == exa_type::kind::fixed_char);
  CHECK(type_from_declaration("BOOLEAN")->what == exa_type::kind::boolean);
  CHECK(type_from_declaration("DATE")->what == exa_type::kind::date);
  CHECK(type_from_declaration("TIMESTAMP")->what == exa_type::kind::timestamp);
  CHECK(type_from_declaration("TIMESTAMP WITH LOCAL TIME ZONE")->with_local_time_zone);
  CHECK_FALSE(type_from_declaration("GEOMETRY"));
  CHECK(data_type_json(*type_from_declaration("VARCHAR(20)")) ==
        json::object{{"type", "VARCHAR"}, {"size", 20}, {"characterSet", "UTF8"}});
  CHECK(data_type_json(exa_type::decimal(9, 0)) ==
        json::object{{"type", "DECIMAL"}, {"precision", 9}, {"scale", 0}});
}

TEST_CASE("undeclared columns are typed by their values", "[exasim][types]") {
  CHECK(type_from_values({integer(1), raw_value{}}).what == exa_type::kind::decimal);
  CHECK(type_from_values({integer(1), real(1.5)}).what == exa_type::kind::double_precision);
  CHECK(type_from_values({integer(1), text("a")}).what == exa_type::kind::varchar);
  CHECK(type_from_values({integer(9223372036854775807LL)}).precision == 36);
  CHECK(type_from_values({}).what == exa_type::kind::varchar);
}

TEST_CASE("values are encoded as Exasol sends them", "[exasim][types]") {
  CHECK(encode_value(integer(42), exa_type::decimal(18, 0)) == 42);
  CHECK(encode_value(integer(1234567890123456789LL), exa_type::decimal(20, 0)) ==
        "1234567890123456789");
  CHECK(encode_value(real(12345.678), exa_type::decimal(12, 3)) == "12345.678");
  CHECK(encode_value(real(-0.125), exa_type::decimal(12, 3)) == "-0.125");
  CHECK(encode_value(integer(12), exa_type::decimal(10, 2)) == "12.00");
  CHECK(encode_value(integer(-10), exa_type::double_precision()) == -10.0);
  CHECK(encode_value(real(0.0 / 0.0), exa_type::double_precision()).is_null());
  CHECK(encode_value(integer(1), exa_type::boolean()) == true);
  CHECK(encode_value(integer(0), exa_type::boolean()) == false);
  CHECK(encode_value(raw_value{}, exa_type::boolean()).is_null());
  CHECK(encode_value(text("ab"), *type_from_declaration("CHAR(5)")) == "ab   ");
  CHECK(encode_value(text("\xc3\xa4"), *type_from_declaration("CHAR(3)")) == "\xc3\xa4  ");
  auto ts = *type_from_declaration("TIMESTAMP");
  CHECK(encode_value(text("2024-02-29 13:14:15.123"), ts) == "2024-02-29 13:14:15.123000");
  CHECK(encode_value(text("2024-02-29T13:14:15"), ts) == "2024-02-29 13:14:15.000000");
  CHECK(encode_value(text("2024-02-29"), *type_from_declaration("DATE")) == "2024-02-29");
  CHECK(encode_value(integer(7), exa_type::varchar()) == "7");
}

TEST_CASE("Exasol-only statements are recognised and the rest left to SQLite",
          "[exasim][statements]") {
  using kind = exasol_statement::kind;
  auto open = classify_statement("  open schema my_schema ;");
  CHECK(open.what == kind::open_schema);
  CHECK(open.name == "MY_SCHEMA");
  CHECK(classify_statement("OPEN SCHEMA \"Quoted\"").name == "Quoted");
  CHECK(classify_statement("OPEN SCHEMA").what == kind::malformed);
  auto create = classify_statement("CREATE SCHEMA IF NOT EXISTS s1");
  CHECK(create.what == kind::create_schema);
  CHECK(create.if_exists);
  CHECK(classify_statement("DROP SCHEMA s1 CASCADE").what == kind::drop_schema);
  auto kill = classify_statement("KILL SESSION 1750902846820319233");
  CHECK(kill.what == kind::kill_session);
  CHECK(kill.session_id == 1750902846820319233ULL);
  CHECK(classify_statement("kill session current_session").current_session);
  auto stmt = classify_statement("KILL STATEMENT 5 IN SESSION 42");
  CHECK(stmt.what == kind::kill_statement);
  CHECK(stmt.session_id == 42);
  CHECK(classify_statement("KILL SESSION x").what == kind::malformed);
  auto alter = classify_statement("ALTER SESSION SET QUERY_TIMEOUT = 30");
  CHECK(alter.what == kind::alter_session);
  CHECK(alter.name == "QUERY_TIMEOUT");
  CHECK(alter.value == "30");
  CHECK(classify_statement("ALTER SESSION SET NLS_DATE_FORMAT = 'DD.MM.YYYY'").value ==
        "DD.MM.YYYY");
  CHECK(classify_statement("commit work").what == kind::commit);
  CHECK(classify_statement("ROLLBACK").what == kind::rollback);
  CHECK(classify_statement("-- note\nSELECT 1").what == kind::other);
  CHECK(classify_statement("CREATE TABLE t (a INT)").what == kind::other);
  CHECK(classify_statement("ALTER TABLE t ADD COLUMN b INT").what == kind::other);
  CHECK(classify_statement("SELECT 'OPEN SCHEMA x'").what == kind::other);
}

TEST_CASE("CURRENT_SESSION and CURRENT_USER become literals outside quotes and comments",
          "[exasim][statements]") {
  CHECK(substitute_session_functions("SELECT CURRENT_SESSION AS s, current_user AS u", 42, "sys") ==
        "SELECT 42 AS s, 'SYS' AS u");
  // Quoted, commented or part of a longer word: untouched.
  std::string untouched = "SELECT 'CURRENT_SESSION', \"CURRENT_USER\", MY_CURRENT_SESSION -- "
                          "CURRENT_SESSION\n/* CURRENT_USER */ FROM t";
  CHECK(substitute_session_functions(untouched, 42, "sys") == untouched);
  // A user name with a quote stays one SQL literal.
  CHECK(substitute_session_functions("SELECT CURRENT_USER", 1, "o'neil") == "SELECT 'O''NEIL'");
  // SQL without them comes back as it was.
  CHECK(substitute_session_functions("SELECT 1", 7, "sys") == "SELECT 1");
}

TEST_CASE("mentions_word finds whole words only", "[exasim][statements]") {
  CHECK(mentions_word("select * from exa_all_sessions", "EXA_ALL_SESSIONS"));
  CHECK(mentions_word("SELECT COUNT(*) FROM EXA_ALL_SESSIONS;", "EXA_ALL_SESSIONS"));
  CHECK_FALSE(mentions_word("SELECT * FROM MY_EXA_ALL_SESSIONS", "EXA_ALL_SESSIONS"));
  CHECK_FALSE(mentions_word("SELECT 1", "EXA_ALL_SESSIONS"));
}

TEST_CASE("starts_with_word reads the first word after blanks and comments",
          "[exasim][statements]") {
  CHECK(starts_with_word("select 1", "SELECT"));
  CHECK(starts_with_word("  -- why\n /* note */ SELECT(1)", "SELECT"));
  CHECK_FALSE(starts_with_word("SELECTED", "SELECT"));
  CHECK_FALSE(starts_with_word("WITH x AS (SELECT 1) SELECT * FROM x", "SELECT"));
  CHECK_FALSE(starts_with_word("/* unterminated SELECT", "SELECT"));
  CHECK_FALSE(starts_with_word("", "SELECT"));
}

TEST_CASE("attributes apply writable values and report changes", "[exasim][attributes]") {
  attribute_set a;
  CHECK(a.autocommit());
  CHECK(a.all().size() >= 15);
  attribute_set before = a;
  REQUIRE_FALSE(a.apply({{"autocommit", false},
                         {"queryTimeout", 30},
                         {"unknownThing", 1},
                         {"compressionEnabled", true}}));
  CHECK_FALSE(a.autocommit());
  CHECK(a.query_timeout_seconds() == 30);
  CHECK_FALSE(a.compression_enabled()); // read-only: ignored
  auto changed = a.changed_since(before);
  CHECK(changed == json::object{{"autocommit", false}, {"queryTimeout", 30}});
  auto error = a.apply({{"autocommit", "yes"}, {"queryTimeout", 5}});
  REQUIRE(error);
  CHECK(error->find("autocommit") != std::string::npos);
  CHECK(a.query_timeout_seconds() == 30); // nothing applied from a bad request
  REQUIRE_FALSE(a.apply({{"currentSchema", nullptr}}));
  CHECK(a.current_schema().empty());
}

TEST_CASE("attributes clamp huge numbers and refuse negative and non-integer ones",
          "[exasim][attributes]") {
  attribute_set a;
  // 9.3e9 s is beyond what a nanosecond clock can add to "now" (issue 8: UBSan overflow).
  REQUIRE_FALSE(a.apply({{"queryTimeout", 9300000000LL}, {"feedbackInterval", 9300000000LL}}));
  CHECK(a.query_timeout_seconds() == max_attribute_seconds);
  CHECK(a.feedback_interval_seconds() == max_attribute_seconds);
  REQUIRE_FALSE(a.apply({{"queryTimeout", 1e300}, {"feedbackInterval", UINT64_MAX}}));
  CHECK(a.query_timeout_seconds() == max_attribute_seconds);
  CHECK(a.feedback_interval_seconds() == max_attribute_seconds);
  REQUIRE_FALSE(a.apply({{"resultSetMaxRows", INT64_MAX}}));
  CHECK(a.result_set_max_rows() == max_result_set_max_rows);
  REQUIRE_FALSE(a.apply({{"queryTimeout", 7}}));
  for (const json::value& bad :
       {json::value(-1), json::value(-1e300), json::value(1.5), json::value(INT64_MIN)}) {
    INFO(json::serialize(bad));
    CHECK(a.apply({{"queryTimeout", bad}}));
    CHECK(a.query_timeout_seconds() == 7);
  }
  a.set_query_timeout_seconds(INT64_MAX); // ALTER SESSION SET QUERY_TIMEOUT = <huge>
  CHECK(a.query_timeout_seconds() == max_attribute_seconds);
  a.set_query_timeout_seconds(-5);
  CHECK(a.query_timeout_seconds() == 0);
}

TEST_CASE("saturated_integer saturates integers and refuses the rest", "[exasim][attributes]") {
  CHECK(saturated_integer(json::value(42)) == 42);
  CHECK(saturated_integer(json::value(UINT64_MAX)) == INT64_MAX);
  CHECK(saturated_integer(json::value(1e20)) == INT64_MAX);
  CHECK(saturated_integer(json::value(-1e20)) == INT64_MIN);
  CHECK(saturated_integer(json::value(3.0)) == 3);
  CHECK_FALSE(saturated_integer(json::value(0.5)));
  CHECK_FALSE(saturated_integer(json::value(std::numeric_limits<double>::infinity())));
  CHECK_FALSE(saturated_integer(json::value(std::nan(""))));
  CHECK_FALSE(saturated_integer(json::value("12")));
}

TEST_CASE("results below 1000 rows go inline, from 1000 rows on behind a handle",
          "[exasim][results]") {
  result_store store;
  auto small = store.encode({numbered_rows(999), 0});
  const auto& set = small.at("resultSet").as_object();
  CHECK(set.at("numRowsInMessage") == 999);
  CHECK(set.at("data").at(0).as_array().size() == 999);
  CHECK_FALSE(set.contains("resultSetHandle"));

  auto empty = store.encode({numbered_rows(0), 0});
  CHECK_FALSE(empty.at("resultSet").as_object().contains("data"));
  CHECK(empty.at("resultSet").at("numColumns") == 2);

  auto big = store.encode({numbered_rows(1000), 0});
  const auto& handle_set = big.at("resultSet").as_object();
  CHECK_FALSE(handle_set.contains("data"));
  CHECK(handle_set.at("numRowsInMessage") == 0);
  auto handle = handle_set.at("resultSetHandle").as_int64();
  CHECK(handle >= 1);

  auto count = store.encode({std::nullopt, 7});
  CHECK(count == json::object{{"resultType", "rowCount"}, {"rowCount", 7}});

  auto limited = store.encode({numbered_rows(10), 0}, 3);
  CHECK(limited.at("resultSet").at("numRows") == 3);
}

// The store's fetch text, parsed; nullopt for an unknown handle (and then nothing written).
std::optional<json::object> fetch_json(const result_store& store, std::int64_t handle,
                                       std::uint64_t start, std::uint64_t num_bytes) {
  std::string text = "unchanged";
  if (!store.fetch(handle, start, num_bytes, text)) {
    CHECK(text == "unchanged");
    return std::nullopt;
  }
  REQUIRE(text.rfind("unchanged", 0) == 0); // appended, not replaced
  return json::parse(text.substr(9)).as_object();
}

TEST_CASE("fetch honours startPosition and numBytes with at least one row", "[exasim][results]") {
  result_store store;
  auto handle =
      store.encode({numbered_rows(5000), 0}).at("resultSet").at("resultSetHandle").as_int64();
  auto all = fetch_json(store, handle, 0, 64u << 20);
  REQUIRE(all);
  CHECK(all->at("numRows") == 5000);
  auto tiny = fetch_json(store, handle, 4998, 1);
  REQUIRE(tiny);
  CHECK(tiny->at("numRows") == 1);
  CHECK(tiny->at("data").at(0).at(0) == 4998);
  std::size_t fetched = 0, chunks = 0;
  while (fetched < 5000) {
    auto chunk = fetch_json(store, handle, fetched, 8192);
    REQUIRE(chunk);
    auto n = chunk->at("numRows").to_number<std::uint64_t>();
    REQUIRE(n > 0);
    CHECK(chunk->at("data").at(1).at(0) == json::string("row-" + std::to_string(fetched)));
    fetched += n;
    ++chunks;
  }
  CHECK(chunks > 3);
  CHECK(fetch_json(store, handle, 5000, 100)->at("numRows") == 0);
  auto header = store.header(handle);
  REQUIRE(header);
  CHECK(header->at("resultSet").at("numRows") == 5000);
  CHECK(header->at("resultSet").at("resultSetHandle") == handle);
  CHECK_FALSE(header->at("resultSet").as_object().contains("data"));
  CHECK(store.close(handle) != nullptr);
  CHECK_FALSE(fetch_json(store, handle, 0, 100));
  CHECK(store.close(handle) == nullptr);
  CHECK_FALSE(store.header(handle));
}

TEST_CASE("fetch writes every kind of value as JSON that parses back to it", "[exasim][results]") {
  result_store store;
  result_set rows = numbered_rows(1000);
  std::string long_text(2000, 'x'); // longer than one read of the serializer
  long_text += "\"quoted\"\n\ttab \\ \u00e9 \x01";
  rows.data[1][3] = json::string(long_text);
  rows.data[1][4] = nullptr;
  rows.data[0][5] = 1.5;
  rows.data[0][6] = true;
  rows.data[0][7] = -9223372036854775807LL - 1;
  auto handle = store.encode({rows, 0}).at("resultSet").at("resultSetHandle").as_int64();
  auto chunk = fetch_json(store, handle, 3, 64u << 20);
  REQUIRE(chunk);
  CHECK(chunk->at("numRows") == 997);
  const auto& data = chunk->at("data").as_array();
  REQUIRE(data.size() == 2);
  CHECK(data.at(1).at(0) == json::string(long_text));
  CHECK(data.at(1).at(1).is_null());
  CHECK(data.at(0).at(2) == 1.5);
  CHECK(data.at(0).at(3) == true);
  CHECK(data.at(0).at(4) == (-9223372036854775807LL - 1));
  CHECK(data.at(0).at(996) == 999);
  CHECK(data.at(1).at(996) == json::string("row-999"));
}

TEST_CASE("open results are accounted until closed or their store ends", "[exasim][results]") {
  auto memory = std::make_shared<result_memory>();
  {
    result_store store(memory);
    store.encode({numbered_rows(999), 0}); // inline: nothing kept
    CHECK(memory->rows == 0);
    auto first =
        store.encode({numbered_rows(2000), 0}).at("resultSet").at("resultSetHandle").as_int64();
    auto second =
        store.encode({numbered_rows(3000), 0}).at("resultSet").at("resultSetHandle").as_int64();
    CHECK(memory->rows == 5000);
    CHECK(store.held_rows() == 5000);
    CHECK(memory->bytes > 5000 * 10);
    CHECK(memory->bytes == store.held_bytes());
    fetch_json(store, first, 0, 64u << 20); // reading does not free: the client may read again
    CHECK(memory->rows == 5000);
    auto closed = store.close(first);
    REQUIRE(closed);
    CHECK(closed->num_rows == 2000);
    CHECK(memory->rows == 3000);
    CHECK(store.header(second));
    store.encode({numbered_rows(1000), 0});
    CHECK(memory->rows == 4000);
  } // the session ends with two results open
  CHECK(memory->rows == 0);
  CHECK(memory->bytes == 0);

  result_store store(memory);
  store.encode({numbered_rows(1500), 0});
  CHECK(memory->rows == 1500);
  auto all = store.close_all();
  CHECK(all.size() == 1);
  CHECK(memory->rows == 0);
  CHECK(store.open_handles() == 0);
}

TEST_CASE("the session-limit refusal is told apart from a wrong password", "[exasim][results]") {
  auto text = session_limit_text(4);
  CHECK(text == "Connection exception - session limit reached: 4 sessions are open.");
  CHECK(text.find(session_limit_marker) != std::string::npos);
  CHECK(text.find("authentication failed") == std::string::npos);
}

TEST_CASE("error responses always carry a five character sqlCode", "[exasim][results]") {
  CHECK(error_response("42000", "x").at("exception").at("sqlCode") == "42000");
  CHECK(error_response("", "x").at("exception").at("sqlCode") == "00000");
  CHECK(error_response("42000", "x").at("status") == "error");
}

TEST_CASE("insert_parameter_targets maps each parameter to its column", "[exasim][statements]") {
  auto plain = insert_parameter_targets("INSERT INTO conf_rows VALUES (?, ?)");
  REQUIRE(plain);
  CHECK(plain->table == "CONF_ROWS");
  CHECK(plain->columns.empty());
  CHECK(plain->positions == std::vector<int>{0, 1});
  auto listed =
      insert_parameter_targets("insert into s.t (b, a) values (?, 'x', upper(?)), (1, ?, ?)");
  REQUIRE(listed);
  CHECK(listed->table == "T");
  CHECK(listed->columns == std::vector<std::string>{"B", "A"});
  CHECK(listed->positions == std::vector<int>{0, -1, 1, 2});
  CHECK_FALSE(insert_parameter_targets("SELECT * FROM t WHERE a = ?"));
  CHECK_FALSE(insert_parameter_targets("INSERT INTO t SELECT * FROM u"));
}

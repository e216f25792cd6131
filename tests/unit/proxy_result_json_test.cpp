// The proxy hands upstream's typed results to its clients as Exasol JSON: every type the client
// reads must come back as it went in when the front's encoding is parsed by the client again.
#include "integration/exasol/response.hpp"
#include "integration/front/protocol.hpp"
#include "proxy/result_json.hpp"

#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

using namespace exapool::proxy;

namespace {

exasol::column column_of(std::string name, std::string type) {
  exasol::column c;
  c.name = std::move(name);
  c.type = std::move(type);
  return c;
}

// A result set with one column per type the client reads, two rows (a value and NULL).
exasol::result every_type() {
  exasol::result r;
  r.type = exasol::result::kind::result_set;
  auto& rows = r.rows;
  auto add = [&](exasol::column c, exasol::value v) {
    rows.columns.push_back(std::move(c));
    rows.data.push_back({std::move(v), std::monostate{}});
  };
  auto dec18 = column_of("I", "DECIMAL");
  dec18.precision = 18;
  add(dec18, std::int64_t{-9007199254740993});
  auto dec36 = column_of("D", "DECIMAL");
  dec36.precision = 36;
  dec36.scale = 2;
  add(dec36, exasol::decimal{"12345678901234567890123.45"});
  add(column_of("F", "DOUBLE"), 0.25);
  add(column_of("B", "BOOLEAN"), true);
  auto varchar = column_of("V", "VARCHAR");
  varchar.size = 2000;
  varchar.character_set = "UTF8";
  add(varchar, std::string("h\xc3\xa9llo \"quoted\""));
  auto fixed = column_of("C", "CHAR");
  fixed.size = 3;
  fixed.character_set = "ASCII";
  add(fixed, std::string("abc"));
  auto date = column_of("DT", "DATE");
  date.size = 4;
  add(date, std::string("2026-11-30"));
  auto local = column_of("TS", "TIMESTAMP WITH LOCAL TIME ZONE");
  local.size = 8;
  local.with_local_time_zone = true;
  add(local, std::string("2026-11-30 12:00:00.000000"));
  auto interval = column_of("IV", "INTERVAL DAY TO SECOND");
  interval.size = 8;
  interval.precision = 2;
  interval.fraction = 3;
  add(interval, std::string("+01 02:03:04.500"));
  auto geometry = column_of("G", "GEOMETRY");
  geometry.size = 8000;
  geometry.srid = 4326;
  add(geometry, std::string("POINT (1 2)"));
  auto hash = column_of("H", "HASHTYPE");
  hash.size = 16;
  add(hash, std::string("0123456789abcdef0123456789abcdef"));
  rows.total_rows = 2;
  return r;
}

// What the client reads from the front's encoding of `results`.
std::vector<exasol::result> through_the_front(const std::vector<exasol::result>& results) {
  std::vector<exafront::statement_result> converted;
  for (const auto& r : results)
    converted.push_back(front_result(r));
  exafront::result_store store;
  boost::json::object response = exafront::ok_response();
  response["responseData"] = exafront::encode_results(std::move(converted), store, 0);
  return exasol::response::parse_results(boost::json::serialize(response)).results;
}

} // namespace

TEST_CASE("every column type and value survives the proxy's conversion") {
  auto original = every_type();
  auto back = through_the_front({original});
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].is_result_set());
  const auto& rows = back[0].rows;
  REQUIRE(rows.columns.size() == original.rows.columns.size());
  for (std::size_t c = 0; c < rows.columns.size(); ++c) {
    const auto& want = original.rows.columns[c];
    const auto& got = rows.columns[c];
    INFO("column " << want.name);
    CHECK(got.name == want.name);
    CHECK(got.type == want.type);
    CHECK(got.precision == want.precision);
    CHECK(got.scale == want.scale);
    CHECK(got.size == want.size);
    CHECK(got.character_set == want.character_set);
    CHECK(got.with_local_time_zone == want.with_local_time_zone);
    CHECK(got.fraction == want.fraction);
    CHECK(got.srid == want.srid);
    CHECK(rows.data[c] == original.rows.data[c]);
  }
}

TEST_CASE("row counts stay row counts, and results keep their order") {
  exasol::result count;
  count.row_count = 42;
  auto back = through_the_front({count, every_type(), count});
  REQUIRE(back.size() == 3);
  CHECK(!back[0].is_result_set());
  CHECK(back[0].row_count == 42);
  CHECK(back[1].is_result_set());
  CHECK(back[2].row_count == 42);
}

TEST_CASE("a client's connection attributes are what a pooled connection must match") {
  exafront::attribute_set client;
  client.apply(boost::json::object{{"autocommit", false},
                                   {"currentSchema", "S1"},
                                   {"queryTimeout", 7},
                                   {"feedbackInterval", 3}});
  auto wanted = wanted_attributes(client);
  CHECK(std::get<bool>(wanted.at("autocommit")) == false);
  CHECK(std::get<std::string>(wanted.at("currentSchema")) == "S1");
  CHECK(std::get<std::int64_t>(wanted.at("queryTimeout")) == 7);
  CHECK(wanted.count("feedbackInterval") == 0); // the front's own, never the connection's

  SECTION("what a statement changed comes back to the client") {
    exasol::attributes after{{"currentSchema", std::string("S2")},
                             {"queryTimeout", std::int64_t{9}},
                             {"autocommit", false}};
    take_attributes(after, true, client);
    CHECK(client.current_schema() == "S2");
    CHECK(client.query_timeout_seconds() == 9);
    CHECK(client.all().at("openTransaction").as_bool());
  }
  SECTION("no schema upstream is no schema for the client") {
    take_attributes({{"currentSchema", std::monostate{}}}, false, client);
    CHECK(client.current_schema().empty());
  }
}

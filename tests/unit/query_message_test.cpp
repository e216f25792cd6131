#include "messages/proxy.hpp"
#include "messages/query.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <catch2/catch.hpp>

using namespace exapool;

TEST_CASE("query results survive CAF serialisation with every value type", "[messages]") {
  exasol::result_set rs;
  rs.columns.resize(6);
  rs.columns[0].name = "N";
  rs.columns[0].type = "DECIMAL";
  rs.columns[0].precision = 18;
  rs.data = {{std::int64_t{42}}, {exasol::decimal{"3.14"}}, {2.5}, {std::string("text")}, {true},
             {std::monostate{}}};
  rs.total_rows = 1;
  exasol::result r;
  r.type = exasol::result::kind::result_set;
  r.rows = rs;
  exasol::result count;
  count.row_count = 7;
  query_result original{{r, count}};

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  REQUIRE_FALSE(sink(original));
  query_result copy;
  caf::binary_deserializer source{sys, buffer};
  REQUIRE_FALSE(source(copy));

  REQUIRE(copy.results.size() == 2);
  CHECK(copy.results[0].is_result_set());
  CHECK(copy.results[0].rows.data == rs.data);
  CHECK(copy.results[0].rows.columns[0].precision == 18);
  CHECK(copy.results[1].row_count == 7);
  CHECK_FALSE(copy.results[1].is_result_set());
  CHECK(caf::deep_to_string(original).find("text") != std::string::npos);
}

TEST_CASE("proxy requests and outcomes survive CAF serialisation", "[messages][proxy]") {
  proxy_request request;
  request.type = proxy_request::kind::execute_prepared;
  request.sql = {"INSERT INTO t VALUES (?, ?)"};
  request.wanted = {{"autocommit", false},
                    {"currentSchema", std::string("S")},
                    {"queryTimeout", std::int64_t{7}}};
  request.handle = 12;
  request.data_json = R"([[1,2],["a",null]])";
  request.num_rows = 2;

  exasol::result count;
  count.row_count = 2;
  proxy_outcome outcome;
  outcome.results = {count};
  outcome.after = {{"autocommit", false}, {"numericCharacters", std::string(".,")}};
  outcome.sql_code = "42000";
  outcome.text = "object T not found";
  outcome.transaction_open = true;
  outcome.open_prepared = 3;
  outcome.change = session_change::lasting;
  outcome.handle = 12;
  outcome.parameter_columns_json = R"([{"name":"","dataType":{"type":"BOOLEAN"}}])";
  outcome.result_columns_json = "[]";

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  REQUIRE_FALSE(sink(request, outcome));
  proxy_request request_copy;
  proxy_outcome outcome_copy;
  caf::binary_deserializer source{sys, buffer};
  REQUIRE_FALSE(source(request_copy, outcome_copy));

  CHECK(request_copy.type == proxy_request::kind::execute_prepared);
  CHECK(request_copy.sql == request.sql);
  CHECK(request_copy.wanted == request.wanted);
  CHECK(request_copy.handle == 12);
  CHECK(request_copy.data_json == request.data_json);
  CHECK(request_copy.num_rows == 2);

  REQUIRE(outcome_copy.results.size() == 1);
  CHECK(outcome_copy.results[0].row_count == 2);
  CHECK(outcome_copy.after == outcome.after);
  CHECK(outcome_copy.failed());
  CHECK(outcome_copy.sql_code == "42000");
  CHECK(outcome_copy.text == outcome.text);
  CHECK(outcome_copy.transaction_open);
  CHECK(outcome_copy.open_prepared == 3);
  CHECK(outcome_copy.change == session_change::lasting);
  CHECK(outcome_copy.handle == 12);
  CHECK(outcome_copy.parameter_columns_json == outcome.parameter_columns_json);
  CHECK(outcome_copy.result_columns_json == "[]");
  CHECK(caf::deep_to_string(request).find("INSERT INTO t") != std::string::npos);

  // A kind this build does not know (the first byte) is refused, not cast.
  auto bad = buffer;
  bad[0] = 99;
  caf::binary_deserializer bad_source{sys, bad};
  proxy_request refused;
  CHECK(bad_source(refused));
}

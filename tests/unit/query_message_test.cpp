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

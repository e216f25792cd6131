// The client's response decoder (integration/exasol/response.hpp) fed arbitrary text, as a
// hostile or broken server could send it. Every parse function either returns a well-formed
// value or throws exasol::error of kind server or protocol; any other exception (bad_alloc from a
// size the server claimed, out_of_range), a crash, a leak or UB is a finding.
#include "fuzz/fuzz_check.hpp"

#include "integration/exasol/errors.hpp"
#include "integration/exasol/response.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace exasol;

// Column-major data holds one vector per column, each row_count() long: a caller may read any
// at(row, column) below the counts the result set reports.
void check_shape(const result_set& rs) {
  if (rs.row_count() == 0)
    return;
  FUZZ_CHECK(rs.data.size() == rs.column_count());
  for (const auto& column : rs.data)
    FUZZ_CHECK(column.size() == rs.row_count());
  for (std::size_t c = 0; c < rs.column_count(); ++c)
    (void)to_string(rs.at(rs.row_count() - 1, c));
}

template <class Parse> void expect_contract(Parse parse) {
  try {
    parse();
  } catch (const error& e) {
    FUZZ_CHECK(e.kind() == error_kind::server || e.kind() == error_kind::protocol);
  }
}

// A result set as the client holds it between fetches: one column of each reader kind.
result_set fetch_target() {
  result_set rs;
  auto add = [&rs](const char* name, const char* type, int precision, int scale) {
    column c;
    c.name = name;
    c.type = type;
    c.precision = precision;
    c.scale = scale;
    rs.columns.push_back(c);
  };
  add("I", "DECIMAL", 18, 0);
  add("D", "DECIMAL", 36, 2);
  add("F", "DOUBLE", 0, 0);
  add("B", "BOOLEAN", 0, 0);
  add("V", "VARCHAR", 0, 0);
  add("T", "TIMESTAMP", 0, 0);
  rs.data.resize(rs.columns.size());
  rs.total_rows = 1000;
  rs.handle = 1;
  return rs;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  expect_contract([&] { response::parse_login_key(text); });
  expect_contract([&] { response::parse_session_info(text); });
  expect_contract([&] { response::parse_status(text); });
  expect_contract([&] {
    auto r = response::parse_results(text);
    for (const auto& one : r.results)
      if (one.is_result_set())
        check_shape(one.rows);
  });
  expect_contract([&] {
    auto into = fetch_target();
    auto before = into.row_count();
    auto r = response::parse_fetch_into(text, into);
    FUZZ_CHECK(into.row_count() == before + r.rows);
    check_shape(into);
  });
  expect_contract([&] {
    auto r = response::parse_prepared(text);
    for (const auto& one : r.statement.results)
      if (one.is_result_set())
        check_shape(one.rows);
  });
  return 0;
}

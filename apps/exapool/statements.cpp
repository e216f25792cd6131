#include "apps/exapool/statements.hpp"

#include "integration/exasol/format.hpp"

#include <iostream>

namespace exapool::cli {

int run_statements(exasol::connection& conn, const std::vector<std::string>& statements,
                   std::ostream& out, output_format format) {
  int failures = 0;
  for (const auto& sql : statements) {
    try {
      auto results = conn.execute(sql);
      if (format == output_format::json)
        exasol::print_json(out, results);
      for (const auto& result : results) {
        if (format == output_format::table)
          exasol::print_result(out, result);
        else if (format == output_format::csv && result.is_result_set())
          exasol::print_csv(out, result.rows);
      }
    } catch (const exasol::error& e) {
      std::cerr << "error [" << to_string(e.kind()) << (e.sql_code().empty() ? "" : " ")
                << e.sql_code() << "]: " << e.what() << "\n";
      ++failures;
      if (!conn.is_open())
        break; // the session is gone: later statements cannot run
    }
  }
  return failures;
}

} // namespace exapool::cli

#include "apps/exapool/statements.hpp"

#include "integration/exasol/format.hpp"

#include <iostream>

namespace exapool::cli {

int run_statements(exasol::connection& conn, const std::vector<std::string>& statements,
                   std::ostream& out) {
  int failures = 0;
  for (const auto& sql : statements) {
    try {
      for (const auto& result : conn.execute(sql))
        exasol::print_result(out, result);
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

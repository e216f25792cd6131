// Runs SQL statements one by one on a connection, printing each result; shared by `query` and
// the main job.
#pragma once

#include "integration/exasol/connection.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace exapool::cli {

// How results are printed: an aligned table, CSV (RFC 4180) or one JSON line per statement.
enum class output_format { table, csv, json };

// Returns how many statements failed (each failure is reported on stderr with its kind and
// sqlCode). Stops early when the session is gone.
int run_statements(exasol::connection& conn, const std::vector<std::string>& statements,
                   std::ostream& out, output_format format = output_format::table);

} // namespace exapool::cli

// Prints results for people (used by `exapool query`).
#pragma once

#include "integration/exasol/values.hpp"

#include <iosfwd>

namespace exasol {

// An aligned table: a header with column names, a rule, one line per row, and a row count.
// Numbers are right-aligned, everything else left-aligned; NULL is printed as NULL.
void print_table(std::ostream& out, const result_set& rs);

// A result set as a table, a row count as "N rows affected".
void print_result(std::ostream& out, const result& r);

} // namespace exasol

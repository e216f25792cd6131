// Prints results for people and programs (used by `exapool query`).
#pragma once

#include "integration/exasol/values.hpp"

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace exasol {

// An aligned table: a header with column names, a rule, one line per row, and a row count.
// Numbers are right-aligned, everything else left-aligned; NULL is printed as NULL.
void print_table(std::ostream& out, const result_set& rs);

// A result set as a table, a row count as "N rows affected".
void print_result(std::ostream& out, const result& r);

// A result set as CSV (RFC 4180): a header line with the column names, then one line per row;
// a field with a comma, a double quote or a line break is quoted (quotes doubled); NULL is an
// empty field. A row count prints nothing.
void print_csv(std::ostream& out, const result_set& rs);

// The results of one statement as one line of JSON:
//   {"results":[{"columns":["A",...],"rows":[[1,"x",null],...]}, {"rowCount":3}]}
// Numbers that fit int64 or double are JSON numbers, exact decimals stay strings (no digit is
// lost), NULL is null.
void print_json(std::ostream& out, const std::vector<result>& results);

// Splits a script into statements at each ';' outside quotes ('...', "...") and comments
// (-- to the end of the line, /* ... */); drops empty statements and the whitespace around each.
std::vector<std::string> split_statements(std::string_view script);

} // namespace exasol

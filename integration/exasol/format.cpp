#include "integration/exasol/format.hpp"

#include <algorithm>
#include <ostream>

namespace exasol {
namespace {

// Display width in characters: UTF-8 continuation bytes take no column.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool right_aligned(const column& c) {
  return c.type == "DECIMAL" || c.type == "DOUBLE";
}

void pad(std::ostream& out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out.put(' ');
}

void cell(std::ostream& out, const std::string& text, std::size_t width, bool right) {
  std::size_t gap = width - std::min(width, display_width(text));
  if (right)
    pad(out, gap);
  out << text;
  if (!right)
    pad(out, gap);
}

} // namespace

void print_table(std::ostream& out, const result_set& rs) {
  const std::size_t columns = rs.column_count(), rows = rs.row_count();
  std::vector<std::vector<std::string>> texts(columns);
  std::vector<std::size_t> widths(columns);
  for (std::size_t c = 0; c < columns; ++c) {
    widths[c] = display_width(rs.columns[c].name);
    texts[c].reserve(rows);
    for (std::size_t r = 0; r < rows; ++r) {
      texts[c].push_back(to_string(rs.at(r, c)));
      widths[c] = std::max(widths[c], display_width(texts[c].back()));
    }
  }
  for (std::size_t c = 0; c < columns; ++c) {
    out << (c == 0 ? "" : " | ");
    cell(out, rs.columns[c].name, widths[c], right_aligned(rs.columns[c]));
  }
  out << '\n';
  for (std::size_t c = 0; c < columns; ++c)
    out << (c == 0 ? "" : "-+-") << std::string(widths[c], '-');
  out << '\n';
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns; ++c) {
      out << (c == 0 ? "" : " | ");
      cell(out, texts[c][r], widths[c], right_aligned(rs.columns[c]));
    }
    out << '\n';
  }
  out << "(" << rows << (rows == 1 ? " row)" : " rows)") << '\n';
}

void print_result(std::ostream& out, const result& r) {
  if (r.is_result_set())
    print_table(out, r.rows);
  else
    out << r.row_count << (r.row_count == 1 ? " row affected" : " rows affected") << '\n';
}

} // namespace exasol

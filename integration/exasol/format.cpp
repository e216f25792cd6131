#include "integration/exasol/format.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
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

namespace {

void csv_field(std::ostream& out, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    out << text;
    return;
  }
  out << '"';
  for (char c : text)
    out << (c == '"' ? "\"\"" : std::string(1, c));
  out << '"';
}

boost::json::value json_of(const value& v) {
  struct visitor {
    boost::json::value operator()(std::monostate) const { return nullptr; }
    boost::json::value operator()(bool b) const { return b; }
    boost::json::value operator()(std::int64_t i) const { return i; }
    boost::json::value operator()(double d) const { return d; }
    boost::json::value operator()(const decimal& d) const { return boost::json::string(d.text); }
    boost::json::value operator()(const std::string& s) const { return boost::json::string(s); }
  };
  return std::visit(visitor{}, v);
}

} // namespace

void print_csv(std::ostream& out, const result_set& rs) {
  for (std::size_t c = 0; c < rs.column_count(); ++c) {
    out << (c == 0 ? "" : ",");
    csv_field(out, rs.columns[c].name);
  }
  out << "\r\n";
  for (std::size_t r = 0; r < rs.row_count(); ++r) {
    for (std::size_t c = 0; c < rs.column_count(); ++c) {
      out << (c == 0 ? "" : ",");
      if (!is_null(rs.at(r, c)))
        csv_field(out, to_string(rs.at(r, c)));
    }
    out << "\r\n";
  }
}

void print_json(std::ostream& out, const std::vector<result>& results) {
  boost::json::array items;
  for (const auto& r : results) {
    if (!r.is_result_set()) {
      items.push_back(boost::json::object{{"rowCount", r.row_count}});
      continue;
    }
    boost::json::array columns, rows;
    for (const auto& c : r.rows.columns)
      columns.push_back(boost::json::string(c.name));
    for (std::size_t row = 0; row < r.rows.row_count(); ++row) {
      boost::json::array line;
      for (std::size_t c = 0; c < r.rows.column_count(); ++c)
        line.push_back(json_of(r.rows.at(row, c)));
      rows.push_back(std::move(line));
    }
    items.push_back(
        boost::json::object{{"columns", std::move(columns)}, {"rows", std::move(rows)}});
  }
  out << boost::json::serialize(boost::json::object{{"results", std::move(items)}}) << '\n';
}

std::vector<std::string> split_statements(std::string_view script) {
  std::vector<std::string> out;
  std::string current;
  auto finish = [&] {
    auto first = current.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) {
      auto last = current.find_last_not_of(" \t\r\n");
      out.push_back(current.substr(first, last - first + 1));
    }
    current.clear();
  };
  for (std::size_t i = 0; i < script.size(); ++i) {
    char c = script[i];
    if (c == '\'' || c == '"') { // a quote ends at the same quote; doubling escapes it
      auto end = i + 1;
      while (end < script.size() && script[end] != c)
        ++end;
      current.append(script.substr(i, end + 1 - i));
      i = end;
    } else if (c == '-' && i + 1 < script.size() && script[i + 1] == '-') {
      auto end = script.find('\n', i);
      end = end == std::string_view::npos ? script.size() : end;
      current.append(script.substr(i, end - i));
      i = end - 1;
    } else if (c == '/' && i + 1 < script.size() && script[i + 1] == '*') {
      auto end = script.find("*/", i + 2);
      end = end == std::string_view::npos ? script.size() : end + 2;
      current.append(script.substr(i, end - i));
      i = end - 1;
    } else if (c == ';') {
      finish();
    } else {
      current += c;
    }
  }
  finish();
  return out;
}

} // namespace exasol

#include "integration/exasim/value_types.hpp"

#include "integration/exasim/exasol_statements.hpp"

#include <boost/json/string.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace exasim {
namespace {

// "NAME(a, b) REST" -> a, b when present.
void parse_arguments(std::string_view decl, int& a, int& b, bool& has_a, bool& has_b) {
  has_a = has_b = false;
  auto open = decl.find('(');
  if (open == std::string_view::npos)
    return;
  const char* p = decl.data() + open + 1;
  const char* end = decl.data() + decl.size();
  while (p < end && *p == ' ')
    ++p;
  auto r = std::from_chars(p, end, a);
  if (r.ec != std::errc())
    return;
  has_a = true;
  p = r.ptr;
  while (p < end && *p == ' ')
    ++p;
  if (p < end && *p == ',') {
    ++p;
    while (p < end && *p == ' ')
      ++p;
    has_b = std::from_chars(p, end, b).ec == std::errc();
  }
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string hex_upper(std::string_view bytes) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0f]);
  }
  return out;
}

// SQLite's own text form of a REAL (15 significant digits).
std::string real_text(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  return buf;
}

std::string as_text(const raw_value& v) {
  switch (v.cls) {
  case raw_value::storage::integer:
    return std::to_string(v.integer);
  case raw_value::storage::real:
    return real_text(v.real);
  case raw_value::storage::text:
    return v.bytes;
  case raw_value::storage::blob:
    return hex_upper(v.bytes);
  case raw_value::storage::null:
    break;
  }
  return {};
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
  std::int64_t out = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty())
    return std::nullopt;
  return out;
}

// An integer scaled to `scale` fraction digits: 12 at scale 2 -> "12.00".
std::string scaled_integer(std::int64_t value, int scale) {
  std::string out = std::to_string(value);
  if (scale > 0)
    out += "." + std::string(static_cast<std::size_t>(scale), '0');
  return out;
}

boost::json::value encode_decimal(const raw_value& v, const exa_type& t) {
  bool as_number = t.precision <= 18 && t.scale == 0;
  switch (v.cls) {
  case raw_value::storage::integer:
    if (as_number)
      return v.integer;
    return boost::json::string(scaled_integer(v.integer, t.scale));
  case raw_value::storage::real: {
    if (as_number && std::floor(v.real) == v.real && std::fabs(v.real) < 1e18)
      return static_cast<std::int64_t>(v.real);
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.*f", t.scale, v.real);
    return boost::json::string(buf);
  }
  case raw_value::storage::text:
    if (as_number)
      if (auto i = parse_int64(v.bytes))
        return *i;
    return boost::json::string(v.bytes);
  default:
    return boost::json::string(as_text(v));
  }
}

boost::json::value encode_double(const raw_value& v) {
  double d = 0;
  if (v.cls == raw_value::storage::integer)
    d = static_cast<double>(v.integer);
  else if (v.cls == raw_value::storage::real)
    d = v.real;
  else {
    std::string text = as_text(v);
    char* end = nullptr;
    d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
      return boost::json::string(text); // not a number at all: show it rather than hide it
  }
  if (!std::isfinite(d))
    return nullptr; // JSON has no NaN or Infinity
  return d;
}

boost::json::value encode_boolean(const raw_value& v) {
  if (v.cls == raw_value::storage::integer)
    return v.integer != 0;
  if (v.cls == raw_value::storage::real)
    return v.real != 0;
  std::string text = upper_ascii(as_text(v));
  if (text == "TRUE" || text == "1")
    return true;
  if (text == "FALSE" || text == "0")
    return false;
  return boost::json::string(as_text(v));
}

// "2021-12-31 23:59:59" or "...T...", with 0-9 fraction digits -> 6 fraction digits.
std::string timestamp_text(std::string text) {
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[13] != ':')
    return text;
  if (text[10] == 'T')
    text[10] = ' ';
  std::string head = text.substr(0, 19);
  std::string fraction;
  if (text.size() > 19 && text[19] == '.') {
    fraction = text.substr(20);
    for (char c : fraction)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return text;
  } else if (text.size() > 19) {
    return text;
  }
  fraction.resize(6, '0');
  return head + "." + fraction;
}

} // namespace

std::optional<exa_type> type_from_declaration(std::string_view declared) {
  std::string decl = upper_ascii(declared);
  int a = 0, b = 0;
  bool has_a = false, has_b = false;
  parse_arguments(decl, a, b, has_a, has_b);
  using kind = exa_type::kind;
  if (starts_with(decl, "DECIMAL") || starts_with(decl, "NUMERIC") || starts_with(decl, "NUMBER") ||
      starts_with(decl, "DEC")) {
    int p = has_a ? a : 18;
    int s = has_b ? b : 0;
    if (p < 1 || p > 36 || s < 0 || s > p)
      return exa_type::decimal(36, 0);
    return exa_type::decimal(p, s);
  }
  if (starts_with(decl, "BIGINT"))
    return exa_type::decimal(36, 0);
  if (starts_with(decl, "SMALLINT"))
    return exa_type::decimal(9, 0);
  if (starts_with(decl, "TINYINT"))
    return exa_type::decimal(3, 0);
  if (starts_with(decl, "INT"))
    return exa_type::decimal(18, 0);
  if (starts_with(decl, "DOUBLE") || starts_with(decl, "FLOAT") || starts_with(decl, "REAL"))
    return exa_type::double_precision();
  if (starts_with(decl, "BOOL"))
    return exa_type::boolean();
  if (starts_with(decl, "DATETIME"))
    return exa_type{kind::timestamp};
  if (starts_with(decl, "DATE"))
    return exa_type{kind::date};
  if (starts_with(decl, "TIMESTAMP")) {
    exa_type t{kind::timestamp};
    t.with_local_time_zone = decl.find("LOCAL") != std::string::npos;
    return t;
  }
  bool varying = decl.find("VARYING") != std::string::npos;
  if (starts_with(decl, "VARCHAR") || starts_with(decl, "NVARCHAR") || varying)
    return exa_type::varchar(has_a && a > 0 ? a : 2000000);
  if (starts_with(decl, "CHAR") || starts_with(decl, "NCHAR")) {
    exa_type t{kind::fixed_char};
    t.size = has_a && a > 0 ? a : 1;
    return t;
  }
  if (starts_with(decl, "TEXT") || starts_with(decl, "CLOB") || starts_with(decl, "STRING"))
    return exa_type::varchar();
  return std::nullopt;
}

exa_type type_from_values(const std::vector<raw_value>& values) {
  bool any_integer = false, any_real = false, any_text = false, wide = false;
  for (const auto& v : values) {
    switch (v.cls) {
    case raw_value::storage::integer:
      any_integer = true;
      wide = wide || v.integer >= 1000000000000000000LL || v.integer <= -1000000000000000000LL;
      break;
    case raw_value::storage::real:
      any_real = true;
      break;
    case raw_value::storage::text:
    case raw_value::storage::blob:
      any_text = true;
      break;
    case raw_value::storage::null:
      break;
    }
  }
  if (any_text || (!any_integer && !any_real))
    return exa_type::varchar();
  if (any_real)
    return exa_type::double_precision();
  return exa_type::decimal(wide ? 36 : 18, 0);
}

boost::json::object data_type_json(const exa_type& t) {
  using kind = exa_type::kind;
  switch (t.what) {
  case kind::decimal:
    return {{"type", "DECIMAL"}, {"precision", t.precision}, {"scale", t.scale}};
  case kind::double_precision:
    return {{"type", "DOUBLE"}};
  case kind::varchar:
    return {{"type", "VARCHAR"}, {"size", t.size}, {"characterSet", "UTF8"}};
  case kind::fixed_char:
    return {{"type", "CHAR"}, {"size", t.size}, {"characterSet", "UTF8"}};
  case kind::boolean:
    return {{"type", "BOOLEAN"}};
  case kind::date:
    return {{"type", "DATE"}, {"size", 4}};
  case kind::timestamp:
    return {{"type", t.with_local_time_zone ? "TIMESTAMP WITH LOCAL TIME ZONE" : "TIMESTAMP"},
            {"size", 8},
            {"withLocalTimeZone", t.with_local_time_zone}};
  }
  return {};
}

boost::json::value encode_value(const raw_value& v, const exa_type& t) {
  if (v.cls == raw_value::storage::null)
    return nullptr;
  using kind = exa_type::kind;
  switch (t.what) {
  case kind::decimal:
    return encode_decimal(v, t);
  case kind::double_precision:
    return encode_double(v);
  case kind::boolean:
    return encode_boolean(v);
  case kind::fixed_char: {
    std::string text = as_text(v);
    std::size_t length = utf8_length(text);
    if (length < static_cast<std::size_t>(t.size))
      text.append(static_cast<std::size_t>(t.size) - length, ' ');
    return boost::json::string(text);
  }
  case kind::timestamp:
    return boost::json::string(timestamp_text(as_text(v)));
  case kind::varchar:
  case kind::date:
    break;
  }
  if (v.cls == raw_value::storage::text) // most values: no copy on the way
    return boost::json::string(std::string_view(v.bytes));
  return boost::json::string(as_text(v));
}

} // namespace exasim

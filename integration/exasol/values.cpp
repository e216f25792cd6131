#include "integration/exasol/values.hpp"

#include "integration/exasol/errors.hpp"

#include <charconv>

namespace exasol {

std::string to_string(const value& v) {
  struct visitor {
    std::string operator()(std::monostate) const { return "NULL"; }
    std::string operator()(bool b) const { return b ? "TRUE" : "FALSE"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d); // shortest exact form
      return ec == std::errc{} ? std::string(buf, end) : std::to_string(d);
    }
    std::string operator()(const decimal& d) const { return d.text; }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(visitor{}, v);
}

std::optional<std::size_t> result_set::column_index(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name)
      return i;
  return std::nullopt;
}

std::string_view to_string(error_kind kind) {
  switch (kind) {
  case error_kind::server:
    return "server";
  case error_kind::auth:
    return "auth";
  case error_kind::refused:
    return "refused";
  case error_kind::reset:
    return "reset";
  case error_kind::network:
    return "network";
  case error_kind::tls:
    return "tls";
  case error_kind::fingerprint_mismatch:
    return "fingerprint_mismatch";
  case error_kind::timeout:
    return "timeout";
  case error_kind::protocol:
    return "protocol";
  case error_kind::config:
    return "config";
  case error_kind::broken:
    return "broken";
  case error_kind::dns:
    return "dns";
  case error_kind::result_too_large:
    return "result_too_large";
  }
  return "unknown";
}

} // namespace exasol

// Exasol connection strings (protocol reference §1.3), the pyexasol/JDBC style:
//   part[,part...]   part = host[/FINGERPRINT][:PORT]   host may hold one range prefixA..Bsuffix
// Pure parsing, no I/O: name resolution happens when connecting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace exasol {

inline constexpr std::uint16_t default_port = 8563;

struct dsn_host {
  std::string host; // a name, an IPv4 address or an IPv6 address (without brackets)
  std::uint16_t port = default_port;
  std::string fingerprint;    // lower-case hex SHA-256 to pin, or empty
  bool no_cert_check = false; // "nocertcheck" in the fingerprint slot: TLS without any check

  friend bool operator==(const dsn_host& a, const dsn_host& b) {
    return a.host == b.host && a.port == b.port && a.fingerprint == b.fingerprint &&
           a.no_cert_check == b.no_cert_check;
  }
};

// Expands a DSN into its hosts, in DSN order. A part without port or fingerprint takes them from
// the nearest part to its right that has one; the default port is 8563. `tls` is false for ws://,
// where a fingerprint is meaningless and therefore rejected. Throws exasol::error (config) naming
// the offending part for: an empty DSN or part, a bad port, a range with A > B or more than one
// range, a fingerprint that is not 64 hex digits, a fingerprint without TLS.
std::vector<dsn_host> parse_dsn(std::string_view dsn, bool tls = true);

} // namespace exasol

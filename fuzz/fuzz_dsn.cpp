// exasol::parse_dsn fed arbitrary text, with and without TLS. Its contract (dsn.hpp): hosts in
// DSN order, or exasol::error of kind config; any other exception, a crash or UB is a finding.
#include "fuzz/fuzz_check.hpp"

#include "integration/exasol/dsn.hpp"
#include "integration/exasol/errors.hpp"

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

bool lower_hex_sha256(const std::string& s) {
  if (s.size() != 64)
    return false;
  for (unsigned char c : s)
    if (!std::isdigit(c) && !(c >= 'a' && c <= 'f'))
      return false;
  return true;
}

void parse(std::string_view text, bool tls) {
  try {
    auto hosts = exasol::parse_dsn(text, tls);
    FUZZ_CHECK(!hosts.empty());
    for (const auto& h : hosts) {
      FUZZ_CHECK(!h.host.empty());
      FUZZ_CHECK(h.port != 0);
      FUZZ_CHECK(h.fingerprint.empty() || lower_hex_sha256(h.fingerprint));
      FUZZ_CHECK(tls || (h.fingerprint.empty() && !h.no_cert_check));
      FUZZ_CHECK(!(h.no_cert_check && !h.fingerprint.empty()));
    }
  } catch (const exasol::error& e) {
    FUZZ_CHECK(e.kind() == exasol::error_kind::config);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  parse(text, true);
  parse(text, false);
  return 0;
}

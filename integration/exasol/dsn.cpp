#include "integration/exasol/dsn.hpp"

#include "integration/exasol/errors.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace exasol {
namespace {

// A range expanding to more hosts than this is a typo, not a cluster.
constexpr long max_hosts_per_range = 10000;

struct raw_part {
  std::string host;
  std::optional<std::string> fingerprint; // as written; "nocertcheck" kept verbatim
  std::optional<std::uint16_t> port;
  bool bracketed = false; // [IPv6]: never expanded as a range
};

[[noreturn]] void reject(std::string_view part, const std::string& why) {
  throw error(error_kind::config, "invalid DSN part '" + std::string(part) + "': " + why);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::uint16_t parse_port(std::string_view part, std::string_view text) {
  if (!all_digits(text) || text.size() > 5)
    reject(part, "port '" + std::string(text) + "' is not a number");
  long port = std::stol(std::string(text));
  if (port < 1 || port > 65535)
    reject(part, "port " + std::string(text) + " is outside 1..65535");
  return static_cast<std::uint16_t>(port);
}

// Splits "host[/fingerprint][:port]" (host possibly "[v6]").
raw_part split_part(std::string_view part) {
  raw_part out;
  std::string_view rest;
  if (!part.empty() && part.front() == '[') {
    auto close = part.find(']');
    if (close == std::string_view::npos)
      reject(part, "'[' without a closing ']'");
    out.host = std::string(part.substr(1, close - 1));
    out.bracketed = true;
    rest = part.substr(close + 1);
  } else {
    auto end = part.find_first_of("/:");
    out.host = std::string(part.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : part.substr(end);
  }
  if (out.host.empty())
    reject(part, "the host name is empty");
  if (!rest.empty() && rest.front() == '/') {
    auto colon = rest.find(':');
    out.fingerprint =
        std::string(rest.substr(1, colon == std::string_view::npos ? colon : colon - 1));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
    if (out.fingerprint->empty())
      reject(part, "the fingerprint after '/' is empty");
  }
  if (!rest.empty() && rest.front() == ':') {
    out.port = parse_port(part, rest.substr(1));
    rest = {};
  }
  if (!rest.empty())
    reject(part, "unexpected '" + std::string(rest) + "' after the host");
  return out;
}

// "node01..12.lan" -> node01 ... node12 (zero-padded to the width of A); other names unchanged.
std::vector<std::string> expand_range(std::string_view part, const std::string& host) {
  auto dots = host.find("..");
  if (dots == std::string::npos)
    return {host};
  auto a_begin = dots;
  while (a_begin > 0 && std::isdigit(static_cast<unsigned char>(host[a_begin - 1])))
    --a_begin;
  auto b_end = dots + 2;
  while (b_end < host.size() && std::isdigit(static_cast<unsigned char>(host[b_end])))
    ++b_end;
  std::string a = host.substr(a_begin, dots - a_begin);
  std::string b = host.substr(dots + 2, b_end - dots - 2);
  std::string prefix = host.substr(0, a_begin), suffix = host.substr(b_end);
  if (a.empty() || b.empty())
    reject(part, "a host range needs a number on both sides of '..'");
  if (suffix.find("..") != std::string::npos)
    reject(part, "a host name may contain only one range");
  if (a.size() > 9 || b.size() > 9)
    reject(part, "the numbers of the host range are too long");
  long from = std::stol(a), to = std::stol(b);
  if (from > to)
    reject(part, "the host range starts above its end (" + a + " > " + b + ")");
  if (to - from + 1 > max_hosts_per_range)
    reject(part,
           "the host range expands to more than " + std::to_string(max_hosts_per_range) + " hosts");
  std::vector<std::string> hosts;
  for (long i = from; i <= to; ++i) {
    std::string number = std::to_string(i);
    if (number.size() < a.size())
      number.insert(0, a.size() - number.size(), '0');
    hosts.push_back(prefix + number + suffix);
  }
  return hosts;
}

void check_fingerprint(std::string_view part, const std::string& fingerprint) {
  bool hex = std::all_of(fingerprint.begin(), fingerprint.end(),
                         [](unsigned char c) { return std::isxdigit(c); });
  if (!hex || fingerprint.size() != 64)
    reject(part, "the fingerprint must be 64 hex digits (SHA-256) or 'nocertcheck'");
}

} // namespace

std::vector<dsn_host> parse_dsn(std::string_view dsn, bool tls) {
  if (trim(dsn).empty())
    throw error(error_kind::config, "the DSN is empty");
  std::vector<std::string_view> texts;
  for (std::size_t begin = 0;;) {
    auto comma = dsn.find(',', begin);
    texts.push_back(
        trim(dsn.substr(begin, comma == std::string_view::npos ? comma : comma - begin)));
    if (comma == std::string_view::npos)
      break;
    begin = comma + 1;
  }

  std::vector<raw_part> parts;
  for (auto text : texts) {
    if (text.empty())
      throw error(error_kind::config, "the DSN '" + std::string(dsn) + "' has an empty part");
    parts.push_back(split_part(text));
    auto& fp = parts.back().fingerprint;
    if (fp && !tls)
      reject(text, "a fingerprint needs an encrypted (wss) connection");
    if (fp && lower(*fp) != "nocertcheck")
      check_fingerprint(text, *fp);
  }

  // Port and fingerprint flow from right to left: each part inherits the nearest one to its right.
  std::optional<std::string> fingerprint;
  std::optional<std::uint16_t> port;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (it->fingerprint)
      fingerprint = it->fingerprint;
    else
      it->fingerprint = fingerprint;
    if (it->port)
      port = it->port;
    else
      it->port = port;
  }

  std::vector<dsn_host> hosts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    dsn_host proto;
    proto.port = p.port.value_or(default_port);
    if (p.fingerprint) {
      if (lower(*p.fingerprint) == "nocertcheck")
        proto.no_cert_check = true;
      else
        proto.fingerprint = lower(*p.fingerprint);
    }
    auto names = p.bracketed ? std::vector<std::string>{p.host} : expand_range(texts[i], p.host);
    for (auto& name : names) {
      hosts.push_back(proto);
      hosts.back().host = std::move(name);
    }
  }
  return hosts;
}

} // namespace exasol

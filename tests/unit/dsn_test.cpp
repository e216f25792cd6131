#include "integration/exasol/dsn.hpp"
#include "integration/exasol/errors.hpp"

#include <catch2/catch.hpp>

using exasol::dsn_host;
using exasol::parse_dsn;

namespace {

const std::string fp_a(64, 'a');
const std::string fp_b = std::string(63, 'b') + "C";

std::vector<std::string> names(const std::vector<dsn_host>& hosts) {
  std::vector<std::string> out;
  for (const auto& h : hosts)
    out.push_back(h.host);
  return out;
}

exasol::error_kind kind_of(const std::string& dsn, bool tls = true) {
  try {
    parse_dsn(dsn, tls);
  } catch (const exasol::error& e) {
    return e.kind();
  }
  FAIL("DSN '" << dsn << "' was accepted");
  return exasol::error_kind::server;
}

} // namespace

TEST_CASE("DSN with one host takes the default port 8563", "[dsn]") {
  auto hosts = parse_dsn("exa1");
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0].host == "exa1");
  CHECK(hosts[0].port == 8563);
  CHECK(hosts[0].fingerprint.empty());
  CHECK_FALSE(hosts[0].no_cert_check);
}

TEST_CASE("DSN ports flow from the nearest part to the right", "[dsn]") {
  auto hosts = parse_dsn("a,b:8564");
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].port == 8564);
  CHECK(hosts[1].port == 8564);

  hosts = parse_dsn("a:1, b ,c:3,d");
  REQUIRE(names(hosts) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(hosts[0].port == 1);
  CHECK(hosts[1].port == 3);
  CHECK(hosts[2].port == 3);
  CHECK(hosts[3].port == 8563);
}

TEST_CASE("DSN fingerprints flow from the right and are lower-cased", "[dsn]") {
  auto hosts = parse_dsn("a,b/" + fp_b + ":8564,c/" + fp_a + ",d");
  REQUIRE(hosts.size() == 4);
  std::string fp_b_lower = std::string(63, 'b') + "c";
  CHECK(hosts[0].fingerprint == fp_b_lower);
  CHECK(hosts[0].port == 8564);
  CHECK(hosts[1].fingerprint == fp_b_lower);
  CHECK(hosts[2].fingerprint == fp_a);
  CHECK(hosts[2].port == 8563);
  CHECK(hosts[3].fingerprint.empty());
}

TEST_CASE("DSN ranges expand with zero padding to the width of A", "[dsn]") {
  CHECK(names(parse_dsn("exa1..3:8563")) == std::vector<std::string>{"exa1", "exa2", "exa3"});
  auto padded = names(parse_dsn("node01..12.lan/" + fp_a + ":8563"));
  REQUIRE(padded.size() == 12);
  CHECK(padded.front() == "node01.lan");
  CHECK(padded[8] == "node09.lan");
  CHECK(padded.back() == "node12.lan");
  CHECK(names(parse_dsn("n8..10")) == std::vector<std::string>{"n8", "n9", "n10"});
  CHECK(names(parse_dsn("10.0.0.1..3")) ==
        std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3"});
  CHECK(names(parse_dsn("h5..5")) == std::vector<std::string>{"h5"});
}

TEST_CASE("DSN range parts share their fingerprint and port", "[dsn]") {
  auto hosts = parse_dsn("x1..2,y/" + fp_a + ":9000");
  REQUIRE(hosts.size() == 3);
  for (const auto& h : hosts) {
    CHECK(h.port == 9000);
    CHECK(h.fingerprint == fp_a);
  }
}

TEST_CASE("DSN nocertcheck in any case turns certificate checks off", "[dsn]") {
  for (std::string word : {"nocertcheck", "NOCERTCHECK", "NoCertCheck"}) {
    auto hosts = parse_dsn("a,b/" + word + ":8563");
    REQUIRE(hosts.size() == 2);
    CHECK(hosts[0].no_cert_check);
    CHECK(hosts[1].no_cert_check);
    CHECK(hosts[0].fingerprint.empty());
  }
}

TEST_CASE("DSN IPv6 addresses in brackets", "[dsn]") {
  auto hosts = parse_dsn("[::1]:8564,[fe80::1]/" + fp_a);
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].host == "::1");
  CHECK(hosts[0].port == 8564);
  CHECK(hosts[0].fingerprint == fp_a); // inherited from the right
  CHECK(hosts[1].host == "fe80::1");
  CHECK(hosts[1].port == 8563);
  CHECK(kind_of("[::1:8563") == exasol::error_kind::config);
}

TEST_CASE("DSN errors are config errors naming the problem", "[dsn]") {
  using exasol::error_kind;
  CHECK(kind_of("") == error_kind::config);
  CHECK(kind_of("   ") == error_kind::config);
  CHECK(kind_of("a,,b") == error_kind::config);
  CHECK(kind_of("a,") == error_kind::config);
  CHECK(kind_of(":8563") == error_kind::config);
  CHECK(kind_of("a:0") == error_kind::config);
  CHECK(kind_of("a:65536") == error_kind::config);
  CHECK(kind_of("a:port") == error_kind::config);
  CHECK(kind_of("a:") == error_kind::config);
  CHECK(kind_of("exa3..1") == error_kind::config);
  CHECK(kind_of("a1..2b3..4") == error_kind::config);
  CHECK(kind_of("a..b") == error_kind::config);
  CHECK(kind_of("a1..100000") == error_kind::config);
  CHECK(kind_of("a/") == error_kind::config);
  CHECK(kind_of("a/xyz") == error_kind::config);            // not hex
  CHECK(kind_of("a/abcd") == error_kind::config);           // too short for SHA-256
  CHECK(kind_of("a/" + fp_a, false) == error_kind::config); // fingerprint without TLS
  CHECK(kind_of("a/nocertcheck", false) == error_kind::config);
  CHECK(kind_of("a:1:2") == error_kind::config);

  try {
    parse_dsn("exa3..1");
  } catch (const exasol::error& e) {
    CHECK(std::string(e.what()).find("exa3..1") != std::string::npos);
  }
}

TEST_CASE("DSN without TLS accepts plain hosts", "[dsn]") {
  auto hosts = parse_dsn("a:1,b", false);
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].port == 1);
}

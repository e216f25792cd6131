// TLS on both sides of the proxy (issue 9, point 2). Toward clients: its own certificate, or a
// generated one whose fingerprint it reports (every other proxy test pins that), and plain ws
// refused when TLS is required. Upstream, the TLS rules a client would use: a pinned
// fingerprint, nocertcheck in the DSN or the insecure option, or a CA file that must vouch for
// the chain and the host name. Where the rules do not trust the server, no client gets in and
// the error names the certificate.
#include "tests/proxy/proxy_fixture.hpp"
#include "tests/support/client_errors.hpp"
#include "tests/support/temp_certificate.hpp"

#include <catch2/catch.hpp>

using namespace exapool;
using namespace exapool::ptest;
using exapool::testing::temp_certificate;
using exasol::testing::error_of;

namespace {

std::string plain_dsn(const std::string& host, const exasim::server& sim) {
  return host + ":" + std::to_string(sim.port());
}

// A pool of 1 in transaction mode in front of exasim with the given certificate (empty: its
// own), reached by the given upstream rules.
proxy_setup upstream_setup(const temp_certificate* sim_cert,
                           std::function<void(credentials&, const exasim::server&)> rules) {
  proxy_setup s(proxy_mode::transaction, 1);
  if (sim_cert) {
    s.sim_cert_file = sim_cert->cert;
    s.sim_key_file = sim_cert->key;
  }
  s.upstream = std::move(rules);
  return s;
}

bool mentions(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

} // namespace

TEST_CASE("the proxy trusts upstream by nocertcheck in the DSN or by the insecure option") {
  SECTION("nocertcheck in place of the fingerprint") {
    proxy_fixture f(upstream_setup(nullptr, [](credentials& up, const exasim::server& sim) {
      up.dsn = "127.0.0.1/nocertcheck:" + std::to_string(sim.port());
    }));
    CHECK(first_int(f.connect()->query("SELECT 7")) == 7);
  }
  SECTION("the insecure option, no fingerprint") {
    proxy_fixture f(upstream_setup(nullptr, [](credentials& up, const exasim::server& sim) {
      up.dsn = plain_dsn("127.0.0.1", sim);
      up.insecure = true;
    }));
    CHECK(first_int(f.connect()->query("SELECT 8")) == 8);
  }
}

TEST_CASE("the proxy verifies upstream's chain and host name against a CA file") {
  temp_certificate good("DNS:localhost,IP:127.0.0.1");
  SECTION("a CA file that vouches for the server and its name") {
    proxy_fixture f(upstream_setup(&good, [&](credentials& up, const exasim::server& sim) {
      up.dsn = plain_dsn("localhost", sim);
      up.ca_file = good.cert;
    }));
    CHECK(first_int(f.connect()->query("SELECT 9")) == 9);
    CHECK(f.sim().stats().sessions_opened == 1);
  }
  SECTION("a CA file of another certificate: refused, and the error names the certificate") {
    temp_certificate other("DNS:localhost,IP:127.0.0.1");
    proxy_fixture f(upstream_setup(&good, [&](credentials& up, const exasim::server& sim) {
      up.dsn = plain_dsn("localhost", sim);
      up.ca_file = other.cert;
    }));
    auto e = error_of([&] { f.connect(); });
    INFO(e.what());
    CHECK(e.sql_code() == "08001");
    CHECK(mentions(e, "certificate"));
    CHECK(f.sim().stats().sessions_opened == 0);
  }
  SECTION("a host name the certificate does not name: refused") {
    temp_certificate named("DNS:other.example");
    proxy_fixture f(upstream_setup(&named, [&](credentials& up, const exasim::server& sim) {
      up.dsn = plain_dsn("localhost", sim);
      up.ca_file = named.cert;
    }));
    auto e = error_of([&] { f.connect(); });
    INFO(e.what());
    CHECK(e.sql_code() == "08001");
    CHECK(f.sim().stats().sessions_opened == 0);
  }
  SECTION("no rule at all: the system's CAs do not know the server") {
    proxy_fixture f(upstream_setup(&good, [&](credentials& up, const exasim::server& sim) {
      up.dsn = plain_dsn("localhost", sim);
    }));
    auto e = error_of([&] { f.connect(); });
    INFO(e.what());
    CHECK(e.sql_code() == "08001");
    CHECK(mentions(e, "certificate"));
    CHECK(f.sim().stats().sessions_opened == 0);
  }
}

TEST_CASE("the proxy serves clients with its own certificate, and can refuse plain ws") {
  temp_certificate own("DNS:localhost,IP:127.0.0.1");
  proxy_setup setup(proxy_mode::transaction, 1);
  setup.front = [&](proxy::proxy_options& o) {
    o.cert_file = own.cert;
    o.key_file = own.key;
    o.require_tls = true;
  };
  proxy_fixture f(setup);
  SECTION("a client that trusts the certificate by its CA file gets in over wss") {
    auto o = f.client_options(true);
    o.dsn = "localhost:" + std::to_string(f.front().port());
    o.ca_file = own.cert;
    exasol::connection c(o);
    CHECK(first_int(c.query("SELECT 11")) == 11);
  }
  SECTION("the reported fingerprint is the certificate's: pinning it works") {
    exasol::connection c(f.client_options(true)); // pins f.front().fingerprint()
    CHECK(first_int(c.query("SELECT 12")) == 12);
  }
  SECTION("a plain ws login is refused with 08004, and nothing is opened upstream") {
    auto e = error_of([&] { exasol::connection c(f.client_options(false)); });
    CHECK(e.sql_code() == "08004");
    CHECK(f.sim().stats().sessions_opened == 0);
  }
}

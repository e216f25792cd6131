// exasim over the wire: login over ws and wss, version negotiation, session ids, refused logins.
#include "exasim_test_checks.hpp"
#include "tests/support/exasim_test_client.hpp"

#include "integration/exasim/server.hpp"

#include <catch2/catch.hpp>

#include <limits>

using exasim_test::session_id_of;
using exasim_test::sql_code;
using exasim_test::test_client;
namespace json = boost::json;

namespace {

exasim::server_options quick_options() {
  exasim::server_options options;
  options.users = {{"sys", "exasol"}, {"alice", "p\xc3\xa4ss w\xc3\xb6rd"}};
  return options;
}

} // namespace

TEST_CASE("exasim logs in and runs SELECT 1 over ws and wss", "[exasim][login]") {
  exasim::server sim(quick_options());
  sim.start();
  REQUIRE(sim.port() != 0);
  for (bool tls : {false, true}) {
    INFO((tls ? "wss" : "ws"));
    {
      test_client client(sim.port(), tls);
      if (tls)
        CHECK(client.fingerprint() == sim.fingerprint());
      auto session = client.login("sys", "exasol");
      REQUIRE(session.at("status") == "ok");
      const auto& data = session.at("responseData").as_object();
      CHECK(data.at("protocolVersion") == 3);
      CHECK(session_id_of(session) > (std::uint64_t(1) << 53));
      auto result = client.execute("SELECT 1");
      REQUIRE(result.at("status") == "ok");
      const auto& r = result.at("responseData").at("results").at(0).as_object();
      CHECK(r.at("resultType") == "resultSet");
      const auto& set = r.at("resultSet").as_object();
      CHECK(set.at("numRows") == 1);
      CHECK(set.at("columns").at(0).at("name") == "1");
      CHECK(set.at("columns").at(0).at("dataType").at("type") == "DECIMAL");
      CHECK(set.at("data").at(0).at(0) == 1);
      CHECK(client.request({{"command", "disconnect"}}).at("status") == "ok");
    }
  }
  sim.stop();
  auto stats = sim.stats();
  CHECK(stats.sessions_opened == 2);
  CHECK(stats.sessions_closed == 2);
  CHECK(stats.active_sessions == 0);
}

TEST_CASE("exasim fingerprint and dsn name the certificate it serves", "[exasim][login]") {
  exasim::server sim;
  sim.start();
  CHECK(sim.fingerprint().size() == 64);
  CHECK(sim.dsn() == "127.0.0.1/" + sim.fingerprint() + ":" + std::to_string(sim.port()));
  test_client client(sim.port(), true);
  CHECK(client.fingerprint() == sim.fingerprint());
}

TEST_CASE("exasim rejects a wrong password and an unknown user with 08004", "[exasim][login]") {
  exasim::server sim(quick_options());
  sim.start();
  test_client client(sim.port(), false);
  auto wrong = client.login("sys", "wrong");
  REQUIRE(wrong.at("status") == "error");
  CHECK(sql_code(wrong) == "08004");
  CHECK(wrong.at("exception").at("text") == "Connection exception - authentication failed.");
  auto unknown = client.login("nobody", "exasol");
  CHECK(sql_code(unknown) == "08004");
  // The same connection may try again, with a UTF-8 password and a user name in any case.
  auto ok = client.login("ALICE", "p\xc3\xa4ss w\xc3\xb6rd");
  CHECK(ok.at("status") == "ok");
  CHECK(sim.stats().failed_logins == 2);
  CHECK(sim.stats().sessions_opened == 1);
}

TEST_CASE("exasim downgrades a newer protocol version to its highest", "[exasim][login]") {
  auto options = quick_options();
  options.max_protocol_version = 2;
  exasim::server sim(options);
  sim.start();
  test_client client(sim.port(), false);
  auto session = client.login("sys", "exasol", 5);
  REQUIRE(session.at("status") == "ok");
  CHECK(session.at("responseData").at("protocolVersion") == 2);
  test_client old(sim.port(), false);
  CHECK(old.login("sys", "exasol", 1).at("responseData").at("protocolVersion") == 1);
}

TEST_CASE("exasim session ids are above 2^53 and parse exactly as uint64", "[exasim][login]") {
  exasim::server sim;
  sim.start();
  test_client a(sim.port(), false), b(sim.port(), false);
  auto id_a = session_id_of(a.login("sys", "exasol"));
  auto id_b = session_id_of(b.login("sys", "exasol"));
  CHECK(id_a > (std::uint64_t(1) << 53));
  CHECK(id_b == id_a + 1); // not representable as distinct doubles near 2^60 in general
  auto ids = sim.session_ids();
  CHECK(ids.size() == 2);
  CHECK(std::count(ids.begin(), ids.end(), id_a) == 1);
}

TEST_CASE("exasim in require_tls mode refuses plain ws logins", "[exasim][login]") {
  auto options = quick_options();
  options.require_tls = true;
  exasim::server sim(options);
  sim.start();
  test_client plain(sim.port(), false);
  auto refused = plain.request({{"command", "login"}, {"protocolVersion", 3}});
  REQUIRE(refused.at("status") == "error");
  CHECK(sql_code(refused) == "08004");
  CHECK(refused.at("exception").at("text") ==
        "Connection exception - Only TLS connections are allowed.");
  test_client secure(sim.port(), true);
  CHECK(secure.login("sys", "exasol").at("status") == "ok");
}

TEST_CASE("exasim accepts loginToken with a configured access or refresh token",
          "[exasim][login]") {
  auto options = quick_options();
  options.access_tokens = {"access-123"};
  options.refresh_tokens = {"refresh-456"};
  exasim::server sim(options);
  sim.start();
  auto token_login = [&](json::object credentials) {
    test_client client(sim.port(), true);
    auto key = client.request({{"command", "loginToken"}, {"protocolVersion", 3}});
    REQUIRE(key.at("status") == "ok");
    credentials["useCompression"] = false;
    return client.request(credentials);
  };
  CHECK(token_login({{"accessToken", "access-123"}}).at("status") == "ok");
  CHECK(token_login({{"refreshToken", "refresh-456"}}).at("status") == "ok");
  auto bad = token_login({{"accessToken", "nope"}});
  CHECK(sql_code(bad) == "08004");
}

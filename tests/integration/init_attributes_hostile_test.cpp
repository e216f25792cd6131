// The configured session attributes against a server that does not apply the login's: the
// backend sets what is missing with setAttributes before the init SQL and before it reads the
// baseline, in that order (seen in the requests the server recorded). exasim applies the
// login's attributes, so only a server that ignores them shows this step. And a session whose
// attributes a borrower changed (the server reports them changed) gets the configured ones back
// from reset's setAttributes: feedbackInterval has no other way to change in exasim.
#include "actors/connection_actor.hpp"
#include "integration/exasol/errors.hpp"
#include "tests/support/hostile_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace exapool;
using namespace exapool::testing;
using namespace std::chrono_literals;

namespace {

// What a session reports that ignored the login's attributes: autocommit on, no schema, no
// query timeout.
constexpr const char* fresh_attributes =
    R"({"status":"ok","attributes":{"autocommit":true,"currentSchema":"","queryTimeout":0}})";

// Logs in (answering the login's getAttributes with fresh_attributes), then answers three
// requests: setAttributes, the one init statement, getAttributes.
scenario ignores_login_attributes() {
  return [](hostile_peer& p) {
    p.read();
    p.reply(responses::public_key());
    p.read();
    p.reply(responses::session());
    p.read();
    p.reply(fresh_attributes);
    p.read();
    p.reply(responses::ok());
    p.read();
    p.reply(responses::inline_rows({1}));
    p.read();
    p.reply(fresh_attributes);
    p.stall();
  };
}

std::string command_of(const std::string& request) {
  for (const char* command : {"setAttributes", "getAttributes", "execute"})
    if (request.find(std::string("\"command\":\"") + command + "\"") != std::string::npos)
      return command;
  return request;
}

// Every attribute this file configures, as a session reports them: the server's defaults
// (the login's ignored), as configured, and as a borrower left them.
std::string reported(const std::string& values) {
  return R"({"status":"ok","attributes":{"autocommit":true,"currentSchema":"","queryTimeout":0,)" +
         values + "}}";
}
const std::string server_defaults =
    reported(R"("snapshotTransactionsEnabled":false,"timestampUtcEnabled":false,)"
             R"("numericCharacters":".,","feedbackInterval":1,"resultSetMaxRows":0)");
const std::string as_configured =
    reported(R"("snapshotTransactionsEnabled":true,"timestampUtcEnabled":true,)"
             R"("numericCharacters":",.","feedbackInterval":4,"resultSetMaxRows":3)");
const std::string ok_reply = responses::ok();
const std::string as_changed =
    reported(R"("snapshotTransactionsEnabled":false,"timestampUtcEnabled":false,)"
             R"("numericCharacters":".,","feedbackInterval":9,"resultSetMaxRows":0)");

// Logs in ignoring the login's attributes, answers the open's setAttributes and its baseline
// getAttributes (as configured), then a reset's getAttributes (as a borrower changed them) and
// its setAttributes.
scenario changed_then_reset() {
  return [](hostile_peer& p) {
    p.read();
    p.reply(responses::public_key());
    p.read();
    p.reply(responses::session());
    for (const std::string* answer :
         {&server_defaults, &ok_reply, &as_configured, &as_changed, &ok_reply}) {
      p.read();
      p.reply(*answer);
    }
    p.stall();
  };
}

credentials configured_for(const hostile_server& server) {
  credentials creds;
  creds.dsn = server.dsn();
  creds.tls = false;
  creds.user = "sys";
  creds.password.value = "exasol";
  creds.socket_timeout = 5s;
  creds.snapshot_transactions = true;
  creds.timestamp_utc = true;
  creds.numeric_characters = std::string(",.");
  creds.feedback_interval_s = 4;
  creds.result_set_max_rows = std::uint64_t(3);
  return creds;
}

const char* const configured_values[] = {
    R"("snapshotTransactionsEnabled":true)", R"("timestampUtcEnabled":true)",
    R"("numericCharacters":",.")", R"("feedbackInterval":4)", R"("resultSetMaxRows":3)"};

} // namespace

TEST_CASE("configured attributes the login did not set are set before the init SQL",
          "[init_sql][hostile]") {
  hostile_server server(ignores_login_attributes());
  credentials creds;
  creds.dsn = server.dsn();
  creds.tls = false;
  creds.user = "sys";
  creds.password.value = "exasol";
  creds.socket_timeout = 5s;
  creds.schema = "CONFIGURED_S";
  creds.server_query_timeout_s = 30;
  creds.init_sql = {"SELECT 1"};

  auto backend = make_exasol_backend(creds);
  REQUIRE_NOTHROW(backend->open());
  auto requests = server.requests();
  REQUIRE(requests.size() == 6); // login, credentials, getAttributes, then the three below
  CHECK(command_of(requests[3]) == "setAttributes");
  CHECK_THAT(requests[3], Catch::Contains("\"currentSchema\":\"CONFIGURED_S\""));
  CHECK_THAT(requests[3], Catch::Contains("\"queryTimeout\":30"));
  CHECK(requests[3].find("autocommit") == std::string::npos); // on already, as configured
  CHECK(command_of(requests[4]) == "execute");
  CHECK_THAT(requests[4], Catch::Contains("SELECT 1"));
  CHECK(command_of(requests[5]) == "getAttributes"); // the baseline, read last
}

TEST_CASE("the other session attributes: sent at login, set when ignored, restored by reset",
          "[init_sql][hostile]") {
  hostile_server server(changed_then_reset());
  auto backend = make_exasol_backend(configured_for(server));
  REQUIRE_NOTHROW(backend->open());
  // Sent at login, except resultSetMaxRows: the version in use is not known before the login
  // has answered.
  auto requests = server.requests();
  REQUIRE(requests.size() == 5);
  CHECK(command_of(requests[3]) == "setAttributes"); // the server ignored the login's
  for (const char* value : configured_values) {
    INFO(value);
    if (std::string(value).find("resultSetMaxRows") == std::string::npos)
      CHECK_THAT(requests[1], Catch::Contains(value));
    CHECK_THAT(requests[3], Catch::Contains(value));
  }
  CHECK(requests[1].find("resultSetMaxRows") == std::string::npos);
  CHECK(command_of(requests[4]) == "getAttributes"); // the baseline: as configured

  // A borrower changed every one of them; reset puts the configured values back.
  CHECK(backend->reset());
  requests = server.requests();
  REQUIRE(requests.size() == 7);
  CHECK(command_of(requests[5]) == "getAttributes");
  CHECK(command_of(requests[6]) == "setAttributes");
  for (const char* value : configured_values) {
    INFO(value);
    CHECK_THAT(requests[6], Catch::Contains(value));
  }
  CHECK_FALSE(backend->is_dirty());
}

TEST_CASE("session attributes left unset are never sent", "[init_sql][hostile]") {
  hostile_server server([](hostile_peer& p) {
    p.login();
    p.read();
    p.reply(responses::attributes()); // the baseline
    p.stall();
  });
  credentials creds;
  creds.dsn = server.dsn();
  creds.tls = false;
  creds.user = "sys";
  creds.password.value = "exasol";
  creds.socket_timeout = 5s;
  auto backend = make_exasol_backend(creds);
  REQUIRE_NOTHROW(backend->open());
  auto requests = server.requests();
  REQUIRE(requests.size() == 4); // login, credentials, getAttributes, the baseline
  for (const auto& request : requests)
    for (const char* name : {"snapshotTransactionsEnabled", "timestampUtcEnabled",
                             "numericCharacters", "feedbackInterval", "resultSetMaxRows"}) {
      INFO(name << " in " << request);
      CHECK(request.find(name) == std::string::npos);
    }
}

TEST_CASE("resultSetMaxRows against a server that chose protocol v1 fails the open",
          "[init_sql][hostile]") {
  hostile_server server([](hostile_peer& p) {
    p.read();
    p.reply(responses::public_key());
    p.read();
    auto session = responses::session();
    auto at = session.find("\"protocolVersion\":3");
    REQUIRE(at != std::string::npos);
    session.replace(at, 19, "\"protocolVersion\":1");
    p.reply(session);
    p.read();
    p.reply(server_defaults);
    p.read(); // disconnect
    p.reply(responses::ok());
    p.stall();
  });
  auto creds = configured_for(server);
  auto backend = make_exasol_backend(creds);
  try {
    backend->open();
    FAIL("opened without the row limit it was configured with");
  } catch (const exasol::error& e) {
    CHECK(e.kind() == exasol::error_kind::config);
    CHECK_THAT(std::string(e.what()), Catch::Contains("resultSetMaxRows needs protocol version 2"));
  }
  for (const auto& request : server.requests())
    CHECK(request.find("resultSetMaxRows") == std::string::npos); // never sent
  CHECK_FALSE(backend->is_open());
}

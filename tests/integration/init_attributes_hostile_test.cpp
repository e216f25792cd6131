// The configured session attributes against a server that does not apply the login's: the
// backend sets what is missing with setAttributes before the init SQL and before it reads the
// baseline, in that order (seen in the requests the server recorded). exasim applies the
// login's attributes, so only a server that ignores them shows this step.
#include "actors/connection_actor.hpp"
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

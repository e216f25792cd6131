// The error kind and the server's sqlCode as fields (issue 11 point 5), over the real client
// against exasim: runtime_error::sql_code for the blocking API, info_of for session actors.
// exasim answers a syntax error with sqlCode 42000, as Exasol does.
#include "runtime_support.hpp"
#include "tests/support/runtime_errors.hpp"

#include "actors/session_actor.hpp"

using namespace exapool;
using exapool::testing::thrown_by;
using namespace exapool::itest;

TEST_CASE("a syntax error over exasim: kind server_error and sqlCode 42000 as fields",
          "[errors][info][exasim]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);

  auto e = thrown_by([&] { rt.execute(creds, "SELEKT 1"); });
  CHECK(e.code() == pool_errc::server_error);
  CHECK(e.sql_code() == "42000");
  CHECK(std::string(e.what()).find("exasol") == std::string::npos); // not the password
  auto q = thrown_by([&] { rt.query(creds, "SELECT * FROM no_such_table_11"); });
  CHECK(q.code() == pool_errc::server_error);
  CHECK(q.sql_code() == "42000");

  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  auto err =
      ask_error<exasol::result_set>(self, session, query_atom::value, std::string("SELEKT 1"));
  auto info = info_of(err);
  CHECK(info.kind == pool_errc::server_error);
  CHECK(info.sql_code == "42000");
  CHECK(info.text.find("42000") != std::string::npos);
  // The connection stays usable: the next statement on the session works.
  CHECK(first_int(ask<exasol::result_set>(self, session, query_atom::value,
                                          std::string("SELECT 1"))) == 1);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("a failure that is not the server's answer has no sqlCode", "[errors][info][exasim]") {
  // A port nobody listens on (exasim's, once it stopped).
  std::uint16_t port = 0;
  {
    sim gone;
    port = gone.server.port();
  }
  auto config = sim_runtime_config();
  config.pool.acquire_timeout = 300ms;
  runtime rt{config};
  credentials creds;
  creds.dsn = "127.0.0.1:" + std::to_string(port);
  creds.user = "sys";
  creds.password.value = "exasol";
  creds.connect_timeout = 2s;

  auto e = thrown_by([&] { rt.execute(creds, "SELECT 1"); });
  INFO(e.what());
  CHECK((e.code() == pool_errc::connect_failed || e.code() == pool_errc::acquire_timeout));
  CHECK(e.sql_code().empty());

  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  auto info =
      info_of(ask_error<query_result>(self, session, execute_atom::value, std::string("SELECT 1")));
  INFO(info.text);
  CHECK((info.kind == pool_errc::connect_failed || info.kind == pool_errc::acquire_timeout));
  CHECK(info.sql_code.empty());
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

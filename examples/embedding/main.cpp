// The embedding: a query through a session actor of the exapool runtime. exasim stands in for
// Exasol here; with a real database, drop it and set creds.dsn to the database's DSN.
#include <exapool/exasim.hpp>
#include <exapool/runtime.hpp>

#include <caf/all.hpp>

#include <iostream>

int main() {
  exasim::server db;
  db.start();
  exapool::credentials creds;
  creds.dsn = db.dsn(); // "127.0.0.1/<certificate SHA-256>:<port>": TLS, certificate pinned
  creds.user = "sys";
  creds.password.value = "exasol";
  exapool::runtime rt{exapool::runtime_config::from_environment()}; // pool size from the env
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds); // a session per unit of work
  int status = 1;
  self->request(session, std::chrono::seconds(30), exapool::query_atom::value,
                std::string("SELECT 'hello from exapool' AS greeting, 6 * 7 AS answer"))
      .receive(
          [&](exasol::result_set& rows) {
            std::cout << exasol::to_string(rows.at(0, 0)) << ", the answer is "
                      << exasol::to_string(rows.at(0, 1)) << "\n";
            status = 0;
          },
          [&](caf::error& err) {
            std::cerr << "query failed: " << rt.system().render(err) << "\n";
          });
  self->send_exit(session, caf::exit_reason::user_shutdown);
  rt.shutdown(); // every server session is closed
  return status;
}

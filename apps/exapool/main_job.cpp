// `exapool main`: the README's main job. Starts exasim with a fresh self-signed certificate,
// connects the C++ client over wss with the certificate's fingerprint pinned, runs a few
// statements and prints what came back. (The pool demo replaces this with issue 4.)
#include "apps/exapool/command.hpp"
#include "apps/exapool/options.hpp"
#include "apps/exapool/statements.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"

#include <caf/actor_system_config.hpp>

#include <iostream>

namespace exapool::cli {

int run_main_job(int argc, char** argv) {
  caf::actor_system_config cfg;
  if (auto code = parse_options(cfg, argc, argv))
    return *code;
  exasim::server server;
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "error: exasim did not start: " << e.what() << "\n";
    return 1;
  }
  std::cout << "exasim listening on wss://127.0.0.1:" << server.port() << "\ncertificate SHA-256 "
            << server.fingerprint() << "\n";
  exasol::connection_options opts;
  opts.dsn = server.dsn();
  opts.user = "sys";
  opts.password = "exasol";
  opts.identity.client_name = "exapool main";
  try {
    exasol::connection conn(opts);
    std::cout << "logged in over wss: session " << conn.session().session_id << ", protocol v"
              << conn.session().protocol_version << "\n\n";
    int failures = run_statements(
        conn,
        {"CREATE TABLE pool_demo (id DECIMAL(9,0), name VARCHAR(40), price DECIMAL(10,2))",
         "INSERT INTO pool_demo VALUES (1, 'borrow', 0.50), (2, 'return', 1.25)",
         "SELECT id, name, price FROM pool_demo ORDER BY id",
         "SELECT SESSION_ID, USER_NAME, CLIENT FROM EXA_ALL_SESSIONS"},
        std::cout);
    conn.disconnect();
    server.stop();
    return failures == 0 ? 0 : 1;
  } catch (const exasol::error& e) {
    std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
    return 1;
  }
}

} // namespace exapool::cli

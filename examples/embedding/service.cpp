// A service embedding the exapool runtime: the README's example as a program that runs. It
// starts exasim as the database, then uses the runtime as a service would: prewarm, blocking
// calls from ordinary code, session actors from actor code, stats, shutdown.
#include <exapool/exasim.hpp>
#include <exapool/runtime.hpp>

#include <caf/all.hpp>

#include <iostream>

using namespace std::chrono_literals;

namespace {

// Actor code: a worker runs one statement in a session of its own, ends the session and
// reports how it went.
caf::behavior worker(caf::event_based_actor* self, exapool::session_actor session, int n,
                     caf::actor report_to) {
  auto done = [self, session, report_to](std::string outcome) {
    self->send(report_to, std::move(outcome));
    self->send_exit(session, caf::exit_reason::user_shutdown);
    self->quit();
  };
  auto sql = "INSERT INTO visits VALUES (" + std::to_string(n) + ")";
  self->request(session, 30s, exapool::execute_atom::value, sql)
      .then([done](exapool::query_result&) { done("ok"); },
            [self, done](caf::error& err) { done(self->system().render(err)); });
  return {};
}

} // namespace

int main() {
  exasim::server db; // stands in for Exasol
  db.start();
  try {
    // --- The embedding: what a service writes. ---
    exapool::credentials creds;
    creds.dsn = db.dsn(); // "host/fingerprint:port": TLS with the certificate pinned
    creds.user = "sys";
    creds.password.value = "exasol";
    auto config = exapool::runtime_config::from_environment(); // EXAPOOL_POOL_SIZE, else 5
    exapool::runtime rt{config};
    auto warm = rt.prewarm(creds); // opens the pool's connections up front
    std::cout << "prewarmed " << warm.opened << " of " << warm.requested << " connections\n";
    rt.execute(creds, "CREATE TABLE visits (n DECIMAL(9,0))"); // blocking API
    caf::scoped_actor self{rt.system()};
    for (int n = 0; n < 20; ++n) // actor API: a session per unit of work
      self->spawn(worker, rt.spawn_session(creds), n, caf::actor_cast<caf::actor>(self));
    // --- End of the embedding. ---

    for (int n = 0; n < 20; ++n)
      self->receive([](const std::string& outcome) {
        if (outcome != "ok")
          std::cout << "worker failed: " << outcome << "\n";
      });
    auto rows = rt.query(creds, "SELECT COUNT(*) AS N FROM visits");
    std::cout << "visits: " << std::get<std::int64_t>(rows.at(0, 0)) << "\n";
    for (const auto& s : rt.stats())
      std::cout << "pool " << s.key.hex.substr(0, 12) << ": total " << s.total << ", idle "
                << s.idle << ", borrowed " << s.borrowed << ", opened " << s.opened << ", wait max "
                << std::chrono::duration_cast<std::chrono::microseconds>(s.wait_max).count()
                << " us\n";
    rt.shutdown();
    std::cout << "server sessions after shutdown: " << db.stats().active_sessions << "\n";
    return 0;
  } catch (const exapool::runtime_error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

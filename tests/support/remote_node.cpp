// The other processes of the remote-session tests (tests/remote/): a pool node, or a service
// node that borrows through one. What it did goes to stdout, one line per fact, for the test
// to read; the password comes from EXAPOOL_TEST_PASSWORD, never argv.
//   remote_node pool-node <port>               a pool node on 127.0.0.1:<port> (0: free);
//                                              prints "port <n>", serves until SIGTERM
//   remote_node queries <host:port> <dsn> <n>  n statements through a session actor and n
//                                              blocking ones, a prewarm and the stats; prints
//                                              "remote stats ..." and "done <sum of results>"
//   remote_node hold <host:port> <dsn>         begins a transaction, inserts into `held`,
//                                              prints "holding" and waits to be killed
//   remote_node hostile <host:port>            asks the pool node's supervisor to shut down
//                                              (prints "shutdown: <error>") and sends it an
//                                              exit (prints "exit sent"), as a raw CAF peer
#include "actors/remote.hpp"
#include "actors/runtime.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

credentials sim_credentials(const std::string& dsn) {
  credentials c;
  c.dsn = dsn;
  c.tls = false;
  c.user = "sys";
  const char* password = std::getenv("EXAPOOL_TEST_PASSWORD");
  c.password.value = password ? password : "";
  c.client_name = "exapool-remote-test";
  return c;
}

runtime_config service_node(const std::string& pool_node) {
  runtime_config config;
  config.pool_node = pool_node;
  config.scheduler_threads = 2;
  return config;
}

std::int64_t first_int(const exasol::result_set& rows) {
  const auto& v = rows.at(0, 0);
  if (auto i = std::get_if<std::int64_t>(&v))
    return *i;
  return std::stoll(std::get<exasol::decimal>(v).text);
}

// Waits for SIGTERM or SIGINT (blocked first, so none is lost before the wait).
void await_termination() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
}

int pool_node(int port) {
  runtime_config config;
  config.scheduler_threads = 2;
  config.pool.max_size = 2;
  config.pool.shutdown_grace = 2s;
  config.remote_port = static_cast<std::uint16_t>(port);
  runtime rt{config};
  std::cout << "port " << rt.remote_port() << std::endl;
  await_termination();
  rt.shutdown();
  std::cout << "stopped" << std::endl;
  return 0;
}

int queries(const std::string& node, const std::string& dsn, int n) {
  runtime rt{service_node(node)};
  auto creds = sim_credentials(dsn);
  std::int64_t sum = 0;
  auto session = rt.spawn_session(creds);
  caf::scoped_actor self{rt.system()};
  for (int i = 1; i <= n; ++i) {
    std::string failure;
    self->request(session, 60s, query_atom::value, "SELECT " + std::to_string(i))
        .receive([&](exasol::result_set& rows) { sum += first_int(rows); },
                 [&](caf::error& err) { failure = rt.system().render(err); });
    if (!failure.empty()) {
      std::cout << "error " << failure << std::endl;
      return 1;
    }
  }
  self->send_exit(session, caf::exit_reason::user_shutdown);
  for (int i = 1; i <= n; ++i)
    sum += first_int(rt.query(creds, "SELECT " + std::to_string(i)));
  // The supervisor's other answers cross the wire too: a prewarm report and pool stats.
  auto report = rt.prewarm(creds, 1);
  auto stats = rt.stats(creds);
  std::cout << "remote stats requested=" << report.requested << " borrowed=" << stats.borrowed
            << " pools=" << rt.stats().size() << std::endl;
  std::cout << "done " << sum << std::endl;
  return 0;
}

int hold(const std::string& node, const std::string& dsn) {
  runtime rt{service_node(node)};
  auto session = rt.spawn_session(sim_credentials(dsn));
  caf::scoped_actor self{rt.system()};
  std::string failure;
  self->request(session, 60s, begin_atom::value)
      .receive([](bool) {}, [&](caf::error& err) { failure = rt.system().render(err); });
  if (failure.empty())
    self->request(session, 60s, execute_atom::value, std::string("INSERT INTO held VALUES (1)"))
        .receive([](query_result&) {}, [&](caf::error& err) { failure = rt.system().render(err); });
  if (!failure.empty()) {
    std::cout << "error " << failure << std::endl;
    return 1;
  }
  std::cout << "holding" << std::endl;
  await_termination();
  return 0;
}

// What a careless or hostile CAF peer could do with the published handle.
int hostile(const std::string& node) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  runtime::configure(cfg);
  caf::actor_system sys{cfg};
  auto [host, port] = split_host_port(node, "the pool node");
  auto supervisor = connect_pool_node(sys, host, port, 10s);
  caf::scoped_actor self{sys};
  self->request(supervisor, 10s, shutdown_atom::value)
      .receive([](std::vector<pool_stats>&) { std::cout << "shutdown: done" << std::endl; },
               [&](caf::error& err) { std::cout << "shutdown: " << sys.render(err) << std::endl; });
  self->send_exit(supervisor, caf::exit_reason::user_shutdown);
  std::cout << "exit sent" << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr); // before any thread starts: they inherit it
  std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "pool-node" && argc == 3)
      return pool_node(std::atoi(argv[2]));
    if (mode == "queries" && argc == 5)
      return queries(argv[2], argv[3], std::atoi(argv[4]));
    if (mode == "hold" && argc == 4)
      return hold(argv[2], argv[3]);
    if (mode == "hostile" && argc == 3)
      return hostile(argv[2]);
  } catch (const std::exception& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
  std::cerr << "usage: remote_node pool-node <port> | queries <host:port> <dsn> <n> | "
               "hold <host:port> <dsn> | hostile <host:port>\n";
  return 2;
}

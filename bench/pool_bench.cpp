// pool_bench: borrow + give_back cycles per second through the pool actor, with do-nothing
// (fake) connections, as HikariCP measures its "connection cycle". N event-based borrower
// actors share a pool of 8; CAF runs on 2 scheduler threads. Also: memory per waiting borrower
// with 100,000 borrows queued.
//
//   pool_bench [--cycles=N] [--policy=stealing|sharing] [--style=request|send]
//              [--borrowers=64,10000] [--waiters=100000] [--repeat=1]
// With --repeat=k each case runs k times and the ratio uses the best run of each (the machine
// is shared: the best run is the one least disturbed).
#include "actors/fake_backend.hpp"
#include "actors/pool_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

struct options {
  std::uint64_t cycles = 3'000'000;
  std::string policy = "stealing";
  std::string style = "request";
  std::vector<std::size_t> borrowers = {64, 10000};
  std::size_t waiters = 100'000;
  std::size_t pool_size = 8;
  int repeat = 1;
};

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoul(item));
  return out;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      auto prefix = std::string(name) + "=";
      return a.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (auto v = value("--cycles"))
      o.cycles = std::stoull(v);
    else if (auto v = value("--policy"))
      o.policy = v;
    else if (auto v = value("--style"))
      o.style = v;
    else if (auto v = value("--borrowers"))
      o.borrowers = parse_list(v);
    else if (auto v = value("--repeat"))
      o.repeat = std::max(1, std::stoi(v));
    else if (auto v = value("--waiters"))
      o.waiters = std::stoul(v);
    else {
      std::cerr << "unknown argument: " << a << "\n";
      std::exit(2);
    }
  }
  return o;
}

struct bench_config : caf::actor_system_config {
  explicit bench_config(const std::string& policy) {
    set("scheduler.max-threads", 2);
    set("scheduler.policy", policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  }
};

// Resident set size in bytes, from /proc.
std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

struct borrower_state {
  std::uint64_t left = 0;
  static inline const char* name = "bench.borrower";
};

// CPU time of the whole process (all threads), in seconds: a fairer cost on a busy machine.
double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

// A session-like borrower: borrow with request/then (as a session actor does), give back,
// repeat; tells `done` when its share of cycles is through.
caf::behavior request_borrower(caf::stateful_actor<borrower_state>* self, pool_actor pool,
                               std::uint64_t cycles, caf::actor done) {
  self->state.left = cycles;
  auto cycle = std::make_shared<std::function<void()>>();
  *cycle = [self, pool, done, cycle] {
    self->request(pool, caf::infinite, borrow_atom::value)
        .then(
            [self, pool, done, cycle](lease& l) {
              self->send(pool, give_back_atom::value, l.id);
              if (--self->state.left == 0) {
                self->send(done, done_atom::value);
                self->quit();
                return;
              }
              (*cycle)();
            },
            [self, done](caf::error& e) {
              std::cerr << "borrow failed: " << caf::to_string(e) << "\n";
              self->send(done, done_atom::value);
              self->quit();
            });
  };
  return {[cycle](go_atom) { (*cycle)(); }};
}

// The same cycle with plain sends: the pool's answer arrives as an ordinary message.
caf::behavior send_borrower(caf::stateful_actor<borrower_state>* self, pool_actor pool,
                            std::uint64_t cycles, caf::actor done) {
  self->state.left = cycles;
  return {
      [self, pool](go_atom) { self->send(pool, borrow_atom::value); },
      [self, pool, done](lease& l) {
        self->send(pool, give_back_atom::value, l.id);
        if (--self->state.left == 0) {
          self->send(done, done_atom::value);
          self->quit();
          return;
        }
        self->send(pool, borrow_atom::value);
      },
      [self, done](caf::error& e) {
        std::cerr << "borrow failed: " << caf::to_string(e) << "\n";
        self->send(done, done_atom::value);
        self->quit();
      },
  };
}

pool_config bench_pool(std::size_t size) {
  pool_config c;
  c.max_size = size;
  c.acquire_timeout = std::chrono::minutes(10);
  c.validation_bypass = std::chrono::hours(1);
  c.idle_timeout = caf::timespan{0};
  c.max_lifetime = caf::timespan{0};
  c.keepalive_interval = caf::timespan{0};
  return c;
}

pool_stats stats_of(caf::scoped_actor& self, const pool_actor& pool) {
  pool_stats out;
  self->request(pool, std::chrono::seconds(60), stats_atom::value)
      .receive([&](pool_stats& s) { out = s; },
               [&](caf::error& e) { std::cerr << "stats: " << caf::to_string(e) << "\n"; });
  return out;
}

void prewarm(caf::scoped_actor& self, const pool_actor& pool, std::size_t n) {
  self->request(pool, std::chrono::seconds(60), prewarm_atom::value, n)
      .receive([](prewarm_report&) {},
               [&](caf::error& e) { std::cerr << "prewarm: " << caf::to_string(e) << "\n"; });
}

void shutdown(caf::scoped_actor& self, const pool_actor& pool) {
  self->request(pool, std::chrono::seconds(60), shutdown_atom::value)
      .receive([](pool_stats&) {},
               [&](caf::error& e) { std::cerr << "shutdown: " << caf::to_string(e) << "\n"; });
}

// Cost per cycle in ns for n borrowers sharing `total` cycles.
double run_cycles(caf::actor_system& sys, const options& o, std::size_t n) {
  auto plan = std::make_shared<fake_plan>();
  auto pool = spawn_pool(sys, pool_key{std::string(64, 'b')}, bench_pool(o.pool_size),
                         make_fake_factory(plan));
  caf::scoped_actor self{sys};
  prewarm(self, pool, o.pool_size);
  auto per_borrower = std::max<std::uint64_t>(1, o.cycles / n);
  std::vector<caf::actor> borrowers;
  borrowers.reserve(n);
  caf::actor done = caf::actor{self};
  for (std::size_t i = 0; i < n; ++i)
    borrowers.push_back(o.style == "send" ? sys.spawn(send_borrower, pool, per_borrower, done)
                                          : sys.spawn(request_borrower, pool, per_borrower, done));
  auto start = std::chrono::steady_clock::now();
  auto cpu_start = cpu_seconds();
  for (auto& b : borrowers)
    self->send(b, go_atom::value);
  for (std::size_t i = 0; i < n; ++i)
    self->receive([](done_atom) {});
  auto elapsed = std::chrono::steady_clock::now() - start;
  auto cpu = cpu_seconds() - cpu_start;
  auto s = stats_of(self, pool);
  shutdown(self, pool);
  auto total = per_borrower * n;
  double seconds = std::chrono::duration<double>(elapsed).count();
  double ns_per_cycle = seconds * 1e9 / static_cast<double>(total);
  std::printf(
      "borrowers=%zu pool=%zu style=%s policy=%s cycles=%llu seconds=%.3f "
      "cycles_per_s=%.0f ns_per_cycle=%.1f cpu_ns_per_cycle=%.1f opened=%llu wait_p50_us=%.1f "
      "wait_p99_us=%.1f\n",
      n, o.pool_size, o.style.c_str(), o.policy.c_str(), static_cast<unsigned long long>(total),
      seconds, total / seconds, ns_per_cycle, cpu * 1e9 / static_cast<double>(total),
      static_cast<unsigned long long>(s.opened), s.wait_p50.count() / 1e3,
      s.wait_p99.count() / 1e3);
  std::fflush(stdout);
  return ns_per_cycle;
}

// A borrower that asks once and waits (the pool is fully leased).
caf::behavior parked_borrower(caf::event_based_actor* self, pool_actor pool) {
  return {
      [self, pool](go_atom) { self->send(pool, borrow_atom::value); },
      [](lease&) {},
      [](caf::error&) {},
  };
}

void measure_waiters(caf::actor_system& sys, const options& o) {
  auto plan = std::make_shared<fake_plan>();
  auto pool = spawn_pool(sys, pool_key{std::string(64, 'c')}, bench_pool(o.pool_size),
                         make_fake_factory(plan));
  caf::scoped_actor self{sys};
  std::vector<lease> held;
  for (std::size_t i = 0; i < o.pool_size; ++i)
    self->request(pool, std::chrono::seconds(60), borrow_atom::value)
        .receive([&](lease& l) { held.push_back(l); },
                 [&](caf::error& e) { std::cerr << "borrow: " << caf::to_string(e) << "\n"; });
  auto before_actors = rss_bytes();
  std::vector<caf::actor> parked;
  parked.reserve(o.waiters);
  for (std::size_t i = 0; i < o.waiters; ++i)
    parked.push_back(sys.spawn(parked_borrower, pool));
  std::this_thread::sleep_for(200ms);
  auto with_actors = rss_bytes();
  for (auto& p : parked)
    self->send(p, go_atom::value);
  while (stats_of(self, pool).waiting < o.waiters)
    std::this_thread::sleep_for(20ms);
  auto with_waiters = rss_bytes();
  auto n = static_cast<double>(o.waiters);
  std::printf("waiters=%zu rss_actors_bytes_per_borrower=%.0f "
              "rss_pool_queue_bytes_per_waiter=%.0f rss_total_bytes_per_waiting_borrower=%.0f\n",
              o.waiters, (with_actors - before_actors) / n, (with_waiters - with_actors) / n,
              (with_waiters - before_actors) / n);
  std::fflush(stdout);
  shutdown(self, pool); // fails the waiters
  for (auto& p : parked)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  bench_config cfg{o.policy};
  caf::actor_system sys{cfg};
  std::vector<double> costs;
  for (auto n : o.borrowers) {
    double best = run_cycles(sys, o, n);
    for (int i = 1; i < o.repeat; ++i)
      best = std::min(best, run_cycles(sys, o, n));
    if (o.repeat > 1)
      std::printf("best borrowers=%zu cycles_per_s=%.0f ns_per_cycle=%.1f\n", n, 1e9 / best, best);
    costs.push_back(best);
  }
  if (costs.size() >= 2)
    std::printf("cost_ratio_%zu_vs_%zu=%.2f\n", o.borrowers.back(), o.borrowers.front(),
                costs.back() / costs.front());
  if (o.waiters > 0)
    measure_waiters(sys, o);
  return 0;
}

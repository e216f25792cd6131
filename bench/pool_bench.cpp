// pool_bench: borrow + give_back cycles per second through the pool actor, with do-nothing
// (fake) connections, as HikariCP measures its "connection cycle" (B3), and memory and cost
// per cycle as waiting borrowers grow (B4). N event-based borrower actors share a pool of 8;
// CAF's scheduler as the runtime sets it up (one thread; --threads=N to compare). Every case also
// runs against a floor pool that sends the same messages with no pool logic, so the framework's
// share of the cost is measured beside exapool's.
//
//   pool_bench [--cycles=N] [--policy=event_loop|stealing|sharing] [--style=request|send]
//              [--borrowers=8,32,64,1000,10000] [--waiters=1000,10000,100000] [--repeat=1]
//              [--threads=N] [--no-floor] [--csv=<file to append rows to>]
// With --repeat=k each case runs k times and the best run counts (the machine is shared: the
// best run is the one least disturbed). An empty list skips that part.
#include "actors/fake_backend.hpp"
#include "actors/pool_actor.hpp"
#include "actors/runtime.hpp"
#include "bench/bench_csv.hpp"

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
#include <deque>
#include <iostream>
#include <malloc.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

struct options {
  std::uint64_t cycles = 3'000'000;
  std::string policy = "event_loop"; // the runtime's (runtime::configure)
  std::string style = "request";
  std::vector<std::size_t> borrowers = {8, 32, 64, 1000, 10000};
  std::vector<std::size_t> waiters = {1'000, 10'000, 100'000};
  std::string csv;
  bool floor = true;       // also run the floor pool beside exapool
  std::size_t threads = 0; // CAF scheduler threads (0: the runtime's default)
  std::size_t pool_size = 8;
  int repeat = 1;
};

// A positive count, or an error naming the option and the text.
std::uint64_t parse_count(const std::string& text, const char* option) {
  std::size_t used = 0;
  std::uint64_t n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || n == 0 || text[0] == '-')
    throw std::invalid_argument(std::string(option) + " wants positive whole numbers, not \"" +
                                text + "\"");
  return n;
}

std::vector<std::size_t> parse_list(const std::string& text, const char* option) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(parse_count(item, option));
  return out;
}

std::string one_of(const std::string& text, std::initializer_list<const char*> allowed,
                   const char* option) {
  std::string names;
  for (auto name : allowed) {
    if (text == name)
      return text;
    names += names.empty() ? name : std::string(" or ") + name;
  }
  throw std::invalid_argument(std::string(option) + " is " + names + ", not \"" + text + "\"");
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
      o.cycles = parse_count(v, "--cycles");
    else if (auto v = value("--policy"))
      o.policy = one_of(v, {"event_loop", "stealing", "sharing"}, "--policy");
    else if (auto v = value("--style"))
      o.style = one_of(v, {"request", "send"}, "--style");
    else if (auto v = value("--borrowers"))
      o.borrowers = parse_list(v, "--borrowers");
    else if (auto v = value("--repeat"))
      o.repeat = static_cast<int>(std::min<std::uint64_t>(100, parse_count(v, "--repeat")));
    else if (auto v = value("--waiters"))
      o.waiters = parse_list(v, "--waiters");
    else if (auto v = value("--csv"))
      o.csv = v;
    else if (auto v = value("--threads"))
      o.threads = parse_count(v, "--threads");
    else if (a == "--no-floor")
      o.floor = false;
    else
      throw std::invalid_argument("unknown argument: " + a);
  }
  return o;
}

// The scheduler as the runtime configures it (runtime::configure: one thread), unless
// --threads says otherwise.
struct bench_config : caf::actor_system_config {
  bench_config(const std::string& policy, std::size_t threads) {
    runtime::configure(*this);
    if (threads > 0)
      set("scheduler.max-threads", threads);
    if (policy != "event_loop") // CAF's own schedulers, to compare
      set("scheduler.policy", policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  }
};

// Heap bytes in use (every malloc arena, and chunks mapped on their own): exact to the byte,
// where the resident set moves in pages and keeps what the allocator has cached.
double heap_bytes() {
  auto info = ::mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

struct borrower_state {
  std::uint64_t left = 0;
  caf::actor pool;
  caf::actor done;
  static inline const char* name = "bench.borrower";
};

using borrower_pointer = caf::stateful_actor<borrower_state>*;

// CPU time of the whole process (all threads), in seconds: a fairer cost on a busy machine.
double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

void stop_borrower(borrower_pointer self) {
  self->send(self->state.done, done_atom::value);
  self->quit();
}

// One cycle of a session-like borrower: borrow with request/then (as a session actor does),
// give back, and start the next from the reply through the actor's own pointer. The handlers
// capture nothing but that pointer: a self-referencing std::function here kept every borrower,
// and through its handles the pool, alive after the run (LeakSanitizer, ./run.sh asan).
void request_cycle(borrower_pointer self) {
  self->request(self->state.pool, caf::infinite, borrow_atom::value)
      .then(
          [self](lease& l) {
            self->send(self->state.pool, give_back_atom::value, l.id);
            if (--self->state.left == 0)
              stop_borrower(self);
            else
              request_cycle(self);
          },
          [self](caf::error& e) {
            std::cerr << "borrow failed: " << caf::to_string(e) << "\n";
            stop_borrower(self);
          });
}

// Tells `done` when its share of cycles is through.
caf::behavior request_borrower(borrower_pointer self, caf::actor pool, std::uint64_t cycles,
                               caf::actor done) {
  self->state.left = cycles;
  self->state.pool = std::move(pool);
  self->state.done = std::move(done);
  return {[self](go_atom) { request_cycle(self); }};
}

// The same cycle with plain sends: the pool's answer arrives as an ordinary message.
caf::behavior send_borrower(caf::stateful_actor<borrower_state>* self, caf::actor pool,
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

// The floor: the least a pool can do with the same messages per cycle as exapool's (borrow,
// lease reply, give_back, end_lease to the connection): tokens in a free list, a FIFO of
// promises, no validation, stats, monitors or clock. exapool's cost over this one is its own;
// the rest is the actor framework's.
struct floor_state {
  std::vector<caf::actor> conns;
  std::vector<std::uint32_t> free;
  std::deque<caf::response_promise> waiters;
  std::uint64_t sequence = 0;
  static inline const char* name = "bench.floor_pool";
};

caf::behavior floor_connection(caf::event_based_actor*) {
  return {[](end_lease_atom, std::uint64_t) {}};
}

lease floor_lease(caf::stateful_actor<floor_state>* self, std::uint32_t idx) {
  auto id = (++self->state.sequence << 20) | idx;
  return lease{self->state.conns[idx], id};
}

caf::behavior floor_pool(caf::stateful_actor<floor_state>* self, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    self->state.conns.push_back(self->spawn(floor_connection));
    self->state.free.push_back(static_cast<std::uint32_t>(i));
  }
  return {
      [self](borrow_atom) -> caf::result<lease> {
        auto& st = self->state;
        if (!st.free.empty()) {
          auto idx = st.free.back();
          st.free.pop_back();
          return floor_lease(self, idx);
        }
        st.waiters.push_back(self->make_response_promise());
        return caf::delegated<lease>{};
      },
      [self](give_back_atom, std::uint64_t id) {
        auto& st = self->state;
        auto idx = static_cast<std::uint32_t>(id & ((1u << 20) - 1));
        self->send(st.conns[idx], end_lease_atom::value, id);
        if (st.waiters.empty()) {
          st.free.push_back(idx);
          return;
        }
        auto promise = std::move(st.waiters.front());
        st.waiters.pop_front();
        promise.deliver(floor_lease(self, idx));
      },
      [self](shutdown_atom) {
        for (auto& c : self->state.conns)
          self->send_exit(c, caf::exit_reason::user_shutdown);
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

struct cycle_result {
  double ns_per_cycle = 0;
  double cpu_ns_per_cycle = 0;
};

// Runs n borrowers sharing o.cycles cycles against `pool` and measures wall and CPU time.
cycle_result drive(caf::actor_system& sys, const options& o, std::size_t n, caf::actor pool,
                   std::uint64_t& total) {
  caf::scoped_actor self{sys};
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
  total = per_borrower * n;
  auto cycles = static_cast<double>(total);
  return {std::chrono::duration<double>(elapsed).count() * 1e9 / cycles, cpu * 1e9 / cycles};
}

void print_cycles(const options& o, const char* variant, std::size_t n, std::uint64_t total,
                  const cycle_result& r) {
  std::printf("variant=%s borrowers=%zu pool=%zu style=%s policy=%s threads=%zu cycles=%llu "
              "cycles_per_s=%.0f ns_per_cycle=%.1f cpu_ns_per_cycle=%.1f",
              variant, n, o.pool_size, o.style.c_str(), o.policy.c_str(),
              o.threads == 0 ? 1 : o.threads, static_cast<unsigned long long>(total),
              1e9 / r.ns_per_cycle, r.ns_per_cycle, r.cpu_ns_per_cycle);
}

// exapool's pool actor over do-nothing connections.
cycle_result run_exapool(caf::actor_system& sys, const options& o, std::size_t n) {
  auto plan = std::make_shared<fake_plan>();
  auto pool = spawn_pool(sys, pool_key{std::string(64, 'b')}, bench_pool(o.pool_size),
                         make_fake_factory(plan));
  caf::scoped_actor self{sys};
  prewarm(self, pool, o.pool_size);
  std::uint64_t total = 0;
  auto r = drive(sys, o, n, caf::actor_cast<caf::actor>(pool), total);
  auto s = stats_of(self, pool);
  shutdown(self, pool);
  print_cycles(o, "exapool", n, total, r);
  std::printf(" opened=%llu wait_p50_us=%.1f wait_p99_us=%.1f\n",
              static_cast<unsigned long long>(s.opened), s.wait_p50.count() / 1e3,
              s.wait_p99.count() / 1e3);
  std::fflush(stdout);
  return r;
}

// The floor pool (same messages, no pool logic), for the framework's share of the cost.
cycle_result run_floor(caf::actor_system& sys, const options& o, std::size_t n) {
  auto pool = sys.spawn(floor_pool, o.pool_size);
  std::uint64_t total = 0;
  auto r = drive(sys, o, n, pool, total);
  caf::anon_send(pool, shutdown_atom::value);
  print_cycles(o, "floor", n, total, r);
  std::printf("\n");
  std::fflush(stdout);
  return r;
}

void keep_best(cycle_result& best, const cycle_result& r) {
  if (r.ns_per_cycle < best.ns_per_cycle)
    best = r;
}

// Best (least disturbed) of o.repeat runs.
template <class Run>
cycle_result best_of(caf::actor_system& sys, const options& o, std::size_t n, Run run) {
  auto best = run(sys, o, n);
  for (int i = 1; i < o.repeat; ++i)
    keep_best(best, run(sys, o, n));
  return best;
}

// exapool and the floor, best of o.repeat runs each, taking turns: a burst of other work on a
// shared machine then slows a run of each rather than every run of one.
std::pair<cycle_result, cycle_result> best_of_both(caf::actor_system& sys, const options& o,
                                                   std::size_t n) {
  auto mine = run_exapool(sys, o, n);
  auto floor = run_floor(sys, o, n);
  for (int i = 1; i < o.repeat; ++i) {
    keep_best(mine, run_exapool(sys, o, n));
    keep_best(floor, run_floor(sys, o, n));
  }
  return {mine, floor};
}

// A borrower that asks once and waits (the pool is fully leased).
caf::behavior parked_borrower(caf::event_based_actor* self, pool_actor pool) {
  return {
      [self, pool](go_atom) { self->send(pool, borrow_atom::value); },
      [](lease&) {},
      [](caf::error&) {},
  };
}

double measure_waiters(caf::actor_system& sys, const options& o, std::size_t waiters) {
  auto plan = std::make_shared<fake_plan>();
  auto config = bench_pool(o.pool_size);
  config.max_waiters = waiters; // the pool's bound on its queue (10,000 by default)
  auto pool = spawn_pool(sys, pool_key{std::string(64, 'c')}, config, make_fake_factory(plan));
  caf::scoped_actor self{sys};
  std::vector<lease> held;
  for (std::size_t i = 0; i < o.pool_size; ++i)
    self->request(pool, std::chrono::seconds(60), borrow_atom::value)
        .receive([&](lease& l) { held.push_back(l); },
                 [&](caf::error& e) { std::cerr << "borrow: " << caf::to_string(e) << "\n"; });
  auto before_actors = heap_bytes();
  std::vector<caf::actor> parked;
  parked.reserve(waiters);
  for (std::size_t i = 0; i < waiters; ++i)
    parked.push_back(sys.spawn(parked_borrower, pool));
  std::this_thread::sleep_for(200ms);
  auto with_actors = heap_bytes();
  for (auto& p : parked)
    self->send(p, go_atom::value);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  std::size_t waiting = 0;
  while ((waiting = stats_of(self, pool).waiting) < waiters &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  if (waiting < waiters) { // the actors end first: the system's end waits for them
    shutdown(self, pool);
    for (auto& p : parked)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    throw std::runtime_error("B4: only " + std::to_string(waiting) + " of " +
                             std::to_string(waiters) + " borrowers queued within 2 minutes");
  }
  auto with_waiters = heap_bytes();
  auto n = static_cast<double>(waiters);
  std::printf("waiters=%zu heap_actor_bytes_per_borrower=%.0f "
              "heap_pool_queue_bytes_per_waiter=%.0f heap_total_bytes_per_waiting_borrower=%.0f\n",
              waiters, (with_actors - before_actors) / n, (with_waiters - with_actors) / n,
              (with_waiters - before_actors) / n);
  std::fflush(stdout);
  shutdown(self, pool); // fails the waiters
  for (auto& p : parked)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  return (with_waiters - before_actors) / n;
}

// The case the others are compared with: 64 borrowers when measured, else the first.
std::size_t reference_of(const std::vector<std::size_t>& borrowers) {
  auto i = std::find(borrowers.begin(), borrowers.end(), std::size_t{64});
  return i != borrowers.end() ? *i : borrowers.front();
}

void run_b3(caf::actor_system& sys, const options& o, bench::csv_rows& csv) {
  if (o.borrowers.empty())
    return;
  auto reference = reference_of(o.borrowers);
  std::vector<std::pair<std::size_t, cycle_result>> exapool_costs;
  for (auto n : o.borrowers) {
    std::vector<std::pair<const char*, cycle_result>> results;
    if (o.floor) {
      auto [mine, floor] = best_of_both(sys, o, n);
      results.emplace_back("exapool", mine);
      results.emplace_back("floor", floor);
      std::printf("best borrowers=%zu exapool_cycles_per_s=%.0f floor_cycles_per_s=%.0f "
                  "exapool_vs_floor_cost=%.2f\n",
                  n, 1e9 / results[0].second.ns_per_cycle, 1e9 / results[1].second.ns_per_cycle,
                  results[0].second.ns_per_cycle / results[1].second.ns_per_cycle);
    } else {
      results.emplace_back("exapool", best_of(sys, o, n, run_exapool));
      std::printf("best borrowers=%zu exapool_cycles_per_s=%.0f\n", n,
                  1e9 / results[0].second.ns_per_cycle);
    }
    for (auto& [variant, r] : results) {
      csv.add("B3", "cycle", variant, n, "cycles_per_s", 1e9 / r.ns_per_cycle, "cycles/s");
      csv.add("B3", "cycle", variant, n, "ns_per_cycle", r.ns_per_cycle, "ns");
      csv.add("B3", "cycle", variant, n, "cpu_ns_per_cycle", r.cpu_ns_per_cycle, "ns");
    }
    exapool_costs.emplace_back(n, results[0].second);
  }
  auto ref = std::find_if(exapool_costs.begin(), exapool_costs.end(),
                          [&](auto& c) { return c.first == reference; });
  for (auto& [n, r] : exapool_costs)
    if (n != reference)
      std::printf("cost_ratio_%zu_vs_%zu=%.2f\n", n, reference,
                  r.ns_per_cycle / ref->second.ns_per_cycle);
  std::fflush(stdout);
}

// B4: memory per waiting borrower and cost per cycle as the number of borrowers grows.
void run_b4(caf::actor_system& sys, const options& o, bench::csv_rows& csv) {
  for (auto w : o.waiters) {
    auto bytes = measure_waiters(sys, o, w);
    auto cost = best_of(sys, o, w, run_exapool);
    csv.add("B4", "waiting", "exapool", w, "bytes_per_waiter", bytes, "B");
    csv.add("B4", "waiting", "exapool", w, "ns_per_cycle", cost.ns_per_cycle, "ns");
  }
}

} // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pool_bench: " << e.what() << "\n";
    return 2;
  }
  try {
    bench::csv_rows csv{o.csv};
    bench_config cfg{o.policy, o.threads};
    caf::actor_system sys{cfg};
    run_b3(sys, o, csv);
    run_b4(sys, o, csv);
  } catch (const std::exception& e) {
    std::cerr << "pool_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

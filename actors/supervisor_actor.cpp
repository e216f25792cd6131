#include "actors/supervisor_actor.hpp"

#include "actors/request_errors.hpp"
#include "messages/errors.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <utility>

namespace exapool {

namespace {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

// Timers the supervisor sends itself; not part of the public interface.
// verdict: the wait for the down message of a pool reported dead is over.
using verdict_atom = caf::atom_constant<caf::atom("verdict")>;
// sweep: the periodic look for idle pools (re-armed each time; tick_atom is a one-off).
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

using supervisor_impl = supervisor_actor::extend<caf::reacts_to<verdict_atom, caf::actor_addr>,
                                                 caf::reacts_to<sweep_atom>>;

// The longest the supervisor waits for the down message of a pool reported dead. A pool that
// died sends it at once (CAF sends it in the same cleanup that bounced the reporter's request),
// so this only bounds the wait for a live pool, which is then kept.
constexpr auto verdict_window_max = std::chrono::seconds(1);

// What a lookup answers: the key's pool, or why there is none.
using pool_continuation = std::function<void(caf::expected<pool_actor>)>;

struct pool_entry {
  pool_actor handle;
  backend_factory make_backend; // bound to the pool's credentials, to restart it
  std::string label;            // pool_label of those credentials, put into its stats
  time_point last_active;       // last use seen: a lookup, prewarm, or activity in its stats
  std::uint64_t borrowed_seen = 0;
};

// A pool drained for idleness. Its key is not served until the pool confirmed that it is
// closed (then a lookup makes a fresh pool), so one key never has two pools' connections.
struct evicting_pool {
  pool_actor handle;
  std::string label;
  std::vector<std::pair<credentials, pool_continuation>> waiting;
  // Set when a shutdown began meanwhile: the eviction's outcome is this pool's part of it.
  std::function<void(caf::expected<pool_stats>)> at_shutdown;
};

// Crashes of one key within restart_period, and whether the key is refused for a cool-down.
struct crash_record {
  std::deque<time_point> restarts;
  bool failed = false;
  time_point failed_until;
  std::string label;
};

// A caller's report that a pool is dead, waiting for the evidence (its down message).
struct pending_report {
  credentials creds;
  pool_continuation answer;
};

struct supervisor_state {
  supervisor_config config;
  std::map<pool_key, pool_entry> pools;
  std::map<pool_key, evicting_pool> evicting;
  std::map<caf::actor_addr, pool_key> keys_by_address;
  std::map<pool_key, crash_record> crashes;
  std::map<caf::actor_addr, std::vector<pending_report>> reports;
  std::size_t restarts = 0;
  // Shutdown: started once; every shutdown request is answered when the last pool stopped,
  // with the final stats, or with the failure naming the pools that did not confirm.
  bool draining = false;
  bool drained = false;
  std::vector<caf::typed_response_promise<std::vector<pool_stats>>> shutdown_waiters;
  std::vector<pool_stats> final_stats;
  std::vector<std::string> unconfirmed;
  caf::error shutdown_failure;

  time_point now() const { return config.now ? config.now() : clock_type::now(); }

  static inline const char* name = "exapool.supervisor";
};

using supervisor_pointer = supervisor_impl::stateful_pointer<supervisor_state>;

// The name of the pool with this label: the configured one, else the label.
std::string pool_name(const supervisor_state& st, const std::string& label) {
  return st.config.pool.name.empty() ? label : st.config.pool.name;
}

caf::error refused_while_draining() {
  return make_error(pool_errc::shutting_down,
                    "the runtime is shutting down: no new pools, borrows or prewarms");
}

// Spawns the pool of `key` and watches it (monitor, not link: a pool's crash must never take
// the supervisor down; the supervisor restarts it instead).
pool_actor start_pool(supervisor_pointer self, const pool_key& key, backend_factory make_backend,
                      std::string label) {
  auto& st = self->state;
  auto config = st.config.pool;
  config.name = pool_name(st, label);
  // One name may be configured for every pool: the label tells them apart in the log.
  auto log_label = config.name == label ? label : config.name + " (" + label + ")";
  auto handle =
      spawn_pool(self->system(), key, config, make_backend, pool_log{st.config.log, log_label});
  self->monitor(handle);
  st.keys_by_address[handle.address()] = key;
  st.pools[key] = pool_entry{handle, std::move(make_backend), std::move(label), st.now(), 0};
  return handle;
}

// Why the key of a pool that crashed too often is refused now, or no error. After the
// cool-down the key may start a pool again (its recent crashes still count).
caf::error crash_refusal(supervisor_state& st, const pool_key& key, time_point now) {
  auto i = st.crashes.find(key);
  if (i == st.crashes.end() || !i->second.failed)
    return caf::error{};
  auto& rec = i->second;
  if (now >= rec.failed_until) {
    rec.failed = false;
    return caf::error{};
  }
  const auto& limits = st.config.limits;
  auto left = std::chrono::duration_cast<caf::timespan>(rec.failed_until - now);
  return make_error(pool_errc::pool_failed,
                    "the pool for " + rec.label + " crashed more than " +
                        std::to_string(limits.max_restarts) + " times within " +
                        describe_span(limits.restart_period) +
                        " (exapool.max-restarts, exapool.restart-period): not restarted for " +
                        describe_span(left) + " more");
}

caf::error too_many_pools(const supervisor_state& st) {
  return make_error(pool_errc::too_many_pools,
                    "no new pool: " + std::to_string(st.config.limits.max_pools) +
                        " pools exist (exapool.max-pools); a pool unused for " +
                        describe_span(st.config.limits.pool_idle_timeout) +
                        " (exapool.pool-idle-timeout) is closed and makes room");
}

// Answers with the pool of `creds`: the running one, else a fresh one (within the limits).
// While the key's previous pool is being evicted, the answer waits until it is closed.
void lookup(supervisor_pointer self, const credentials& creds, pool_continuation answer) {
  auto& st = self->state;
  if (st.draining) {
    answer(refused_while_draining());
    return;
  }
  auto key = make_pool_key(creds);
  auto now = st.now();
  if (auto i = st.pools.find(key); i != st.pools.end()) {
    i->second.last_active = now;
    answer(i->second.handle);
    return;
  }
  if (auto e = st.evicting.find(key); e != st.evicting.end()) {
    e->second.waiting.emplace_back(creds, std::move(answer));
    return;
  }
  if (auto refused = crash_refusal(st, key, now)) {
    answer(std::move(refused));
    return;
  }
  if (st.pools.size() + st.evicting.size() >= st.config.limits.max_pools) {
    answer(too_many_pools(st));
    return;
  }
  auto make = st.config.make_backend;
  answer(start_pool(
      self, key, [make, creds] { return make(creds); }, pool_label(creds)));
}

// Restarts the crashed pool of `entry` unless its key crashed max_restarts times within
// restart_period; then the key fails for restart_cooldown instead of a restart storm.
void restart_or_fail(supervisor_pointer self, std::map<pool_key, pool_entry>::iterator entry) {
  auto& st = self->state;
  const auto& limits = st.config.limits;
  auto key = entry->first;
  auto now = st.now();
  auto& rec = st.crashes[key];
  while (!rec.restarts.empty() && now - rec.restarts.front() >= limits.restart_period)
    rec.restarts.pop_front();
  auto make_backend = std::move(entry->second.make_backend);
  auto label = std::move(entry->second.label);
  st.pools.erase(entry);
  if (rec.restarts.size() >= limits.max_restarts) {
    rec.failed = true;
    rec.failed_until = now + limits.restart_cooldown;
    rec.label = std::move(label);
    return;
  }
  rec.restarts.push_back(now);
  ++st.restarts;
  start_pool(self, key, std::move(make_backend), std::move(label));
}

// Reports about a pool are answered once its fate is known: its replacement (or why there is
// none) after its down message, the same pool when none came.
void answer_reports(supervisor_pointer self, const caf::actor_addr& pool) {
  auto& st = self->state;
  auto i = st.reports.find(pool);
  if (i == st.reports.end())
    return;
  auto pending = std::move(i->second);
  st.reports.erase(i);
  for (auto& r : pending)
    lookup(self, r.creds, std::move(r.answer));
}

// A pool went down. While running, that is a crash: start a fresh pool for the same key (its
// connection actors watch their pool and close their sessions when it dies), within the
// restart limit. While draining, or for a pool being evicted, it is the expected end.
void on_pool_down(supervisor_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  auto i = st.keys_by_address.find(down.source);
  if (i == st.keys_by_address.end())
    return;
  auto key = i->second;
  st.keys_by_address.erase(i);
  auto entry = st.pools.find(key);
  if (entry != st.pools.end() && entry->second.handle.address() == down.source) {
    if (st.draining)
      st.pools.erase(entry);
    else
      restart_or_fail(self, entry);
  }
  answer_reports(self, down.source);
}

// A caller reports the pool of `creds` dead (a request to it bounced, or it answered
// pool_failed). The evidence that it is dead is its down message, which the supervisor gets
// as its monitor: a report alone never replaces (or kills) a live pool, which would cost every
// connection it has. When `gone` is still the key's pool, the answer waits for that message.
void replace_pool(supervisor_pointer self, const credentials& creds, const pool_actor& gone,
                  pool_continuation answer) {
  auto& st = self->state;
  auto entry = st.pools.find(make_pool_key(creds));
  if (entry == st.pools.end() || entry->second.handle != gone) {
    lookup(self, creds, std::move(answer)); // already replaced (or never ours)
    return;
  }
  auto& waiting = st.reports[gone.address()];
  waiting.push_back(pending_report{creds, std::move(answer)});
  if (waiting.size() == 1) {
    auto window = std::min(caf::timespan{verdict_window_max}, st.config.request_slack / 2);
    self->delayed_send(self, window, verdict_atom::value, gone.address());
  }
}

template <class T> pool_continuation deliver_to(caf::typed_response_promise<T> rp) {
  return [rp](caf::expected<pool_actor> pool) mutable {
    if (pool)
      rp.deliver(std::move(*pool));
    else
      rp.deliver(std::move(pool.error()));
  };
}

caf::timespan prewarm_timeout(const supervisor_state& st, const credentials& creds, std::size_t n) {
  // Connects may run one after another in the worst case; this is only a hang guard.
  auto per_connect = creds.connect_timeout + st.config.pool.validation_timeout;
  return per_connect * static_cast<long>(std::max<std::size_t>(1, n)) + st.config.request_slack;
}

caf::result<prewarm_report> prewarm(supervisor_pointer self, const credentials& creds,
                                    std::size_t n) {
  if (self->state.draining)
    return refused_while_draining();
  if (n == 0)
    return make_error(pool_errc::invalid_config, "prewarm of 0 connections: use 1 or more");
  auto rp = self->make_response_promise<prewarm_report>();
  auto timeout = prewarm_timeout(self->state, creds, n);
  lookup(self, creds, [self, rp, n, timeout](caf::expected<pool_actor> pool) mutable {
    if (!pool) {
      rp.deliver(std::move(pool.error()));
      return;
    }
    self->request(*pool, timeout, prewarm_atom::value, n)
        .then([rp](prewarm_report& report) mutable { rp.deliver(std::move(report)); },
              [rp, timeout](caf::error& err) mutable {
                rp.deliver(exapool_error_from(err, pool_errc::pool_failed, "prewarm", timeout));
              });
  });
  return rp;
}

// Asks every pool for its stats and answers once all replied (a pool that died meanwhile
// is left out: the restarted one has fresh counters). Pools being evicted are not listed.
caf::result<std::vector<pool_stats>> all_stats(supervisor_pointer self) {
  auto& st = self->state;
  if (st.drained)
    return st.final_stats;
  if (st.pools.empty())
    return std::vector<pool_stats>{};
  struct collector {
    caf::typed_response_promise<std::vector<pool_stats>> rp;
    std::vector<pool_stats> stats;
    std::size_t pending = 0;
    void one_done() {
      if (--pending == 0) {
        std::sort(stats.begin(), stats.end(),
                  [](const pool_stats& a, const pool_stats& b) { return a.key < b.key; });
        rp.deliver(std::move(stats));
      }
    }
  };
  auto c = std::make_shared<collector>();
  c->rp = self->make_response_promise<std::vector<pool_stats>>();
  c->pending = st.pools.size();
  for (auto& [key, entry] : st.pools)
    self->request(entry.handle, st.config.request_slack, stats_atom::value)
        .then(
            [c, label = entry.label](pool_stats& s) {
              s.label = label;
              c->stats.push_back(std::move(s));
              c->one_done();
            },
            [c](caf::error&) { c->one_done(); });
  return c->rp;
}

caf::result<pool_stats> one_stats(supervisor_pointer self, const pool_key& key) {
  auto& st = self->state;
  if (st.drained) {
    for (auto& s : st.final_stats)
      if (s.key == key)
        return s;
  }
  auto i = st.pools.find(key);
  if (i == st.pools.end())
    return make_error(pool_errc::invalid_config, "no pool with this key");
  auto rp = self->make_response_promise<pool_stats>();
  auto slack = st.config.request_slack;
  self->request(i->second.handle, slack, stats_atom::value)
      .then(
          [rp, label = i->second.label](pool_stats& s) mutable {
            s.label = label;
            rp.deliver(std::move(s));
          },
          [rp, slack](caf::error& err) mutable {
            rp.deliver(exapool_error_from(err, pool_errc::pool_failed, "stats", slack));
          });
  return rp;
}

// --- idle eviction --------------------------------------------------------------------------

// The evicted pool is closed (or, when it did not confirm in time, killed: its connection
// actors close their sessions when they see it gone). Lookups that waited for its key go on;
// a shutdown that began meanwhile counts the outcome as this pool's.
void finish_eviction(supervisor_pointer self, const pool_key& key, const pool_actor& handle,
                     caf::expected<pool_stats> outcome) {
  auto& st = self->state;
  auto e = st.evicting.find(key);
  if (e == st.evicting.end() || e->second.handle != handle)
    return;
  auto waiting = std::move(e->second.waiting);
  auto at_shutdown = std::move(e->second.at_shutdown);
  st.evicting.erase(e);
  if (at_shutdown)
    at_shutdown(std::move(outcome));
  for (auto& [creds, answer] : waiting)
    lookup(self, creds, std::move(answer));
}

// Drains the pool like at shutdown: idle connections close now (an idle pool has no others).
void evict(supervisor_pointer self, std::map<pool_key, pool_entry>::iterator entry) {
  auto& st = self->state;
  auto key = entry->first;
  auto handle = entry->second.handle;
  st.evicting[key] = evicting_pool{handle, entry->second.label, {}, {}};
  st.pools.erase(entry);
  auto deadline = shutdown_deadline(st.config.pool, st.config.request_slack);
  self->request(handle, deadline, shutdown_atom::value)
      .then([self, key, handle](pool_stats& s) { finish_eviction(self, key, handle, s); },
            [self, key, handle](caf::error& err) {
              self->send_exit(handle, caf::exit_reason::kill);
              finish_eviction(self, key, handle, err);
            });
}

// A pool's stats: activity (a lease, a waiter, a connection opening, a borrow or statement
// since the last look) makes it active now; a pool quiet for pool_idle_timeout is evicted.
// Returns true when it was evicted.
bool on_probe(supervisor_pointer self, const pool_key& key, const pool_actor& handle,
              const pool_stats& s) {
  auto& st = self->state;
  auto i = st.pools.find(key);
  if (st.draining || i == st.pools.end() || i->second.handle != handle)
    return false;
  auto& entry = i->second;
  auto now = st.now();
  bool busy = s.leased > 0 || s.waiting > 0 || s.opening > 0 || s.borrowed != entry.borrowed_seen;
  entry.borrowed_seen = s.borrowed;
  if (busy) {
    entry.last_active = now;
    return false;
  }
  if (now - entry.last_active < st.config.limits.pool_idle_timeout)
    return false;
  evict(self, i);
  return true;
}

// The pool of refused credentials goes when it never worked: its stats decide.
caf::result<bool> forget(supervisor_pointer self, const credentials& creds) {
  auto& st = self->state;
  auto key = make_pool_key(creds);
  auto i = st.pools.find(key);
  if (st.draining || i == st.pools.end())
    return false;
  auto rp = self->make_response_promise<bool>();
  auto handle = i->second.handle;
  self->request(handle, st.config.request_slack, stats_atom::value)
      .then(
          [self, key, handle, rp](pool_stats& s) mutable {
            auto& st = self->state;
            auto i = st.pools.find(key);
            // Credentials that never opened a connection, with nobody waiting. (A failed open's
            // slot still counts as a connection until its actor is down, so the counts of
            // connections cannot tell.) A pool that worked before keeps its connections.
            bool unused = s.opened == 0 && s.leased == 0 && s.waiting == 0;
            if (st.draining || i == st.pools.end() || i->second.handle != handle || !unused) {
              rp.deliver(false);
              return;
            }
            evict(self, i);
            rp.deliver(true);
          },
          [rp](caf::error&) mutable { rp.deliver(false); });
  return rp;
}

// Crash records of keys with no recent crash and no cool-down left are dropped, so that the
// records stay bounded by the keys that crashed lately.
void prune_crashes(supervisor_state& st, time_point now) {
  for (auto i = st.crashes.begin(); i != st.crashes.end();) {
    auto& rec = i->second;
    while (!rec.restarts.empty() && now - rec.restarts.front() >= st.config.limits.restart_period)
      rec.restarts.pop_front();
    bool cooling = rec.failed && now < rec.failed_until;
    if (rec.restarts.empty() && !cooling)
      i = st.crashes.erase(i);
    else
      ++i;
  }
}

// Asks every pool for its stats; `done` gets how many pools were evicted once all answered.
void look_for_idle_pools(supervisor_pointer self, std::function<void(std::size_t)> done) {
  auto& st = self->state;
  prune_crashes(st, st.now());
  if (st.draining || st.pools.empty() || st.config.limits.pool_idle_timeout.count() <= 0) {
    done(0);
    return;
  }
  struct counter {
    std::size_t pending = 0, evicted = 0;
    std::function<void(std::size_t)> done;
    void one_done(bool was_evicted) {
      evicted += was_evicted ? 1 : 0;
      if (--pending == 0)
        done(evicted);
    }
  };
  auto c = std::make_shared<counter>();
  c->pending = st.pools.size();
  c->done = std::move(done);
  for (auto& [key, entry] : st.pools)
    self->request(entry.handle, st.config.request_slack, stats_atom::value)
        .then([self, c, key = key, handle = entry.handle](
                  pool_stats& s) { c->one_done(on_probe(self, key, handle, s)); },
              [c](caf::error&) { c->one_done(false); });
}

// --- shutdown -------------------------------------------------------------------------------

void finish_shutdown(supervisor_pointer self) {
  auto& st = self->state;
  st.drained = true;
  std::sort(st.final_stats.begin(), st.final_stats.end(),
            [](const pool_stats& a, const pool_stats& b) { return a.key < b.key; });
  if (!st.unconfirmed.empty()) {
    std::string names;
    for (const auto& name : st.unconfirmed)
      names += (names.empty() ? "" : ", ") + name;
    st.shutdown_failure = make_error(
        pool_errc::pool_failed,
        "shutdown incomplete: " + std::to_string(st.unconfirmed.size()) +
            " pool(s) did not confirm that all their connections are closed (their server "
            "sessions may still be open): " +
            names);
  }
  for (auto& rp : st.shutdown_waiters)
    if (rp.pending()) {
      if (st.shutdown_failure)
        rp.deliver(st.shutdown_failure);
      else
        rp.deliver(st.final_stats);
    }
  st.shutdown_waiters.clear();
}

caf::result<std::vector<pool_stats>> drained_answer(const supervisor_state& st) {
  if (st.shutdown_failure)
    return st.shutdown_failure;
  return st.final_stats;
}

// Records one pool's end of the shutdown. Its reply (every connection closed: total 0)
// confirms it; anything else — no reply within the deadline, a pool that died first — leaves
// it unconfirmed.
void pool_drained(supervisor_pointer self, const pool_key& key, const std::string& label,
                  caf::expected<pool_stats> outcome) {
  auto& st = self->state;
  if (outcome) {
    outcome->label = label;
    if (outcome->total != 0)
      st.unconfirmed.push_back(label + " (" + std::to_string(outcome->total) +
                               " connections left)");
    st.final_stats.push_back(std::move(*outcome));
    return;
  }
  auto deadline = shutdown_deadline(st.config.pool, st.config.request_slack);
  auto why = outcome.error() == caf::sec::request_timeout
                 ? "no answer within " + describe_span(deadline)
                 : std::string("it stopped without answering");
  st.unconfirmed.push_back(label + " (" + why + ")");
  pool_stats gone;
  gone.key = key;
  gone.label = label;
  gone.name = pool_name(st, label);
  st.final_stats.push_back(std::move(gone));
}

// Drains every pool at once (those being evicted too); each pool refuses new borrows, fails
// its waiters and closes its connections (leased ones when returned or after its grace
// period), then replies and stops.
caf::result<std::vector<pool_stats>> drain(supervisor_pointer self) {
  auto& st = self->state;
  if (st.drained)
    return drained_answer(st);
  st.shutdown_waiters.push_back(self->make_response_promise<std::vector<pool_stats>>());
  auto rp = st.shutdown_waiters.back();
  if (st.draining)
    return rp;
  st.draining = true;
  if (st.pools.empty() && st.evicting.empty()) {
    finish_shutdown(self);
    return rp;
  }
  auto pending = std::make_shared<std::size_t>(st.pools.size() + st.evicting.size());
  auto one_done = [self, pending](const pool_key& key, const std::string& label,
                                  caf::expected<pool_stats> outcome) {
    pool_drained(self, key, label, std::move(outcome));
    if (--*pending == 0)
      finish_shutdown(self);
  };
  auto deadline = shutdown_deadline(st.config.pool, st.config.request_slack);
  for (auto& [key, entry] : st.pools)
    self->request(entry.handle, deadline, shutdown_atom::value)
        .then([one_done, key = key,
               label = entry.label](pool_stats& s) { one_done(key, label, std::move(s)); },
              [one_done, key = key, label = entry.label](caf::error& err) {
                one_done(key, label, std::move(err));
              });
  // A pool being evicted is draining already: the eviction's outcome is its part.
  for (auto& [key, entry] : st.evicting)
    entry.at_shutdown = [one_done, key = key,
                         label = entry.label](caf::expected<pool_stats> outcome) {
      one_done(key, label, std::move(outcome));
    };
  return rp;
}

supervisor_impl::behavior_type supervisor(supervisor_pointer self, supervisor_config config) {
  if (!config.make_backend && config.io)
    config.make_backend = [io = config.io](const credentials& creds) {
      return make_exasol_backend(creds, *io);
    };
  else if (!config.make_backend)
    config.make_backend = [](const credentials& creds) { return make_exasol_backend(creds); };
  self->state.config = std::move(config);
  self->set_down_handler([self](caf::down_msg& down) { on_pool_down(self, down); });
  auto interval = idle_check_interval(self->state.config.limits);
  if (interval.count() > 0)
    self->delayed_send(self, interval, sweep_atom::value);
  return {
      [self](pool_atom, const credentials& creds) -> caf::result<pool_actor> {
        auto rp = self->make_response_promise<pool_actor>();
        lookup(self, creds, deliver_to(rp));
        return rp;
      },
      [self](pool_atom, const credentials& creds,
             const pool_actor& gone) -> caf::result<pool_actor> {
        if (self->state.draining)
          return refused_while_draining();
        auto rp = self->make_response_promise<pool_actor>();
        replace_pool(self, creds, gone, deliver_to(rp));
        return rp;
      },
      [self](prewarm_atom, const credentials& creds, std::size_t n) {
        return prewarm(self, creds, n);
      },
      [self](prewarm_atom, const credentials& creds) -> caf::result<prewarm_report> {
        auto n = pool_size_from_environment();
        if (!n)
          return n.error();
        return prewarm(self, creds, *n);
      },
      [self](stats_atom, const pool_key& key) { return one_stats(self, key); },
      [self](stats_atom, const credentials& creds) {
        return one_stats(self, make_pool_key(creds));
      },
      [self](stats_atom) { return all_stats(self); },
      [self](shutdown_atom) { return drain(self); },
      [self](stats_atom, pool_atom) { return self->state.restarts; },
      [self](tick_atom) -> caf::result<std::size_t> {
        auto rp = self->make_response_promise<std::size_t>();
        look_for_idle_pools(self, [rp](std::size_t evicted) mutable { rp.deliver(evicted); });
        return rp;
      },
      [self](forget_atom, const credentials& creds) { return forget(self, creds); },
      [self](verdict_atom, const caf::actor_addr& pool) { answer_reports(self, pool); },
      [self, interval](sweep_atom) {
        if (self->state.draining)
          return;
        look_for_idle_pools(self, [](std::size_t) {});
        self->delayed_send(self, interval, sweep_atom::value);
      },
  };
}

} // namespace

caf::timespan idle_check_interval(const supervisor_limits& limits) {
  if (limits.pool_idle_timeout.count() <= 0)
    return caf::timespan{0};
  return std::clamp(limits.pool_idle_timeout / 4, caf::timespan{std::chrono::milliseconds(10)},
                    caf::timespan{std::chrono::minutes(1)});
}

caf::timespan shutdown_deadline(const pool_config& pool, caf::timespan slack) {
  return shutdown_bound(pool) + slack;
}

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_config config) {
  supervisor_impl impl = sys.spawn(supervisor, std::move(config));
  return caf::actor_cast<supervisor_actor>(impl);
}

} // namespace exapool

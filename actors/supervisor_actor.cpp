#include "actors/supervisor_actor.hpp"

#include "actors/request_errors.hpp"
#include "messages/errors.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

namespace exapool {

namespace {

struct pool_entry {
  pool_actor handle;
  backend_factory make_backend; // bound to the pool's credentials, to restart it
  std::string label;            // pool_label of those credentials, put into its stats
};

struct supervisor_state {
  supervisor_config config;
  std::map<pool_key, pool_entry> pools;
  std::map<caf::actor_addr, pool_key> keys_by_address;
  std::size_t restarts = 0;
  // Shutdown: started once; every shutdown request is answered when the last pool stopped.
  bool draining = false;
  bool drained = false;
  std::vector<caf::typed_response_promise<std::vector<pool_stats>>> shutdown_waiters;
  std::vector<pool_stats> final_stats;

  static inline const char* name = "exapool.supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

caf::error refused_while_draining() {
  return make_error(pool_errc::shutting_down,
                    "the runtime is shutting down: no new pools, borrows or prewarms");
}

// Spawns the pool of `key` and watches it (monitor, not link: a pool's crash must never take
// the supervisor down; the supervisor restarts it instead).
pool_actor start_pool(supervisor_pointer self, const pool_key& key, backend_factory make_backend,
                      std::string label) {
  auto& st = self->state;
  auto handle = spawn_pool(self->system(), key, st.config.pool, make_backend);
  self->monitor(handle);
  st.keys_by_address[handle.address()] = key;
  st.pools[key] = pool_entry{handle, std::move(make_backend), std::move(label)};
  return handle;
}

pool_actor pool_for(supervisor_pointer self, const credentials& creds) {
  auto key = make_pool_key(creds);
  auto& st = self->state;
  if (auto i = st.pools.find(key); i != st.pools.end())
    return i->second.handle;
  auto make = st.config.make_backend;
  return start_pool(
      self, key, [make, creds] { return make(creds); }, pool_label(creds));
}

// A pool went down. While running, that is a crash: start a fresh pool for the same key (its
// connection actors watch their pool and close their sessions when it dies). While draining,
// it is the expected end of a pool that has answered its shutdown.
void on_pool_down(supervisor_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  auto i = st.keys_by_address.find(down.source);
  if (i == st.keys_by_address.end())
    return;
  auto key = i->second;
  st.keys_by_address.erase(i);
  auto entry = st.pools.find(key);
  if (entry == st.pools.end() || entry->second.handle.address() != down.source)
    return;
  if (st.draining) {
    st.pools.erase(entry);
    return;
  }
  ++st.restarts;
  auto make_backend = std::move(entry->second.make_backend);
  auto label = std::move(entry->second.label);
  st.pools.erase(entry);
  start_pool(self, key, std::move(make_backend), std::move(label));
}

// A caller reports the pool of `creds` dead. Killing it first means a mistaken report can never
// leave two pools (and twice the connections) for one key: its connection actors close with it.
pool_actor replace_pool(supervisor_pointer self, const credentials& creds, const pool_actor& gone) {
  auto& st = self->state;
  auto key = make_pool_key(creds);
  auto entry = st.pools.find(key);
  if (entry == st.pools.end() || entry->second.handle != gone)
    return pool_for(self, creds); // already replaced (or never ours)
  self->send_exit(gone, caf::exit_reason::kill);
  st.keys_by_address.erase(gone.address()); // its down message changes nothing any more
  ++st.restarts;
  auto make_backend = std::move(entry->second.make_backend);
  auto label = std::move(entry->second.label);
  st.pools.erase(entry);
  return start_pool(self, key, std::move(make_backend), std::move(label));
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
  auto pool = pool_for(self, creds);
  auto rp = self->make_response_promise<prewarm_report>();
  auto timeout = prewarm_timeout(self->state, creds, n);
  self->request(pool, timeout, prewarm_atom::value, n)
      .then([rp](prewarm_report& report) mutable { rp.deliver(std::move(report)); },
            [rp, timeout](caf::error& err) mutable {
              rp.deliver(exapool_error_from(err, pool_errc::pool_failed, "prewarm", timeout));
            });
  return rp;
}

// Asks every pool for its stats and answers once all replied (a pool that died meanwhile
// is left out: the restarted one has fresh counters).
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

void finish_shutdown(supervisor_pointer self) {
  auto& st = self->state;
  st.drained = true;
  std::sort(st.final_stats.begin(), st.final_stats.end(),
            [](const pool_stats& a, const pool_stats& b) { return a.key < b.key; });
  for (auto& rp : st.shutdown_waiters)
    if (rp.pending())
      rp.deliver(st.final_stats);
  st.shutdown_waiters.clear();
}

// Drains every pool at once; each pool refuses new borrows, fails its waiters and closes its
// connections (leased ones when returned or after its grace period), then replies and stops.
caf::result<std::vector<pool_stats>> drain(supervisor_pointer self) {
  auto& st = self->state;
  if (st.drained)
    return st.final_stats;
  st.shutdown_waiters.push_back(self->make_response_promise<std::vector<pool_stats>>());
  auto rp = st.shutdown_waiters.back();
  if (st.draining)
    return rp;
  st.draining = true;
  if (st.pools.empty()) {
    finish_shutdown(self);
    return rp;
  }
  auto pending = std::make_shared<std::size_t>(st.pools.size());
  auto timeout =
      st.config.pool.shutdown_grace + st.config.pool.validation_timeout + st.config.request_slack;
  for (auto& [key, entry] : st.pools) {
    auto one_done = [self, pending] {
      if (--*pending == 0)
        finish_shutdown(self);
    };
    self->request(entry.handle, timeout, shutdown_atom::value)
        .then(
            [self, one_done, label = entry.label](pool_stats& s) {
              s.label = label;
              self->state.final_stats.push_back(std::move(s));
              one_done();
            },
            [self, one_done, key = key, label = entry.label](caf::error&) {
              pool_stats gone;
              gone.key = key;
              gone.label = label;
              self->state.final_stats.push_back(std::move(gone));
              one_done();
            });
  }
  return rp;
}

supervisor_actor::behavior_type supervisor(supervisor_pointer self, supervisor_config config) {
  if (!config.make_backend)
    config.make_backend = [](const credentials& creds) { return make_exasol_backend(creds); };
  self->state.config = std::move(config);
  self->set_down_handler([self](caf::down_msg& down) { on_pool_down(self, down); });
  return {
      [self](pool_atom, const credentials& creds) -> caf::result<pool_actor> {
        if (self->state.draining)
          return refused_while_draining();
        return pool_for(self, creds);
      },
      [self](pool_atom, const credentials& creds,
             const pool_actor& gone) -> caf::result<pool_actor> {
        if (self->state.draining)
          return refused_while_draining();
        return replace_pool(self, creds, gone);
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
      [self](stats_atom) { return all_stats(self); },
      [self](shutdown_atom) { return drain(self); },
      [self](stats_atom, pool_atom) { return self->state.restarts; },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_config config) {
  return sys.spawn(supervisor, std::move(config));
}

} // namespace exapool

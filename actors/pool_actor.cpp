// The pool actor is the shell around pool_core: it keeps what only CAF can hold (response
// promises, actor handles, monitors, the backends), turns messages, replies and down messages
// into the core's events, and performs the core's effects. It decides nothing itself.
#include "actors/pool_actor.hpp"

#include "actors/pool_core.hpp"
#include "messages/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace exapool {

namespace {

using clock_type = std::chrono::steady_clock;
using effect = pool_core::effect;
using slot_id = pool_core::slot_id;

// The core's timer (timeout_atom) and the maintenance tick, sent to itself.
using pool_impl = pool_actor::extend<caf::reacts_to<timeout_atom>, caf::reacts_to<tick_atom>>;

// How long a login may take before the core kills the connection (the client has its own,
// shorter deadlines; this guards against a hung one).
constexpr auto open_guard = std::chrono::minutes(5);
// The core keeps every request's deadline and kills the connection at it; a reply after that
// is ignored. CAF's own request timeout only bounds how long CAF keeps the handler.
constexpr auto reply_slack = std::chrono::minutes(1);

// A statement waiting for a connection: once it has one, the statement goes there as
// execute-and-release, delegated, so the connection answers the sender itself.
struct statement_wait {
  caf::typed_response_promise<query_result> promise;
  std::string sql;
};
using pending_wait = std::variant<caf::typed_response_promise<lease>, statement_wait>;

// The queued borrows' promises by waiter id. The core numbers waiters one after the other and
// serves the oldest first, so a deque indexed from the oldest open id finds each in O(1)
// without a node per wait (against a hash map: ~1 % of a queued borrow + return cycle, B3).
// Holes left by waiters that gave up are dropped once they reach the front.
class wait_table {
public:
  void add(pool_core::waiter_id id, pending_wait wait) {
    if (slots_.empty())
      first_ = id;
    if (id < first_)
      return; // ids only grow: cannot happen
    while (first_ + slots_.size() <= id)
      slots_.emplace_back();
    slots_[id - first_] = std::move(wait);
  }
  // Removes and returns the wait of `id`, if it is open.
  std::optional<pending_wait> take(pool_core::waiter_id id) {
    if (id < first_ || id - first_ >= slots_.size() || !slots_[id - first_])
      return std::nullopt;
    auto wait = std::move(slots_[id - first_]);
    slots_[id - first_].reset();
    while (!slots_.empty() && !slots_.front()) {
      slots_.pop_front();
      ++first_;
    }
    return wait;
  }
  template <class F> void for_each(F f) {
    for (auto& w : slots_)
      if (w)
        f(*w);
  }

private:
  std::deque<std::optional<pending_wait>> slots_;
  pool_core::waiter_id first_ = 0;
};

// What the shell holds for a slot of the core: the connection actor and its backend (kept for
// abort_running, which is thread-safe and never blocks).
struct connection_slot {
  connection_actor conn;
  std::shared_ptr<connection_backend> backend;
};

pool_core::config core_config_of(const pool_config& c) {
  pool_core::config out;
  out.max_size = c.max_size;
  out.min_idle = c.min_idle;
  out.max_waiters = c.max_waiters;
  out.acquire_timeout = c.acquire_timeout;
  out.validation_bypass = c.validation_bypass;
  out.open_timeout = open_guard;
  out.validation_timeout = c.validation_timeout;
  out.reset_timeout = c.reset_timeout;
  out.close_timeout = c.close_timeout;
  out.abort_grace = c.abort_grace;
  out.idle_timeout = c.idle_timeout;
  out.max_lifetime = c.max_lifetime;
  out.lifetime_jitter = c.lifetime_jitter;
  out.keepalive_interval = c.keepalive_interval;
  out.backoff_initial = c.backoff_initial;
  out.backoff_max = c.backoff_max;
  out.shutdown_grace = c.shutdown_grace;
  out.leak_threshold = c.leak_detection_threshold;
  out.seed = std::random_device{}();
  return out;
}

pool_errc code_of(pool_core::refusal r) {
  switch (r) {
  case pool_core::refusal::acquire_timeout:
    return pool_errc::acquire_timeout;
  case pool_core::refusal::authentication_failed:
    return pool_errc::authentication_failed;
  case pool_core::refusal::untrusted_server:
    return pool_errc::untrusted_server;
  case pool_core::refusal::too_many_waiters:
    return pool_errc::too_many_waiters;
  case pool_core::refusal::statement_aborted:
    return pool_errc::statement_aborted;
  case pool_core::refusal::shutting_down:
  case pool_core::refusal::borrower_gone:
  case pool_core::refusal::none:
    break;
  }
  return pool_errc::shutting_down;
}

pool_core::open_failure open_failure_of(const caf::error& err) {
  switch (exapool::code_of(err)) {
  case pool_errc::authentication_failed:
    return pool_core::open_failure::auth;
  case pool_errc::session_limit:
    return pool_core::open_failure::session_limit;
  case pool_errc::untrusted_server:
    return pool_core::open_failure::untrusted;
  default:
    return pool_core::open_failure::other;
  }
}

// A borrower, looked up by its actor's control block: the sender's pointer finds it without
// making an actor_addr (an atomic weak reference) per borrow, and `addr` keeps the control
// block, so the key stays unique, until the borrower's down message erases it.
struct borrower_entry {
  caf::actor_addr addr;
  pool_core::borrower_id id;
};
using borrower_map = std::unordered_map<const caf::actor_control_block*, borrower_entry>;

struct pool_state {
  pool_key key;
  pool_config config;
  backend_factory make_backend;
  pool_log log;
  std::unique_ptr<pool_core> core;

  std::vector<connection_slot> conns; // by slot id
  std::unordered_map<caf::actor_addr, slot_id> slot_of_conn;
  // Every borrower is monitored once for its life (no monitor churn per borrow).
  borrower_map borrowers;
  pool_core::borrower_id next_borrower = 1;
  std::unordered_set<pool_core::borrower_id> clients; // of exapool proxy, until they are down
  wait_table waits;
  std::unordered_map<pool_core::job_id, caf::typed_response_promise<prewarm_report>> prewarms;
  std::vector<caf::typed_response_promise<pool_stats>> shutdown_promises;
  std::vector<effect> work; // the batch of effects being performed
  bool performing = false;

  static inline const char* name = "exapool.pool";

  // CAF 0.17 does not fail pending promises when an actor dies: answer every one here.
  ~pool_state() {
    auto gone = make_error(pool_errc::pool_failed, "the pool stopped before answering");
    waits.for_each([&gone](pending_wait& w) {
      if (auto* borrow = std::get_if<caf::typed_response_promise<lease>>(&w)) {
        if (borrow->pending())
          borrow->deliver(gone);
      } else if (auto& stmt = std::get<statement_wait>(w); stmt.promise.pending()) {
        stmt.promise.deliver(gone);
      }
    });
    for (auto& [id, p] : prewarms)
      if (p.pending())
        p.deliver(gone);
    for (auto& p : shutdown_promises)
      if (p.pending())
        p.deliver(gone);
  }
};

using pool_pointer = pool_impl::stateful_pointer<pool_state>;

pool_stats snapshot(const pool_state& st) {
  const auto& core = *st.core;
  const auto& c = core.stats();
  using phase = pool_core::phase;
  pool_stats out;
  out.key = st.key;
  out.name = st.config.name;
  out.borrowed = c.borrowed;
  out.returned = c.returned;
  out.opened = c.opened;
  out.closed = c.closed;
  out.connect_failures = c.connect_failures;
  out.validated = c.validated;
  out.invalid = c.invalid;
  out.evicted = c.evicted;
  out.reclaimed = c.reclaimed;
  out.resets = c.resets;
  out.timed_out_borrows = c.timed_out_borrows;
  out.last_connect_error = c.last_connect_error;
  out.leased = core.count(phase::leased);
  out.opening = core.count(phase::opening);
  // Connections being validated, reset or closed (until their actor is down) still hold a
  // server session: they count as idle so that total is every session the pool may have.
  out.idle = core.count(phase::idle) + core.count(phase::validating) +
             core.count(phase::resetting) + core.count(phase::closing);
  out.total = core.total();
  out.waiting = core.waiting();
  out.clients = st.clients.size();
  out.max_size = st.config.max_size;
  out.wait_p50 = core.wait_percentile(0.50);
  out.wait_p99 = core.wait_percentile(0.99);
  out.wait_max = core.wait_max();
  out.connect_failures_auth = c.connect_failures_by_cause[0];
  out.connect_failures_untrusted = c.connect_failures_by_cause[1];
  out.connect_failures_session_limit = c.connect_failures_by_cause[2];
  out.connect_failures_other = c.connect_failures_by_cause[3];
  out.wait_buckets.assign(c.wait_le.begin(), c.wait_le.end());
  out.wait_count = c.wait_count;
  out.wait_sum = caf::timespan{static_cast<caf::timespan::rep>(c.wait_sum_ns)};
  // Only a refusal that blocks borrows is ever held (authentication_failed, untrusted_server).
  out.refused =
      core.refused() == pool_core::refusal::none ? "" : to_string(code_of(core.refused()));
  out.consecutive_connect_failures = core.consecutive_failures();
  return out;
}

pool_core::borrower_id track_borrower(pool_pointer self) {
  auto& sender = self->current_sender();
  if (!sender)
    return 0;
  auto& st = self->state;
  auto i = st.borrowers.find(sender.get());
  if (i != st.borrowers.end())
    return i->second.id;
  self->monitor(sender);
  auto id = st.next_borrower++;
  st.borrowers.emplace(sender.get(), borrower_entry{caf::actor_cast<caf::actor_addr>(sender), id});
  return id;
}

bool is_current(pool_pointer self, slot_id s, const connection_actor& conn) {
  auto& conns = self->state.conns;
  return s < conns.size() && conns[s].conn == conn;
}

void run_effects(pool_pointer self);

// --- performing effects ---------------------------------------------------------------------

void open_connection(pool_pointer self, slot_id s) {
  auto& st = self->state;
  std::shared_ptr<connection_backend> backend;
  std::string failure = "backend factory made no backend";
  try {
    backend = st.make_backend();
  } catch (const std::exception& e) {
    failure = std::string("backend factory failed: ") + e.what();
  }
  if (!backend) {
    st.core->spawn_failed(clock_type::now(), s, failure);
    return;
  }
  auto conn = spawn_connection(self->system(), backend, caf::actor_cast<connection_listener>(self));
  if (st.conns.size() <= s)
    st.conns.resize(s + 1);
  st.conns[s] = connection_slot{conn, std::move(backend)};
  st.slot_of_conn[conn.address()] = s;
  // Monitored for its life: its slot is freed only by its down message.
  self->monitor(conn);
  self->request(conn, open_guard + reply_slack, open_atom::value)
      .then(
          [self, s, conn](std::uint64_t) {
            if (!is_current(self, s, conn))
              return;
            self->state.core->opened(clock_type::now(), s);
            run_effects(self);
          },
          [self, s, conn](caf::error& err) {
            if (!is_current(self, s, conn))
              return;
            auto text = context_of(err);
            if (text.empty())
              text = to_string(err);
            self->state.core->open_failed(clock_type::now(), s, open_failure_of(err), text);
            run_effects(self);
          });
}

// Asks the connection of slot s a yes/no question (validate, reset) and tells the core the
// answer, an error counting as no. An answer from a connection that no longer holds the slot
// is dropped.
template <class Atom, class OnAnswer>
void ask_connection(pool_pointer self, slot_id s, Atom atom, caf::timespan limit,
                    OnAnswer on_answer) {
  auto conn = self->state.conns[s].conn;
  auto done = [self, s, conn, on_answer](bool ok) {
    if (!is_current(self, s, conn))
      return;
    on_answer(*self->state.core, s, ok);
    run_effects(self);
  };
  self->request(conn, limit + reply_slack, atom).then(done, [done](caf::error&) { done(false); });
}

void validate_connection(pool_pointer self, slot_id s) {
  ask_connection(
      self, s, validate_atom::value, self->state.config.validation_timeout,
      [](pool_core& core, slot_id slot, bool ok) { core.validated(clock_type::now(), slot, ok); });
}

void reset_connection(pool_pointer self, slot_id s) {
  ask_connection(
      self, s, reset_atom::value, self->state.config.reset_timeout,
      [](pool_core& core, slot_id slot, bool ok) { core.reset_done(clock_type::now(), slot, ok); });
}

// The reply does not matter: the connection's down message frees the slot.
void close_connection(pool_pointer self, slot_id s) {
  self->request(self->state.conns[s].conn, self->state.config.close_timeout + reply_slack,
                close_atom::value)
      .then([](bool) {}, [](caf::error&) {});
}

void serve_waiter(pool_pointer self, const effect& e) {
  auto& st = self->state;
  auto wait = st.waits.take(e.waiter);
  if (!wait) {
    // No promise for it (cannot happen): the lease must not stay out with nobody holding it.
    st.core->give_back(clock_type::now(), e.lease_id);
    return;
  }
  const auto& conn = st.conns[e.slot].conn;
  if (auto* borrow = std::get_if<caf::typed_response_promise<lease>>(&*wait)) {
    borrow->deliver(lease{caf::actor_cast<caf::actor>(conn), e.lease_id});
    return;
  }
  auto& stmt = std::get<statement_wait>(*wait);
  stmt.promise.delegate(conn, execute_atom::value, e.lease_id, std::move(stmt.sql),
                        release_atom::value);
}

void fail_waiter(pool_pointer self, const effect& e) {
  auto& st = self->state;
  auto wait = st.waits.take(e.waiter);
  if (!wait)
    return;
  // An acquire timeout names the pool: the service's logs then say which pool ran dry.
  auto err =
      e.code == pool_core::refusal::acquire_timeout
          ? make_error(pool_errc::acquire_timeout, "pool \"" + st.config.name + "\": " + e.text)
          : make_error(code_of(e.code), e.text);
  if (auto* borrow = std::get_if<caf::typed_response_promise<lease>>(&*wait))
    borrow->deliver(err);
  else
    std::get<statement_wait>(*wait).promise.deliver(err);
}

void answer_prewarm(pool_pointer self, effect& e) {
  auto& st = self->state;
  auto i = st.prewarms.find(e.job);
  if (i == st.prewarms.end())
    return;
  prewarm_report report{e.requested, e.opened, std::move(e.failures)};
  if (report.opened == 0 && !report.failures.empty())
    report.cause = e.code == pool_core::refusal::none ? pool_errc::connect_failed : code_of(e.code);
  i->second.deliver(std::move(report));
  st.prewarms.erase(i);
}

void answer_shutdown(pool_pointer self, const effect& e) {
  auto& st = self->state;
  auto stats = snapshot(st);
  for (auto& p : st.shutdown_promises) {
    if (e.ok)
      p.deliver(stats);
    else
      p.deliver(make_error(pool_errc::pool_failed, e.text));
  }
  st.shutdown_promises.clear();
  self->quit();
}

// A line of the core's, with the pool's label and, for a borrower, its actor (id@node).
void write_log(pool_pointer self, const effect& e) {
  auto& st = self->state;
  if (!st.log.to || !st.log.to->enabled(e.level))
    return;
  std::string line = "pool " + st.log.label + ": " + e.text;
  if (e.borrower != 0) {
    auto named = std::find_if(st.borrowers.begin(), st.borrowers.end(),
                              [&](const auto& b) { return b.second.id == e.borrower; });
    if (named != st.borrowers.end())
      line += " (borrower: actor " + caf::to_string(named->second.addr) + ")";
  }
  st.log.to->log(e.level, line);
}

void perform(pool_pointer self, effect& e) {
  auto& st = self->state;
  switch (e.what) {
  case effect::kind::open:
    open_connection(self, e.slot);
    break;
  case effect::kind::validate:
    validate_connection(self, e.slot);
    break;
  case effect::kind::reset:
    reset_connection(self, e.slot);
    break;
  case effect::kind::close:
    close_connection(self, e.slot);
    break;
  case effect::kind::kill:
    // Trapped (connection_actor.hpp): the connection drops or closes its session and only
    // then goes down, so the slot this DOWN frees never lets the server hold more than
    // max_size sessions of this pool.
    self->send_exit(st.conns[e.slot].conn, connection_end_reason);
    break;
  case effect::kind::abort:
    if (auto& backend = st.conns[e.slot].backend)
      backend->abort_running();
    break;
  case effect::kind::end_lease:
    // Before the connection can go to anyone else: the next lease's requests queue behind it.
    self->send(st.conns[e.slot].conn, end_lease_atom::value, e.lease_id);
    break;
  case effect::kind::serve:
    serve_waiter(self, e);
    break;
  case effect::kind::fail:
    fail_waiter(self, e);
    break;
  case effect::kind::arm_timer:
    self->delayed_send(self, std::max(e.deadline - clock_type::now(), clock_type::duration{0}),
                       timeout_atom::value);
    break;
  case effect::kind::prewarm_done:
    answer_prewarm(self, e);
    break;
  case effect::kind::shutdown_done:
    answer_shutdown(self, e);
    break;
  case effect::kind::log:
    write_log(self, e);
    break;
  }
}

// Performs the core's effects in order, including those that performing them caused.
void run_effects(pool_pointer self) {
  auto& st = self->state;
  if (st.performing)
    return; // the loop below picks them up
  st.performing = true;
  while (!st.core->effects().empty()) {
    st.work.clear();
    std::swap(st.work, st.core->effects());
    for (auto& e : st.work)
      perform(self, e);
  }
  st.performing = false;
}

// --- handlers -------------------------------------------------------------------------------

caf::error refusal_error(const pool_core::borrow_answer& a) {
  return make_error(code_of(a.code), a.text);
}

// Asks the core for a connection of kind `w` for the current sender: `granted` turns a
// granted slot into the answer, `waiting` makes the wait kept for a queued one (a promise the
// core's serve effect fulfils later).
template <class T, class OnGranted, class MakeWait>
caf::result<T> take_connection(pool_pointer self, pool_core::want w, OnGranted granted,
                               MakeWait waiting) {
  auto& st = self->state;
  auto answer = st.core->borrow(clock_type::now(), track_borrower(self), w);
  switch (answer.what) {
  case pool_core::borrow_answer::kind::granted:
    run_effects(self);
    return granted(st.conns[answer.slot].conn, answer.lease_id);
  case pool_core::borrow_answer::kind::queued: {
    // The result only says "delegated": the promise itself moves into the wait.
    st.waits.add(answer.waiter, waiting(self->make_response_promise<T>()));
    run_effects(self); // may serve it already
    return caf::delegated<T>{};
  }
  case pool_core::borrow_answer::kind::refused:
    break;
  }
  run_effects(self);
  return refusal_error(answer);
}

caf::result<lease> on_borrow(pool_pointer self) {
  return take_connection<lease>(
      self, pool_core::want::lease,
      [](const connection_actor& conn, std::uint64_t lease_id) -> caf::result<lease> {
        return lease{caf::actor_cast<caf::actor>(conn), lease_id};
      },
      [](caf::typed_response_promise<lease> promise) { return promise; });
}

// A statement outside a transaction: a connection exactly as for a borrow, and the statement
// is delegated to it (execute-and-release), so the connection answers the sender directly and
// tells the pool (released). The sender stays tracked until then: if it dies while the
// statement runs, the statement is aborted.
caf::result<query_result> on_statement(pool_pointer self, std::string& sql) {
  return take_connection<query_result>(
      self, pool_core::want::statement,
      [self, &sql](const connection_actor& conn,
                   std::uint64_t lease_id) -> caf::result<query_result> {
        return self->delegate(conn, execute_atom::value, lease_id, std::move(sql),
                              release_atom::value);
      },
      [&sql](caf::typed_response_promise<query_result> promise) {
        return statement_wait{std::move(promise), std::move(sql)};
      });
}

// A sender that was never a borrower has nothing to abort, so it is not tracked for it.
void on_abort(pool_pointer self) {
  auto& st = self->state;
  auto i = st.borrowers.find(self->current_sender().get());
  if (i == st.borrowers.end())
    return;
  st.core->borrower_gave_up(clock_type::now(), i->second.id);
  run_effects(self);
}

caf::result<prewarm_report> on_prewarm(pool_pointer self, std::size_t n) {
  auto& st = self->state;
  auto job = st.core->prewarm(clock_type::now(), n);
  if (job == 0)
    return make_error(pool_errc::shutting_down, "the pool is shutting down");
  auto promise = self->make_response_promise<prewarm_report>();
  st.prewarms.emplace(job, promise);
  run_effects(self);
  return promise;
}

caf::result<pool_stats> on_shutdown(pool_pointer self) {
  auto& st = self->state;
  auto promise = self->make_response_promise<pool_stats>();
  st.shutdown_promises.push_back(promise);
  st.core->shutdown(clock_type::now());
  run_effects(self);
  return promise;
}

void on_down(pool_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto* source = caf::actor_cast<caf::actor_control_block*>(msg.source);
  if (auto b = st.borrowers.find(source); b != st.borrowers.end()) {
    auto who = b->second.id;
    st.clients.erase(who);
    st.core->borrower_down(now, who);
    run_effects(self); // while its log lines can still name it
    st.borrowers.erase(source);
    return;
  } else if (auto c = st.slot_of_conn.find(msg.source); c != st.slot_of_conn.end()) {
    auto s = c->second;
    st.slot_of_conn.erase(c);
    st.conns[s] = connection_slot{};
    st.core->connection_down(now, s);
  }
  run_effects(self);
}

caf::timespan tick_interval(const pool_config& c) {
  caf::timespan shortest = std::chrono::seconds(1);
  for (auto d : {c.idle_timeout, c.max_lifetime, c.keepalive_interval})
    if (d.count() > 0)
      shortest = std::min(shortest, d / 2);
  return std::max(shortest, caf::timespan{std::chrono::milliseconds(5)});
}

pool_impl::behavior_type pool_behavior(pool_pointer self, pool_key key, pool_config config,
                                       backend_factory make_backend, pool_log log) {
  auto& st = self->state;
  st.key = std::move(key);
  st.config = config;
  st.make_backend = std::move(make_backend);
  st.log = std::move(log);
  st.core = std::make_unique<pool_core>(core_config_of(config));
  self->set_down_handler([self](const caf::down_msg& msg) { on_down(self, msg); });
  auto interval = tick_interval(config);
  self->delayed_send(self, interval, tick_atom::value);
  st.core->start(clock_type::now());
  run_effects(self);
  // CAF tries the handlers in this order: the ones every lease or statement uses come first.
  return {
      [self](borrow_atom) -> caf::result<lease> { return on_borrow(self); },
      [self](give_back_atom, std::uint64_t lease_id) {
        self->state.core->give_back(clock_type::now(), lease_id);
        run_effects(self);
      },
      [self](statement_atom, std::string& sql) -> caf::result<query_result> {
        return on_statement(self, sql);
      },
      [self](released_atom, std::uint64_t lease_id, bool dirty) {
        self->state.core->released(clock_type::now(), lease_id, dirty);
        run_effects(self);
      },
      [self](dirty_atom, std::uint64_t lease_id) {
        self->state.core->dirty(clock_type::now(), lease_id);
        run_effects(self);
      },
      [self](abort_atom) { on_abort(self); },
      [self](client_atom) {
        self->state.clients.insert(track_borrower(self));
        return self->state.core->vouches();
      },
      [self](prewarm_atom, std::size_t n) -> caf::result<prewarm_report> {
        return on_prewarm(self, n);
      },
      [self](stats_atom) -> pool_stats { return snapshot(self->state); },
      [self](shutdown_atom) -> caf::result<pool_stats> { return on_shutdown(self); },
      [self](timeout_atom) {
        self->state.core->timer(clock_type::now());
        run_effects(self);
      },
      [self, interval](tick_atom) {
        self->state.core->tick(clock_type::now());
        run_effects(self);
        self->delayed_send(self, interval, tick_atom::value);
      },
  };
}

} // namespace

caf::timespan shutdown_bound(const pool_config& config) {
  return config.shutdown_grace + config.abort_grace + 2 * config.close_timeout;
}

pool_actor spawn_pool(caf::actor_system& sys, pool_key key, pool_config config,
                      backend_factory make_backend, pool_log log) {
  if (config.max_size == 0)
    config.max_size = 1;
  if (config.max_size > pool_core::slot_mask)
    config.max_size = pool_core::slot_mask;
  config.min_idle = std::min(config.min_idle, config.max_size);
  config.max_waiters = std::max<std::size_t>(config.max_waiters, 1);
  pool_impl impl =
      sys.spawn(pool_behavior, std::move(key), config, std::move(make_backend), std::move(log));
  return caf::actor_cast<pool_actor>(impl);
}

} // namespace exapool

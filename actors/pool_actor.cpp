#include "actors/pool_actor.hpp"

#include "messages/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <unordered_map>
#include <variant>
#include <vector>

namespace exapool {

namespace {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

// Timers the pool sends itself; not part of the public interface.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;

using pool_impl = pool_actor::extend<caf::reacts_to<timeout_atom>, caf::reacts_to<tick_atom>,
                                     caf::reacts_to<retry_atom>, caf::reacts_to<grace_atom>>;

// A lease id carries the slot of its connection in its low bits, so give_back finds the
// connection without a lookup table; the high bits make every id unique within the pool and
// strictly increasing per connection, which is what lets the connection adopt a new lease by
// itself (see connection_actor.hpp).
constexpr unsigned slot_bits = 20;
constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;

// Hang guards for requests to connection actors (the backend has its own, shorter deadlines).
constexpr auto open_guard = std::chrono::minutes(5);
constexpr auto close_guard = std::chrono::minutes(1);

enum class phase : std::uint8_t { free, opening, idle, leased, validating, resetting, closing };
constexpr std::size_t phase_count = 7;

struct borrower_record {
  caf::actor_addr addr;
  std::size_t held = 0; // leases this borrower holds now
};

struct slot {
  phase state = phase::free;
  connection_actor conn;
  std::uint64_t lease_id = 0; // the current lease while leased
  borrower_record* borrower = nullptr;
  bool dirty = false; // the connection reported a session change under the current lease
  std::uint64_t prewarm_job = 0;
  time_point last_used, expires_at;
};

// A statement waiting for a connection: once it has one, the statement goes there as
// execute-and-release, delegated, so the connection answers the session itself.
struct statement_wait {
  caf::typed_response_promise<query_result> promise;
  std::string sql;
};

// One queue for borrows and statements, so that both are served in arrival order.
struct waiter {
  std::variant<caf::typed_response_promise<lease>, statement_wait> wants;
  borrower_record* borrower;
  time_point since;
};

void fail_waiter(waiter& w, const caf::error& err) {
  if (auto* borrow = std::get_if<caf::typed_response_promise<lease>>(&w.wants))
    borrow->deliver(err);
  else
    std::get<statement_wait>(w.wants).promise.deliver(err);
}

bool waiter_pending(const waiter& w) {
  if (auto* borrow = std::get_if<caf::typed_response_promise<lease>>(&w.wants))
    return borrow->pending();
  return std::get<statement_wait>(w.wants).promise.pending();
}

struct prewarm_job {
  caf::typed_response_promise<prewarm_report> promise;
  prewarm_report report;
  std::size_t pending = 0;
};

// Borrow wait times as a histogram with four buckets per power of two of nanoseconds: bounded
// memory, percentiles within 25 %.
class wait_histogram {
public:
  void add(caf::timespan wait) {
    auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, wait.count()));
    ++buckets_[index_of(ns)];
    ++count_;
    max_ = std::max(max_, wait);
  }
  caf::timespan percentile(double p) const {
    if (count_ == 0)
      return caf::timespan{0};
    auto rank = static_cast<std::uint64_t>(p * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank)
        return std::min(caf::timespan{static_cast<std::int64_t>(upper_bound_of(i))}, max_);
    }
    return max_;
  }
  caf::timespan max() const { return max_; }

private:
  static std::size_t index_of(std::uint64_t ns) {
    if (ns < 4)
      return ns;
    unsigned bit = 63 - static_cast<unsigned>(__builtin_clzll(ns));
    return bit * 4 + ((ns >> (bit - 2)) & 3);
  }
  static std::uint64_t upper_bound_of(std::size_t index) {
    if (index < 4)
      return index;
    unsigned bit = static_cast<unsigned>(index / 4);
    std::uint64_t sub = index % 4;
    return ((4 + sub + 1) << (bit - 2)) - 1;
  }
  std::array<std::uint64_t, 256> buckets_{};
  std::uint64_t count_ = 0;
  caf::timespan max_{0};
};

struct pool_state {
  pool_key key;
  pool_config config;
  backend_factory make_backend;

  std::vector<slot> slots;
  std::vector<std::uint32_t> free_slots;
  std::array<std::size_t, phase_count> in_phase{};
  std::vector<std::uint32_t> idle; // most recently used last
  std::deque<waiter> waiters;      // oldest first, so also ordered by deadline
  std::unordered_map<caf::actor_addr, borrower_record> borrowers;
  std::unordered_map<std::uint64_t, prewarm_job> prewarm_jobs;
  std::uint64_t next_prewarm_job = 1;
  std::uint64_t lease_sequence = 0;

  bool timeout_armed = false;
  bool retry_armed = false;
  bool shutting_down = false;
  std::vector<caf::typed_response_promise<pool_stats>> shutdown_promises;

  // Connect failures: exponential backoff, and a block on borrows after a rejected login.
  std::size_t consecutive_failures = 0;
  caf::timespan backoff{0};
  time_point next_connect_at;
  bool auth_failed = false;
  time_point auth_blocked_until;

  pool_stats counters;
  wait_histogram waits;
  std::mt19937_64 random{std::random_device{}()};

  static inline const char* name = "exapool.pool";

  std::size_t total() const { return slots.size() - free_slots.size(); }

  // CAF 0.17 does not fail pending promises when an actor dies: answer every one here.
  ~pool_state() {
    auto gone = make_error(pool_errc::pool_failed, "the pool stopped before answering");
    for (auto& w : waiters)
      if (waiter_pending(w))
        fail_waiter(w, gone);
    for (auto& [id, job] : prewarm_jobs)
      if (job.promise.pending())
        job.promise.deliver(gone);
    for (auto& p : shutdown_promises)
      if (p.pending())
        p.deliver(gone);
  }
};

using pool_pointer = pool_impl::stateful_pointer<pool_state>;

// --- small helpers ------------------------------------------------------------------------

void set_phase(pool_state& st, std::uint32_t idx, phase next) {
  auto& s = st.slots[idx];
  --st.in_phase[static_cast<std::size_t>(s.state)];
  ++st.in_phase[static_cast<std::size_t>(next)];
  s.state = next;
}

std::size_t count(const pool_state& st, phase p) {
  return st.in_phase[static_cast<std::size_t>(p)];
}

pool_stats snapshot(const pool_state& st) {
  pool_stats out = st.counters;
  out.key = st.key;
  out.leased = count(st, phase::leased);
  out.opening = count(st, phase::opening);
  // Connections being validated, reset or closed still hold a server session: they count as
  // idle so that total is every session the pool has.
  out.idle = count(st, phase::idle) + count(st, phase::validating) + count(st, phase::resetting) +
             count(st, phase::closing);
  out.total = st.total();
  out.waiting = st.waiters.size();
  out.max_size = st.config.max_size;
  out.wait_p50 = st.waits.percentile(0.50);
  out.wait_p99 = st.waits.percentile(0.99);
  out.wait_max = st.waits.max();
  return out;
}

std::string counts_text(const pool_state& st) {
  auto s = snapshot(st);
  std::string text = "total=" + std::to_string(s.total) + " leased=" + std::to_string(s.leased) +
                     " idle=" + std::to_string(s.idle) + " opening=" + std::to_string(s.opening) +
                     " waiting=" + std::to_string(s.waiting) +
                     " max_size=" + std::to_string(s.max_size);
  text += " last_connect_error=" +
          (s.last_connect_error.empty() ? std::string("none") : s.last_connect_error);
  return text;
}

bool expired(const pool_state& st, const slot& s, time_point now) {
  return st.config.max_lifetime.count() > 0 && now >= s.expires_at;
}

bool needs_validation(const pool_state& st, const slot& s, time_point now) {
  return now - s.last_used >= st.config.validation_bypass;
}

borrower_record* track_borrower(pool_pointer self) {
  auto& sender = self->current_sender();
  if (!sender)
    return nullptr;
  auto addr = caf::actor_cast<caf::actor_addr>(sender);
  auto& st = self->state;
  auto i = st.borrowers.find(addr);
  if (i != st.borrowers.end())
    return &i->second;
  // Monitored once for its whole life, not per lease: no monitor churn per borrow.
  self->monitor(sender);
  auto& rec = st.borrowers[addr];
  rec.addr = addr;
  return &rec;
}

std::uint32_t allocate_slot(pool_state& st) {
  std::uint32_t idx;
  if (!st.free_slots.empty()) {
    idx = st.free_slots.back();
    st.free_slots.pop_back();
  } else {
    idx = static_cast<std::uint32_t>(st.slots.size());
    st.slots.emplace_back();
    ++st.in_phase[static_cast<std::size_t>(phase::free)];
  }
  return idx;
}

void release_slot(pool_state& st, std::uint32_t idx) {
  set_phase(st, idx, phase::free);
  auto& s = st.slots[idx];
  s.conn = nullptr;
  s.lease_id = 0;
  s.borrower = nullptr;
  s.dirty = false;
  s.prewarm_job = 0;
  st.free_slots.push_back(idx);
}

void remove_idle(pool_state& st, std::uint32_t idx) {
  auto i = std::find(st.idle.begin(), st.idle.end(), idx);
  if (i != st.idle.end())
    st.idle.erase(i);
}

// --- forward declarations of the steps ------------------------------------------------------

void dispatch(pool_pointer self);
void make_available(pool_pointer self, std::uint32_t idx);
void close_slot(pool_pointer self, std::uint32_t idx);
void check_drained(pool_pointer self);

// --- leases -------------------------------------------------------------------------------

lease lease_out(pool_pointer self, std::uint32_t idx, borrower_record* borrower, time_point since,
                time_point now) {
  auto& st = self->state;
  auto& s = st.slots[idx];
  set_phase(st, idx, phase::leased);
  s.lease_id = (++st.lease_sequence << slot_bits) | idx;
  s.borrower = borrower;
  s.dirty = false;
  if (borrower)
    ++borrower->held;
  // Nothing goes to the connection: the new id is above every id it has seen, so its first
  // request makes it current. The previous lease ended before (released at the connection, or
  // ended at the pool, which told the connection first: end_lease).
  ++st.counters.borrowed;
  st.waits.add(now - since);
  return lease{caf::actor_cast<caf::actor>(s.conn), s.lease_id};
}

void arm_timeout(pool_pointer self, time_point now) {
  auto& st = self->state;
  if (st.timeout_armed || st.waiters.empty())
    return;
  st.timeout_armed = true;
  auto due = st.waiters.front().since + st.config.acquire_timeout - now;
  self->delayed_send(self, std::max(due, clock_type::duration{0}), timeout_atom::value);
}

// A statement on the connection at `idx`, under a lease that ends with it. The lease has no
// borrower: nobody can give it back, the connection releases it when the statement is done.
lease lease_for_statement(pool_pointer self, std::uint32_t idx, time_point since, time_point now) {
  return lease_out(self, idx, nullptr, since, now);
}

// Hands the connection to the oldest waiter. Precondition: waiters is not empty.
void serve_head(pool_pointer self, std::uint32_t idx, time_point now) {
  auto& st = self->state;
  auto w = std::move(st.waiters.front());
  st.waiters.pop_front();
  if (auto* borrow = std::get_if<caf::typed_response_promise<lease>>(&w.wants)) {
    borrow->deliver(lease_out(self, idx, w.borrower, w.since, now));
    return;
  }
  auto& stmt = std::get<statement_wait>(w.wants);
  auto id = lease_for_statement(self, idx, w.since, now).id;
  stmt.promise.delegate(st.slots[idx].conn, execute_atom::value, id, std::move(stmt.sql),
                        release_atom::value);
}

void fail_waiters(pool_state& st, const caf::error& err) {
  while (!st.waiters.empty()) {
    auto w = std::move(st.waiters.front());
    st.waiters.pop_front();
    fail_waiter(w, err);
  }
}

// --- connection life cycle ----------------------------------------------------------------

void finish_prewarm(pool_pointer self, std::uint64_t job_id, const std::string* failure) {
  auto& st = self->state;
  auto i = st.prewarm_jobs.find(job_id);
  if (i == st.prewarm_jobs.end())
    return;
  auto& job = i->second;
  if (failure)
    job.report.failures.push_back(*failure);
  else
    ++job.report.opened;
  if (--job.pending == 0) {
    job.promise.deliver(job.report);
    st.prewarm_jobs.erase(i);
  }
}

void on_open_failed(pool_pointer self, std::uint32_t idx, const caf::error& err) {
  auto& st = self->state;
  auto& s = st.slots[idx];
  auto now = clock_type::now();
  auto text = context_of(err);
  if (text.empty())
    text = to_string(err);
  ++st.counters.connect_failures;
  st.counters.last_connect_error = text;
  self->send_exit(s.conn, caf::exit_reason::user_shutdown);
  auto job = s.prewarm_job;
  release_slot(st, idx);
  ++st.consecutive_failures;
  st.backoff = st.consecutive_failures == 1
                   ? st.config.backoff_initial
                   : std::min(st.backoff * 2, caf::timespan{st.config.backoff_max});
  st.next_connect_at = now + st.backoff;
  if (code_of(err) == pool_errc::authentication_failed) {
    // Waiting is pointless: the credentials are wrong. Fail everyone now, and refuse borrows
    // until the backoff is over (no login storm against the server).
    st.auth_failed = true;
    st.auth_blocked_until = st.next_connect_at;
    fail_waiters(st, make_error(pool_errc::authentication_failed, text));
  }
  if (job)
    finish_prewarm(self, job, &text);
  if (st.shutting_down)
    check_drained(self);
  else
    dispatch(self);
}

void on_opened(pool_pointer self, std::uint32_t idx) {
  auto& st = self->state;
  auto& s = st.slots[idx];
  auto now = clock_type::now();
  ++st.counters.opened;
  st.consecutive_failures = 0;
  st.auth_failed = false;
  s.last_used = now;
  if (st.config.max_lifetime.count() > 0) {
    // Each connection draws its jitter once, so connections opened together expire apart.
    auto jitter = st.config.lifetime_jitter.count() > 0
                      ? std::uniform_int_distribution<std::int64_t>(
                            0, st.config.lifetime_jitter.count())(st.random)
                      : 0;
    s.expires_at = now + st.config.max_lifetime - caf::timespan{jitter};
  }
  if (auto job = s.prewarm_job) {
    s.prewarm_job = 0;
    finish_prewarm(self, job, nullptr);
  }
  make_available(self, idx);
  dispatch(self);
}

void start_open(pool_pointer self, std::uint64_t prewarm_job = 0) {
  auto& st = self->state;
  auto idx = allocate_slot(st);
  std::shared_ptr<connection_backend> backend;
  try {
    backend = st.make_backend();
  } catch (const std::exception& e) {
    st.counters.last_connect_error = std::string("backend factory failed: ") + e.what();
  }
  if (!backend) {
    st.free_slots.push_back(idx);
    ++st.counters.connect_failures;
    if (prewarm_job)
      finish_prewarm(self, prewarm_job, &st.counters.last_connect_error);
    return;
  }
  auto conn = spawn_connection(self->system(), std::move(backend),
                               caf::actor_cast<connection_listener>(self));
  auto& s = st.slots[idx];
  s.conn = conn;
  s.prewarm_job = prewarm_job;
  set_phase(st, idx, phase::opening);
  // Monitored once for its life, so a crashed connection is replaced.
  self->monitor(conn);
  self->request(conn, open_guard, open_atom::value)
      .then(
          [self, idx, conn](std::uint64_t) {
            if (self->state.slots[idx].conn == conn)
              on_opened(self, idx);
          },
          [self, idx, conn](caf::error& err) {
            if (self->state.slots[idx].conn == conn)
              on_open_failed(self, idx, err);
          });
}

void finish_close(pool_pointer self, std::uint32_t idx, const connection_actor& conn) {
  auto& st = self->state;
  if (st.slots[idx].conn != conn)
    return;
  ++st.counters.closed;
  release_slot(st, idx);
  if (st.shutting_down)
    check_drained(self);
  else
    dispatch(self); // a replacement, if anyone needs one
}

void close_slot(pool_pointer self, std::uint32_t idx) {
  auto& st = self->state;
  auto conn = st.slots[idx].conn;
  set_phase(st, idx, phase::closing);
  self->request(conn, close_guard, close_atom::value)
      .then([self, idx, conn](bool) { finish_close(self, idx, conn); },
            [self, idx, conn](caf::error&) { finish_close(self, idx, conn); });
}

void retire(pool_pointer self, std::uint32_t idx) {
  ++self->state.counters.evicted;
  close_slot(self, idx);
}

void start_validate(pool_pointer self, std::uint32_t idx) {
  auto& st = self->state;
  auto conn = st.slots[idx].conn;
  set_phase(st, idx, phase::validating);
  auto checked = [self, idx, conn](bool ok) {
    auto& st = self->state;
    if (st.slots[idx].conn != conn)
      return;
    ++st.counters.validated;
    if (!ok) {
      ++st.counters.invalid;
      close_slot(self, idx);
      return;
    }
    st.slots[idx].last_used = clock_type::now();
    make_available(self, idx);
    dispatch(self);
  };
  self->request(conn, st.config.validation_timeout, validate_atom::value)
      .then(checked, [checked](caf::error&) { checked(false); });
}

// Back to the baseline; then validated too when `then_validate` (a reclaimed lease).
void start_reset(pool_pointer self, std::uint32_t idx, bool then_validate) {
  auto& st = self->state;
  auto conn = st.slots[idx].conn;
  set_phase(st, idx, phase::resetting);
  auto done = [self, idx, conn, then_validate](bool ok) {
    auto& st = self->state;
    if (st.slots[idx].conn != conn)
      return;
    if (!ok) {
      close_slot(self, idx); // dispatch opens a replacement once it is closed
      return;
    }
    st.slots[idx].dirty = false;
    if (then_validate && !st.shutting_down) {
      start_validate(self, idx);
      return;
    }
    make_available(self, idx);
    dispatch(self);
  };
  ++st.counters.resets;
  self->request(conn, st.config.validation_timeout, reset_atom::value)
      .then(done, [done](caf::error&) { done(false); });
}

// A connection that finished opening, validating or resetting: to the oldest waiter, else
// idle; closed instead when the pool drains or the connection outlived max_lifetime.
void make_available(pool_pointer self, std::uint32_t idx) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (st.shutting_down) {
    close_slot(self, idx);
    return;
  }
  if (expired(st, st.slots[idx], now)) {
    retire(self, idx);
    return;
  }
  if (!st.waiters.empty()) {
    serve_head(self, idx, now);
    return;
  }
  set_phase(st, idx, phase::idle);
  st.idle.push_back(idx);
}

void arm_retry(pool_pointer self, time_point now) {
  auto& st = self->state;
  if (st.retry_armed)
    return;
  st.retry_armed = true;
  self->delayed_send(self, std::max(st.next_connect_at - now, clock_type::duration{0}),
                     retry_atom::value);
}

// Opens what waiters and min_idle need, within max_size, and at most one at a time while
// connects are failing (after the backoff).
void open_missing(pool_pointer self, time_point now) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  if (st.auth_failed && st.waiters.empty())
    return; // only a new borrow retries rejected credentials
  auto supply = st.idle.size() + count(st, phase::opening) + count(st, phase::validating) +
                count(st, phase::resetting);
  auto demand = st.waiters.size() + st.config.min_idle;
  if (demand <= supply)
    return;
  auto room = st.config.max_size - std::min(st.config.max_size, st.total());
  auto wanted = std::min(demand - supply, room);
  if (wanted == 0)
    return;
  if (st.consecutive_failures > 0) {
    if (now < st.next_connect_at) {
      arm_retry(self, now);
      return;
    }
    if (count(st, phase::opening) > 0)
      return;
    wanted = 1; // probe before opening the rest
  }
  for (std::size_t i = 0; i < wanted; ++i)
    start_open(self);
}

// Gives idle connections to waiters (validating the ones idle too long), then opens what is
// still missing.
void dispatch(pool_pointer self) {
  auto& st = self->state;
  auto now = clock_type::now();
  while (!st.waiters.empty() && !st.idle.empty()) {
    auto idx = st.idle.back();
    st.idle.pop_back();
    auto& s = st.slots[idx];
    if (expired(st, s, now))
      retire(self, idx);
    else if (needs_validation(st, s, now))
      start_validate(self, idx);
    else
      serve_head(self, idx, now);
  }
  open_missing(self, now);
  arm_timeout(self, now);
}

void check_drained(pool_pointer self) {
  auto& st = self->state;
  if (!st.shutting_down || st.total() > 0)
    return;
  auto stats = snapshot(st);
  for (auto& p : st.shutdown_promises)
    p.deliver(stats);
  st.shutdown_promises.clear();
  self->quit();
}

// --- handlers -----------------------------------------------------------------------------

// Why a borrow or statement is refused at once, or no error.
caf::error refusal(const pool_state& st, time_point now) {
  if (st.shutting_down)
    return make_error(pool_errc::shutting_down, "the pool is shutting down");
  if (st.auth_failed && now < st.auth_blocked_until)
    return make_error(pool_errc::authentication_failed, st.counters.last_connect_error);
  return caf::error{};
}

// The fast path: nobody waits and the most recently used idle connection is fresh. The slot
// is off the idle list then; the caller leases it out.
std::optional<std::uint32_t> take_fresh_idle(pool_pointer self, time_point now) {
  auto& st = self->state;
  if (!st.waiters.empty() || st.idle.empty())
    return std::nullopt;
  auto idx = st.idle.back();
  auto& s = st.slots[idx];
  if (needs_validation(st, s, now) || expired(st, s, now))
    return std::nullopt;
  st.idle.pop_back();
  if (st.idle.size() < st.config.min_idle)
    open_missing(self, now); // top min_idle up now, not at the next tick
  return idx;
}

void enqueue(pool_pointer self, waiter w, time_point now) {
  auto& st = self->state;
  st.waiters.push_back(std::move(w));
  if (st.idle.empty() && st.total() >= st.config.max_size)
    arm_timeout(self, now); // full and nothing idle: only a returned lease can serve it
  else
    dispatch(self);
}

caf::result<lease> on_borrow(pool_pointer self) {
  auto now = clock_type::now();
  if (auto err = refusal(self->state, now))
    return err;
  auto borrower = track_borrower(self);
  if (auto idx = take_fresh_idle(self, now))
    return lease_out(self, *idx, borrower, now, now);
  auto promise = self->make_response_promise<lease>();
  enqueue(self, waiter{promise, borrower, now}, now);
  return promise;
}

// A statement outside a transaction: a connection exactly as for a borrow, and the statement
// is delegated to it (execute-and-release), so the connection answers the sender directly and
// tells the pool (released). The sender is monitored only while its statement waits: a
// delegated statement needs no taking back, its connection releases itself when done.
caf::result<query_result> on_statement(pool_pointer self, std::string& sql) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (auto err = refusal(st, now))
    return err;
  if (auto idx = take_fresh_idle(self, now)) {
    auto id = lease_for_statement(self, *idx, now, now).id;
    return self->delegate(st.slots[*idx].conn, execute_atom::value, id, std::move(sql),
                          release_atom::value);
  }
  auto borrower = track_borrower(self);
  auto promise = self->make_response_promise<query_result>();
  enqueue(self, waiter{statement_wait{promise, std::move(sql)}, borrower, now}, now);
  return promise;
}

// The slot leased under `lease_id`, or nullptr when that lease already ended (returned,
// released or taken back) or never existed.
slot* leased_slot(pool_state& st, std::uint64_t lease_id) {
  auto idx = static_cast<std::uint32_t>(lease_id & slot_mask);
  if (lease_id == 0 || idx >= st.slots.size())
    return nullptr;
  auto& s = st.slots[idx];
  if (s.state != phase::leased || s.lease_id != lease_id)
    return nullptr;
  return &s;
}

// Tells the connection that a lease ended here at the pool, so that it refuses the id from
// now on. Sent before the connection can go to anyone else: the next lease's requests queue
// behind it.
void end_at_connection(pool_pointer self, slot& s) {
  self->send(s.conn, end_lease_atom::value, s.lease_id);
}

// The lease on `idx` is over (the connection knows already): reset if dirty, then to the
// oldest waiter or idle.
void take_back(pool_pointer self, std::uint32_t idx) {
  auto& st = self->state;
  auto& s = st.slots[idx];
  ++st.counters.returned;
  if (s.borrower)
    --s.borrower->held;
  s.borrower = nullptr;
  s.lease_id = 0;
  auto now = clock_type::now();
  s.last_used = now;
  if (!s.dirty && !st.shutting_down && !expired(st, s, now) && !st.waiters.empty()) {
    serve_head(self, idx, now);
    return;
  }
  if (s.dirty && !st.shutting_down)
    start_reset(self, idx, false);
  else
    make_available(self, idx);
}

void on_give_back(pool_pointer self, std::uint64_t lease_id) {
  auto* s = leased_slot(self->state, lease_id);
  if (!s)
    return; // already returned or taken back: nothing to do
  end_at_connection(self, *s);
  take_back(self, static_cast<std::uint32_t>(lease_id & slot_mask));
}

// The lease ended at the connection with its last statement (execute-and-release).
void on_released(pool_pointer self, std::uint64_t lease_id, bool dirty) {
  auto* s = leased_slot(self->state, lease_id);
  if (!s)
    return; // taken back meanwhile (dead borrower, shutdown grace): nothing to do
  s->dirty = s->dirty || dirty;
  take_back(self, static_cast<std::uint32_t>(lease_id & slot_mask));
}

void on_dirty(pool_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  auto idx = static_cast<std::uint32_t>(lease_id & slot_mask);
  if (idx >= st.slots.size())
    return;
  auto& s = st.slots[idx];
  if (s.state == phase::leased && s.lease_id == lease_id) {
    s.dirty = true;
  } else if (s.state == phase::idle) {
    // A statement finished after its lease ended: reset before anyone borrows it.
    remove_idle(st, idx);
    start_reset(self, idx, false);
  }
}

// A borrower died: take back what it held (reset, validated) and forget its waits.
void reclaim(pool_pointer self, const caf::actor_addr& who) {
  auto& st = self->state;
  auto i = st.borrowers.find(who);
  if (i == st.borrowers.end())
    return;
  auto* rec = &i->second;
  if (rec->held > 0) {
    for (std::uint32_t idx = 0; idx < st.slots.size(); ++idx) {
      auto& s = st.slots[idx];
      if (s.state != phase::leased || s.borrower != rec)
        continue;
      ++st.counters.reclaimed;
      end_at_connection(self, s);
      s.borrower = nullptr;
      s.lease_id = 0;
      start_reset(self, idx, true);
    }
  }
  auto dead = make_error(pool_errc::shutting_down, "the borrower is gone");
  for (auto w = st.waiters.begin(); w != st.waiters.end();) {
    if (w->borrower == rec) {
      fail_waiter(*w, dead);
      w = st.waiters.erase(w);
    } else {
      ++w;
    }
  }
  st.borrowers.erase(i);
}

// A connection actor ended on its own (crash, kill): forget it and replace it.
void on_connection_down(pool_pointer self, const caf::actor_addr& who) {
  auto& st = self->state;
  for (std::uint32_t idx = 0; idx < st.slots.size(); ++idx) {
    auto& s = st.slots[idx];
    if (s.state == phase::free || !s.conn || s.conn.address() != who)
      continue;
    if (s.state == phase::opening) {
      on_open_failed(self, idx, make_error(pool_errc::connect_failed, "connection actor died"));
      return;
    }
    if (s.state == phase::idle)
      remove_idle(st, idx);
    if (s.borrower)
      --s.borrower->held;
    ++st.counters.closed;
    release_slot(st, idx);
    if (st.shutting_down)
      check_drained(self);
    else
      dispatch(self);
    return;
  }
}

void on_timeout(pool_pointer self) {
  auto& st = self->state;
  st.timeout_armed = false;
  auto now = clock_type::now();
  while (!st.waiters.empty() && st.waiters.front().since + st.config.acquire_timeout <= now) {
    // The counts are taken while this borrower still waits, so waiting is at least 1.
    auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - st.waiters.front().since);
    auto err = make_error(pool_errc::acquire_timeout, "no connection within " +
                                                          std::to_string(waited.count()) +
                                                          " ms: " + counts_text(st));
    auto w = std::move(st.waiters.front());
    st.waiters.pop_front();
    ++st.counters.timed_out_borrows;
    fail_waiter(w, err);
  }
  arm_timeout(self, now);
}

// Idle timeout, max lifetime, keepalive and min_idle, once per tick.
void on_tick(pool_pointer self, caf::timespan interval) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  auto now = clock_type::now();
  std::vector<std::uint32_t> keep;
  auto idle_left = st.idle.size();
  for (auto idx : st.idle) {
    auto& s = st.slots[idx];
    bool idle_too_long = st.config.idle_timeout.count() > 0 &&
                         now - s.last_used >= st.config.idle_timeout &&
                         idle_left > st.config.min_idle;
    if (expired(st, s, now) || idle_too_long) {
      --idle_left;
      retire(self, idx);
    } else if (st.config.keepalive_interval.count() > 0 &&
               now - s.last_used >= st.config.keepalive_interval) {
      start_validate(self, idx);
    } else {
      keep.push_back(idx);
    }
  }
  st.idle = std::move(keep);
  dispatch(self);
  self->delayed_send(self, interval, tick_atom::value);
}

caf::result<prewarm_report> on_prewarm(pool_pointer self, std::size_t n) {
  auto& st = self->state;
  if (st.shutting_down)
    return make_error(pool_errc::shutting_down, "the pool is shutting down");
  prewarm_report report;
  report.requested = n;
  auto target = std::min(n, st.config.max_size);
  auto have = st.total();
  report.opened = std::min(have, target);
  for (std::size_t i = target; i < n; ++i)
    report.failures.push_back("beyond max_size " + std::to_string(st.config.max_size));
  if (have >= target)
    return report;
  auto job_id = st.next_prewarm_job++;
  auto& job = st.prewarm_jobs[job_id];
  job.promise = self->make_response_promise<prewarm_report>();
  job.report = std::move(report);
  job.pending = target - have;
  auto promise = job.promise;
  for (std::size_t i = have; i < target; ++i)
    start_open(self, job_id);
  return promise;
}

caf::result<pool_stats> on_shutdown(pool_pointer self) {
  auto& st = self->state;
  auto promise = self->make_response_promise<pool_stats>();
  st.shutdown_promises.push_back(promise);
  if (!st.shutting_down) {
    st.shutting_down = true;
    fail_waiters(st, make_error(pool_errc::shutting_down, "the pool is shutting down"));
    auto idle = std::move(st.idle);
    st.idle.clear();
    for (auto idx : idle)
      close_slot(self, idx);
    if (count(st, phase::leased) > 0)
      self->delayed_send(self, st.config.shutdown_grace, grace_atom::value);
  }
  check_drained(self);
  return promise;
}

// The grace period is over: leases still out are ended and their connections closed.
void on_grace(pool_pointer self) {
  auto& st = self->state;
  for (std::uint32_t idx = 0; idx < st.slots.size(); ++idx) {
    auto& s = st.slots[idx];
    if (s.state != phase::leased)
      continue;
    if (s.borrower)
      --s.borrower->held;
    end_at_connection(self, s);
    s.borrower = nullptr;
    s.lease_id = 0;
    close_slot(self, idx);
  }
}

caf::timespan tick_interval(const pool_config& c) {
  caf::timespan shortest = std::chrono::seconds(1);
  for (auto d : {c.idle_timeout, c.max_lifetime, c.keepalive_interval})
    if (d.count() > 0)
      shortest = std::min(shortest, d / 2);
  return std::max(shortest, caf::timespan{std::chrono::milliseconds(5)});
}

pool_impl::behavior_type pool_behavior(pool_pointer self, pool_key key, pool_config config,
                                       backend_factory make_backend) {
  auto& st = self->state;
  st.key = std::move(key);
  st.config = config;
  st.make_backend = std::move(make_backend);
  st.counters.max_size = config.max_size;
  self->set_down_handler([self](const caf::down_msg& msg) {
    if (self->state.borrowers.count(msg.source) > 0)
      reclaim(self, msg.source);
    else
      on_connection_down(self, msg.source);
  });
  auto interval = tick_interval(config);
  self->delayed_send(self, interval, tick_atom::value);
  if (config.min_idle > 0)
    dispatch(self);
  return {
      [self](dirty_atom, std::uint64_t lease_id) { on_dirty(self, lease_id); },
      [self](released_atom, std::uint64_t lease_id, bool dirty) {
        on_released(self, lease_id, dirty);
      },
      [self](borrow_atom) -> caf::result<lease> { return on_borrow(self); },
      [self](statement_atom, std::string& sql) -> caf::result<query_result> {
        return on_statement(self, sql);
      },
      [self](give_back_atom, std::uint64_t lease_id) { on_give_back(self, lease_id); },
      [self](prewarm_atom, std::size_t n) -> caf::result<prewarm_report> {
        return on_prewarm(self, n);
      },
      [self](stats_atom) -> pool_stats { return snapshot(self->state); },
      [self](shutdown_atom) -> caf::result<pool_stats> { return on_shutdown(self); },
      [self](timeout_atom) { on_timeout(self); },
      [self, interval](tick_atom) { on_tick(self, interval); },
      [self](retry_atom) {
        self->state.retry_armed = false;
        dispatch(self);
      },
      [self](grace_atom) { on_grace(self); },
  };
}

} // namespace

pool_actor spawn_pool(caf::actor_system& sys, pool_key key, pool_config config,
                      backend_factory make_backend) {
  if (config.max_size == 0)
    config.max_size = 1;
  if (config.max_size > slot_mask)
    config.max_size = slot_mask;
  config.min_idle = std::min(config.min_idle, config.max_size);
  pool_impl impl = sys.spawn(pool_behavior, std::move(key), config, std::move(make_backend));
  return caf::actor_cast<pool_actor>(impl);
}

} // namespace exapool

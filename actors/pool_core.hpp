// The pool's decisions, apart from the actor that performs them: who gets which connection,
// when to open, validate, reset, close or kill one, when a waiter fails. Plain C++ with no
// actor framework inside: every event comes in with the time it happens (an injected clock),
// and every decision goes out as an effect that the shell (pool_actor.cpp) performs and
// answers with further events. The property tests drive it on a simulated clock.
//
// Invariants, enforced here:
// - A slot is free only once its connection actor is down (connection_down): closing or
//   killing a connection never frees its slot by itself. So every slot that is not free may
//   hold a server session, and total() <= max_size bounds the server's sessions, not only the
//   pool's bookkeeping.
// - Every phase change is checked against an explicit table (allowed()); a change outside it
//   is a logic error and throws std::logic_error.
// - Every request to a connection has a deadline kept here (open, validate, reset, close); at
//   the deadline the connection is killed, and its slot still waits for the down.
// - Waiters are served in arrival order (ids grow with arrival) and answered exactly once;
//   the queue holds at most max_waiters.
#pragma once

#include "actors/log.hpp"
#include "messages/wait_buckets.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace exapool {

class pool_core {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = std::chrono::nanoseconds;
  using slot_id = std::uint32_t;
  using waiter_id = std::uint64_t;
  using borrower_id = std::uint64_t; // 0: unknown (never reclaimed)
  using job_id = std::uint64_t;

  // A lease id carries its slot in the low bits (give_back finds the connection without a
  // lookup); the high bits make ids unique and strictly increasing per connection.
  static constexpr unsigned slot_bits = 20;
  static constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;
  static slot_id slot_of(std::uint64_t lease_id) {
    return static_cast<slot_id>(lease_id & slot_mask);
  }

  enum class phase : std::uint8_t { free, opening, idle, leased, validating, resetting, closing };
  static constexpr std::size_t phase_count = 7;
  static const char* name_of(phase p);
  // The transition table. check_transition throws std::logic_error for a pair not in it.
  static bool allowed(phase from, phase to);
  static void check_transition(phase from, phase to);

  // auth: the server refused the credentials; untrusted: the server's certificate failed the
  // TLS rules (chain, host name or pinned fingerprint). Neither goes away by waiting.
  enum class open_failure : std::uint8_t { auth, untrusted, session_limit, other };
  // Why a waiter or a borrow is refused (the shell maps these to pool_errc).
  enum class refusal : std::uint8_t {
    none,
    acquire_timeout,
    shutting_down,
    authentication_failed,
    untrusted_server,
    too_many_waiters,
    borrower_gone,
    statement_aborted,
  };
  enum class want : std::uint8_t { lease, statement };

  struct config {
    std::size_t max_size = 5;
    std::size_t min_idle = 0;
    std::size_t max_waiters = 10000;
    duration acquire_timeout = std::chrono::seconds(30);
    duration validation_bypass = std::chrono::milliseconds(500);
    duration open_timeout = std::chrono::minutes(5);
    duration validation_timeout = std::chrono::seconds(5);
    duration reset_timeout = std::chrono::seconds(30);
    duration close_timeout = std::chrono::seconds(10);
    duration abort_grace = std::chrono::seconds(2);
    duration idle_timeout = std::chrono::minutes(10);
    duration max_lifetime = std::chrono::minutes(30);
    duration lifetime_jitter = std::chrono::seconds(30);
    duration keepalive_interval = std::chrono::minutes(2);
    duration backoff_initial = std::chrono::milliseconds(10);
    duration backoff_max = std::chrono::seconds(5);
    duration shutdown_grace = std::chrono::seconds(5);
    std::uint64_t seed = 1; // lifetime jitter
    // A lease held longer is logged once (warn) with who holds it; 0: never.
    duration leak_threshold{0};
    // Repeated events of one kind (connect failures, acquire timeouts) are logged at most once
    // per this, with how many were left out.
    duration log_interval = std::chrono::seconds(10);
  };

  // The longest a shutdown takes before it is answered: leases get shutdown_grace, then their
  // statements abort_grace, then each connection close_timeout to close, then close_timeout
  // more to go down after a kill.
  static duration shutdown_bound(const config& c) {
    return c.shutdown_grace + c.abort_grace + 2 * c.close_timeout;
  }

  struct effect {
    enum class kind : std::uint8_t {
      open,          // spawn a connection for `slot` and open it
      validate,      // SELECT 1
      reset,         // back to the baseline
      close,         // close properly (the slot waits for the down)
      kill,          // end the connection actor now: it drops (or closes) its session, then
                     // goes down; the slot waits for the down
      abort,         // abort the statement running on `slot` (the backend's abort_running)
      end_lease,     // tell the connection that `lease_id` ended at the pool
      serve,         // `waiter` gets `lease_id` on `slot`
      fail,          // `waiter` gets the error `code`, `text`
      arm_timer,     // call timer() at `deadline` (an earlier call does no harm)
      prewarm_done,  // answer prewarm `job`: requested, opened, failures, and `code`: the
                     // refusal in force (authentication_failed, untrusted_server) or none
      shutdown_done, // answer every shutdown: ok, or `text` names what did not end
      log,           // log `text` at `level`; `borrower` (if not 0) is named after it
    };
    explicit effect(kind k) : what(k) {}
    kind what;
    slot_id slot = 0;
    std::uint64_t lease_id = 0;
    waiter_id waiter = 0;
    refusal code = refusal::none;
    std::string text;
    time_point deadline{};
    job_id job = 0;
    std::size_t requested = 0, opened = 0;
    std::vector<std::string> failures;
    bool ok = true;
    log_level level = log_level::info;
    borrower_id borrower = 0;
  };

  struct borrow_answer {
    enum class kind : std::uint8_t { granted, queued, refused } what = kind::refused;
    slot_id slot = 0;
    std::uint64_t lease_id = 0;
    waiter_id waiter = 0;
    refusal code = refusal::none;
    std::string text;
  };

  struct counters {
    std::uint64_t borrowed = 0, returned = 0, opened = 0, closed = 0, connect_failures = 0;
    std::uint64_t validated = 0, invalid = 0, evicted = 0, reclaimed = 0, resets = 0;
    std::uint64_t timed_out_borrows = 0, aborted = 0, killed = 0, refused_waiters = 0;
    std::string last_connect_error;
    // Connect failures by cause, indexed by open_failure (auth, untrusted, session_limit,
    // other); they add up to connect_failures.
    std::array<std::uint64_t, 4> connect_failures_by_cause{};
    // Borrow waits for /metrics: how many waited at most each of wait_bucket_bounds_us
    // (cumulative), how many in all, and their sum.
    std::array<std::uint64_t, wait_bucket_count> wait_le{};
    std::uint64_t wait_count = 0, wait_sum_ns = 0;
  };

  explicit pool_core(config c);

  // --- events (each takes the time it happens) ---
  void start(time_point now); // opens min_idle
  borrow_answer borrow(time_point now, borrower_id who, want w);
  void give_back(time_point now, std::uint64_t lease_id);
  void released(time_point now, std::uint64_t lease_id, bool dirty);
  void dirty(time_point now, std::uint64_t lease_id);
  void opened(time_point now, slot_id s);
  void open_failed(time_point now, slot_id s, open_failure kind, const std::string& text);
  // The shell could not even make the connection (backend factory failed): no actor exists.
  void spawn_failed(time_point now, slot_id s, const std::string& text);
  void validated(time_point now, slot_id s, bool ok);
  void reset_done(time_point now, slot_id s, bool ok);
  void connection_down(time_point now, slot_id s);
  void borrower_down(time_point now, borrower_id who);
  // The borrower gave up on what it asked (its own guard passed): its waits fail
  // (statement_aborted) and its running statements are aborted; its leases stay its own.
  void borrower_gave_up(time_point now, borrower_id who);
  void timer(time_point now);
  void tick(time_point now);
  // Opens connections until n are open, within max_size; answered by prewarm_done (maybe at
  // once) once each has opened or failed: one already opening (min_idle's) is waited for.
  // Returns the job id, 0 when refused (shutting down: prewarm_done is not emitted).
  job_id prewarm(time_point now, std::size_t n);
  void shutdown(time_point now);

  // The effects of the events so far, in order; the shell swaps them out and performs them.
  std::vector<effect>& effects() { return effects_; }

  // --- observation ---
  phase phase_of(slot_id s) const { return s < slots_.size() ? slots_[s].state : phase::free; }
  std::size_t count(phase p) const { return in_phase_[static_cast<std::size_t>(p)]; }
  std::size_t total() const { return slots_.size() - count(phase::free); }
  std::size_t waiting() const { return waiters_.size(); }
  // The server accepted this pool's credentials and, as far as the pool knows, still does: a
  // connection logged in with them is open and no login with them was refused since. (The
  // proxy lets a client of these credentials in without a borrow.)
  bool vouches() const {
    auto logged_in = count(phase::idle) + count(phase::leased) + count(phase::validating) +
                     count(phase::resetting);
    return logged_in > 0 && refused_ == refusal::none;
  }
  std::size_t slot_count() const { return slots_.size(); }
  bool shutting_down() const { return shutting_down_; }
  bool shutdown_answered() const { return shutdown_answered_; }
  const counters& stats() const { return counters_; }
  // Why borrows are refused now (authentication_failed, untrusted_server) or none, and how
  // many connects failed in a row (0 after a success): what /health judges by.
  refusal refused() const { return refused_; }
  std::size_t consecutive_failures() const { return consecutive_failures_; }
  const config& settings() const { return config_; }
  // Borrow wait percentiles (bucketed: within 25 %).
  duration wait_percentile(double p) const;
  duration wait_max() const { return wait_max_; }
  // The pool's counts for error texts (never a secret).
  std::string counts_text() const;

private:
  static constexpr time_point never = time_point::max();

  struct slot {
    phase state = phase::free;
    std::uint64_t lease_id = 0;
    borrower_id borrower = 0;
    want kind = want::lease;
    bool dirty = false;
    bool was_open = false;
    bool killed = false;
    bool abandoned = false;     // its statement's borrower died: aborted, waiting for release
    bool then_validate = false; // a reclaimed lease: reset, then validated
    job_id prewarm_job = 0;
    time_point last_used{}, expires_at{};
    time_point leased_at{};
    bool leak_logged = false;
    time_point deadline = never; // of the request running on it (or the abort)
  };
  struct waiter {
    waiter_id id;
    borrower_id who;
    want kind;
    time_point since;
  };
  struct prewarm_job {
    explicit prewarm_job(job_id i) : id(i) {}
    job_id id;
    std::size_t requested = 0, opened = 0, pending = 0;
    std::vector<std::string> failures;
  };

  void set_phase(slot_id s, phase next);
  slot_id allocate_slot();
  void emit(effect::kind k, slot_id s);
  void want_timer(time_point t);
  void arm_next(time_point now);

  bool expired(const slot& s, time_point now) const;
  bool needs_validation(const slot& s, time_point now) const;
  std::size_t effective_cap(time_point now) const;
  std::size_t live() const { return total() - count(phase::closing); }

  std::uint64_t lease_out(time_point now, slot_id s, borrower_id who, want kind, time_point since);
  void serve_head(time_point now, slot_id s);
  void fail_all_waiters(refusal code, const std::string& text);
  void take_back(time_point now, slot_id s);
  void make_available(time_point now, slot_id s);
  void start_open(time_point now, job_id job);
  void start_request(slot_id s, phase p, time_point deadline, effect::kind what);
  void start_validate(time_point now, slot_id s);
  void start_reset(time_point now, slot_id s, bool then_validate);
  void close_slot(time_point now, slot_id s);
  void kill_slot(slot_id s);
  void retire(time_point now, slot_id s, const char* why);
  void remove_idle(slot_id s);
  void connect_failed(time_point now, open_failure kind, const std::string& text);
  void finish_prewarm(job_id job, const std::string* failure);
  void open_missing(time_point now);
  void dispatch(time_point now);
  void check_drained();
  void expire_waiters(time_point now);
  void expire_slots(time_point now);
  void end_grace(time_point now);
  void fail_waiters_of(borrower_id who, refusal code, const std::string& text);
  slot* leased_slot(std::uint64_t lease_id);
  void wait_histogram_add(duration d);
  // Log lines (effect::kind::log); a limited one is dropped (and counted) when its kind
  // logged less than log_interval ago, and the next one says how many were dropped.
  struct log_limit {
    time_point last{};
    bool ever = false;
    std::uint64_t dropped = 0;
  };
  void log(log_level level, std::string text, borrower_id who = 0);
  void log_limited(log_limit& limit, time_point now, log_level level, std::string text);
  void report_leaks(time_point now);

  config config_;
  std::vector<slot> slots_;
  std::vector<slot_id> free_slots_;
  std::array<std::size_t, phase_count> in_phase_{};
  std::vector<slot_id> idle_; // most recently used last
  std::deque<waiter> waiters_;
  std::vector<prewarm_job> prewarm_jobs_;
  std::vector<effect> effects_;
  waiter_id next_waiter_ = 1;
  job_id next_job_ = 1;
  std::uint64_t lease_sequence_ = 0;
  time_point armed_ = never;

  // Connect failures: exponential backoff; a block on borrows after rejected credentials or an
  // untrusted server (refused_ says which); a cap at the live count after the server's session
  // limit.
  std::size_t consecutive_failures_ = 0;
  duration backoff_{0};
  time_point next_connect_at_{};
  bool retry_wanted_ = false;
  refusal refused_ = refusal::none;
  time_point refused_until_{};
  std::size_t limit_cap_ = 0;
  time_point limit_until_{};
  log_limit connect_log_, recovery_log_, timeout_log_; // a flapping server floods nothing

  bool shutting_down_ = false;
  bool grace_over_ = false;
  bool shutdown_answered_ = false;
  time_point grace_at_ = never, final_at_ = never;

  counters counters_;
  std::array<std::uint64_t, 256> wait_buckets_{};
  std::uint64_t wait_count_ = 0;
  duration wait_max_{0};
  std::mt19937_64 random_;
};

} // namespace exapool

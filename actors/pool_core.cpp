#include "actors/pool_core.hpp"

#include <algorithm>
#include <stdexcept>

namespace exapool {

namespace {

using ms = std::chrono::milliseconds;

const char* cause_of(pool_core::open_failure kind) {
  switch (kind) {
  case pool_core::open_failure::auth:
    return "the server refused the credentials";
  case pool_core::open_failure::untrusted:
    return "the server's certificate failed the TLS rules";
  case pool_core::open_failure::session_limit:
    return "the server's session limit is reached";
  case pool_core::open_failure::other:
    break;
  }
  return "connect failed";
}

std::string millis(pool_core::duration d) {
  return std::to_string(std::chrono::duration_cast<ms>(d).count()) + " ms";
}

} // namespace

// --- the phase table ----------------------------------------------------------------------

const char* pool_core::name_of(phase p) {
  switch (p) {
  case phase::free:
    return "free";
  case phase::opening:
    return "opening";
  case phase::idle:
    return "idle";
  case phase::leased:
    return "leased";
  case phase::validating:
    return "validating";
  case phase::resetting:
    return "resetting";
  case phase::closing:
    return "closing";
  }
  return "?";
}

bool pool_core::allowed(phase from, phase to) {
  using p = phase;
  // Every phase but free and closing may end in closing (close or kill) and in free (the
  // connection actor went down); closing ends only in free, and free only leads to opening.
  switch (from) {
  case p::free:
    return to == p::opening;
  case p::opening:
    return to == p::idle || to == p::leased || to == p::closing || to == p::free;
  case p::idle:
    return to == p::leased || to == p::validating || to == p::resetting || to == p::closing ||
           to == p::free;
  case p::leased: // leased -> leased: returned and handed straight to the next waiter
    return to == p::leased || to == p::idle || to == p::resetting || to == p::closing ||
           to == p::free;
  case p::validating:
    return to == p::idle || to == p::leased || to == p::closing || to == p::free;
  case p::resetting:
    return to == p::idle || to == p::leased || to == p::validating || to == p::closing ||
           to == p::free;
  case p::closing: // closing -> closing: a close that timed out becomes a kill
    return to == p::closing || to == p::free;
  }
  return false;
}

void pool_core::check_transition(phase from, phase to) {
  if (!allowed(from, to))
    throw std::logic_error(std::string("pool_core: illegal phase transition ") + name_of(from) +
                           " -> " + name_of(to));
}

// --- construction and small helpers ------------------------------------------------------

pool_core::pool_core(config c) : config_(c), random_(c.seed) {
  config_.max_size = std::clamp<std::size_t>(config_.max_size, 1, slot_mask);
  config_.min_idle = std::min(config_.min_idle, config_.max_size);
  config_.max_waiters = std::max<std::size_t>(config_.max_waiters, 1);
  slots_.reserve(config_.max_size);
  effects_.reserve(16);
}

void pool_core::set_phase(slot_id s, phase next) {
  auto& sl = slots_[s];
  check_transition(sl.state, next);
  --in_phase_[static_cast<std::size_t>(sl.state)];
  ++in_phase_[static_cast<std::size_t>(next)];
  sl.state = next;
}

pool_core::slot_id pool_core::allocate_slot() {
  if (!free_slots_.empty()) {
    auto s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  slots_.emplace_back();
  ++in_phase_[static_cast<std::size_t>(phase::free)];
  return static_cast<slot_id>(slots_.size() - 1);
}

void pool_core::emit(effect::kind k, slot_id s) {
  effect e{k};
  e.slot = s;
  effects_.push_back(std::move(e));
}

void pool_core::want_timer(time_point t) {
  if (t >= armed_)
    return;
  armed_ = t;
  effect e{effect::kind::arm_timer};
  e.deadline = t;
  effects_.push_back(std::move(e));
}

// After a timer: the earliest deadline of everything that waits for time.
void pool_core::arm_next(time_point now) {
  if (armed_ <= now)
    armed_ = never;
  time_point next = never;
  if (!waiters_.empty())
    next = std::min(next, waiters_.front().since + config_.acquire_timeout);
  for (const auto& sl : slots_)
    next = std::min(next, sl.deadline);
  if (retry_wanted_ && !shutting_down_)
    next = std::min(next, std::max(next_connect_at_, limit_until_));
  if (shutting_down_ && !grace_over_)
    next = std::min(next, grace_at_);
  if (shutting_down_ && !shutdown_answered_)
    next = std::min(next, final_at_);
  if (next != never)
    want_timer(std::max(next, now));
}

bool pool_core::expired(const slot& s, time_point now) const {
  return config_.max_lifetime.count() > 0 && now >= s.expires_at;
}

bool pool_core::needs_validation(const slot& s, time_point now) const {
  return now - s.last_used >= config_.validation_bypass;
}

// max_size, or fewer for a while after the server refused a login for its session limit.
std::size_t pool_core::effective_cap(time_point now) const {
  if (now < limit_until_)
    return std::min(config_.max_size, limit_cap_);
  return config_.max_size;
}

std::string pool_core::counts_text() const {
  auto busy = count(phase::validating) + count(phase::resetting) + count(phase::closing);
  std::string text = "total=" + std::to_string(total()) +
                     " leased=" + std::to_string(count(phase::leased)) +
                     " idle=" + std::to_string(count(phase::idle) + busy) +
                     " opening=" + std::to_string(count(phase::opening)) +
                     " closing=" + std::to_string(count(phase::closing)) +
                     " waiting=" + std::to_string(waiters_.size()) +
                     " max_size=" + std::to_string(config_.max_size);
  text +=
      " last_connect_error=" +
      (counters_.last_connect_error.empty() ? std::string("none") : counters_.last_connect_error);
  return text;
}

void pool_core::remove_idle(slot_id s) {
  auto i = std::find(idle_.begin(), idle_.end(), s);
  if (i != idle_.end())
    idle_.erase(i);
}

pool_core::slot* pool_core::leased_slot(std::uint64_t lease_id) {
  auto s = slot_of(lease_id);
  if (lease_id == 0 || s >= slots_.size())
    return nullptr;
  auto& sl = slots_[s];
  if (sl.state != phase::leased || sl.lease_id != lease_id)
    return nullptr;
  return &sl;
}

// Four buckets per power of two of nanoseconds: bounded memory, percentiles within 25 %.
namespace {
std::size_t bucket_of(std::uint64_t ns) {
  if (ns < 4)
    return ns;
  unsigned bit = 63 - static_cast<unsigned>(__builtin_clzll(ns));
  return bit * 4 + ((ns >> (bit - 2)) & 3);
}
std::uint64_t bucket_top(std::size_t index) {
  if (index < 4)
    return index;
  unsigned bit = static_cast<unsigned>(index / 4);
  std::uint64_t sub = index % 4;
  return ((4 + sub + 1) << (bit - 2)) - 1;
}
} // namespace

void pool_core::wait_histogram_add(duration d) {
  auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count()));
  ++wait_buckets_[bucket_of(ns)];
  ++wait_count_;
  wait_max_ = std::max(wait_max_, d);
  ++counters_.wait_count;
  counters_.wait_sum_ns += ns;
  for (std::size_t i = 0; i < wait_bucket_count; ++i)
    if (d <= std::chrono::microseconds(wait_bucket_bounds_us[i]))
      ++counters_.wait_le[i];
}

pool_core::duration pool_core::wait_percentile(double p) const {
  if (wait_count_ == 0)
    return duration{0};
  auto rank = static_cast<std::uint64_t>(p * static_cast<double>(wait_count_ - 1)) + 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < wait_buckets_.size(); ++i) {
    seen += wait_buckets_[i];
    if (seen >= rank)
      return std::min(duration{static_cast<std::int64_t>(bucket_top(i))}, wait_max_);
  }
  return wait_max_;
}

// --- leases ---------------------------------------------------------------------------------

std::uint64_t pool_core::lease_out(time_point now, slot_id s, borrower_id who, want kind,
                                   time_point since) {
  set_phase(s, phase::leased);
  auto& sl = slots_[s];
  sl.lease_id = (++lease_sequence_ << slot_bits) | s;
  sl.borrower = who;
  sl.kind = kind;
  sl.dirty = false;
  sl.abandoned = false;
  sl.deadline = never;
  sl.leased_at = now;
  sl.leak_logged = false;
  ++counters_.borrowed;
  wait_histogram_add(now - since);
  return sl.lease_id;
}

// Hands slot `s` to the oldest waiter. Precondition: a waiter exists.
void pool_core::serve_head(time_point now, slot_id s) {
  auto w = waiters_.front();
  waiters_.pop_front();
  effect e{effect::kind::serve};
  e.slot = s;
  e.waiter = w.id;
  e.lease_id = lease_out(now, s, w.who, w.kind, w.since);
  effects_.push_back(std::move(e));
}

void pool_core::fail_all_waiters(refusal code, const std::string& text) {
  for (auto& w : waiters_) {
    effect e{effect::kind::fail};
    e.waiter = w.id;
    e.code = code;
    e.text = text;
    effects_.push_back(std::move(e));
  }
  waiters_.clear();
}

pool_core::borrow_answer pool_core::borrow(time_point now, borrower_id who, want kind) {
  borrow_answer out;
  if (shutting_down_) {
    out.code = refusal::shutting_down;
    out.text = "the pool is shutting down";
    return out;
  }
  if (refused_ != refusal::none && now < refused_until_) {
    out.code = refused_;
    out.text = counters_.last_connect_error;
    return out;
  }
  // The fast path: nobody waits and the most recently used idle connection is fresh.
  if (waiters_.empty() && !idle_.empty()) {
    auto s = idle_.back();
    if (!needs_validation(slots_[s], now) && !expired(slots_[s], now)) {
      idle_.pop_back();
      out.what = borrow_answer::kind::granted;
      out.slot = s;
      out.lease_id = lease_out(now, s, who, kind, now);
      if (idle_.size() < config_.min_idle)
        open_missing(now); // top min_idle up now, not at the next tick
      return out;
    }
  }
  if (waiters_.size() >= config_.max_waiters) {
    ++counters_.refused_waiters;
    out.code = refusal::too_many_waiters;
    out.text = "the waiter queue is full: waiting=" + std::to_string(waiters_.size()) +
               " max_waiters=" + std::to_string(config_.max_waiters) + " " + counts_text();
    return out;
  }
  out.what = borrow_answer::kind::queued;
  out.waiter = next_waiter_++;
  waiters_.push_back(waiter{out.waiter, who, kind, now});
  want_timer(now + config_.acquire_timeout);
  dispatch(now);
  return out;
}

// The lease on `s` is over (the connection knows already): reset if dirty, then to the oldest
// waiter or idle.
void pool_core::take_back(time_point now, slot_id s) {
  auto& sl = slots_[s];
  ++counters_.returned;
  sl.borrower = 0;
  sl.lease_id = 0;
  sl.abandoned = false;
  sl.deadline = never;
  sl.last_used = now;
  if (!sl.dirty && !shutting_down_ && !expired(sl, now) && !waiters_.empty()) {
    serve_head(now, s);
    return;
  }
  if (sl.dirty && !shutting_down_)
    start_reset(now, s, false);
  else
    make_available(now, s);
}

void pool_core::give_back(time_point now, std::uint64_t lease_id) {
  auto* sl = leased_slot(lease_id);
  if (!sl)
    return; // already returned, released or taken back
  effect e{effect::kind::end_lease};
  e.slot = slot_of(lease_id);
  e.lease_id = lease_id;
  effects_.push_back(std::move(e));
  take_back(now, slot_of(lease_id));
  if (shutting_down_)
    check_drained();
}

void pool_core::released(time_point now, std::uint64_t lease_id, bool dirty) {
  auto* sl = leased_slot(lease_id);
  if (!sl)
    return; // taken back meanwhile (a dead borrower, shutdown grace)
  sl->dirty = sl->dirty || dirty;
  take_back(now, slot_of(lease_id));
  if (shutting_down_)
    check_drained();
}

void pool_core::dirty(time_point now, std::uint64_t lease_id) {
  auto s = slot_of(lease_id);
  if (lease_id == 0 || s >= slots_.size())
    return;
  auto& sl = slots_[s];
  if (sl.state == phase::leased && sl.lease_id == lease_id) {
    sl.dirty = true;
  } else if (sl.state == phase::idle) {
    // A statement finished after its lease ended: reset before anyone borrows it.
    remove_idle(s);
    start_reset(now, s, false);
  }
}

// --- connection life cycle ----------------------------------------------------------------

// The slot's connection is asked to do what `phase` means, by `deadline` (then it is killed).
void pool_core::start_request(slot_id s, phase p, time_point deadline, effect::kind what) {
  set_phase(s, p);
  slots_[s].deadline = deadline;
  want_timer(deadline);
  emit(what, s);
}

void pool_core::start_open(time_point now, job_id job) {
  auto s = allocate_slot();
  slots_[s].prewarm_job = job; // a free slot holds the defaults (connection_down resets it)
  start_request(s, phase::opening, now + config_.open_timeout, effect::kind::open);
}

void pool_core::finish_prewarm(job_id job, const std::string* failure) {
  if (job == 0)
    return;
  auto i = std::find_if(prewarm_jobs_.begin(), prewarm_jobs_.end(),
                        [job](const prewarm_job& j) { return j.id == job; });
  if (i == prewarm_jobs_.end())
    return;
  if (failure)
    i->failures.push_back(*failure);
  else
    ++i->opened;
  if (--i->pending > 0)
    return;
  effect e{effect::kind::prewarm_done};
  e.job = i->id;
  e.requested = i->requested;
  e.opened = i->opened;
  e.failures = std::move(i->failures);
  e.code = refused_; // why nothing opens, when the server refused credentials or certificate
  effects_.push_back(std::move(e));
  prewarm_jobs_.erase(i);
}

void pool_core::opened(time_point now, slot_id s) {
  if (phase_of(s) != phase::opening)
    return; // killed meanwhile (open timeout, shutdown): the down frees it
  auto& sl = slots_[s];
  ++counters_.opened;
  if (consecutive_failures_ > 0)
    log_limited(recovery_log_, now, log_level::info,
                "a connection opened after " + std::to_string(consecutive_failures_) +
                    " failed attempts");
  consecutive_failures_ = 0;
  refused_ = refusal::none;
  limit_until_ = time_point{}; // the server took one more: its limit is not where it was
  sl.was_open = true;
  sl.deadline = never;
  sl.last_used = now;
  if (config_.max_lifetime.count() > 0) {
    // Each connection draws its jitter once, so connections opened together expire apart.
    auto jitter = config_.lifetime_jitter.count() > 0
                      ? std::uniform_int_distribution<std::int64_t>(
                            0, config_.lifetime_jitter.count())(random_)
                      : 0;
    sl.expires_at = now + config_.max_lifetime - duration{jitter};
  }
  auto job = sl.prewarm_job;
  sl.prewarm_job = 0;
  finish_prewarm(job, nullptr);
  make_available(now, s);
  dispatch(now);
}

void pool_core::connect_failed(time_point now, open_failure kind, const std::string& text) {
  ++counters_.connect_failures;
  ++counters_.connect_failures_by_cause[static_cast<std::size_t>(kind)];
  counters_.last_connect_error = text;
  ++consecutive_failures_;
  backoff_ = consecutive_failures_ == 1 ? config_.backoff_initial
                                        : std::min(backoff_ * 2, config_.backoff_max);
  next_connect_at_ = now + backoff_;
  log_limited(connect_log_, now, log_level::warn,
              std::string("cannot open a connection (") + cause_of(kind) + ", attempt " +
                  std::to_string(consecutive_failures_) + "): " + text);
  if (kind == open_failure::auth || kind == open_failure::untrusted) {
    // Waiting is pointless: the credentials are wrong, or the server is not the one the TLS
    // rules trust. Fail everyone now, and refuse borrows until the backoff is over (no login
    // or handshake storm against the server).
    refused_ =
        kind == open_failure::auth ? refusal::authentication_failed : refusal::untrusted_server;
    refused_until_ = next_connect_at_;
    fail_all_waiters(refused_, text);
  } else if (kind == open_failure::session_limit) {
    // The server holds as many sessions as it allows: the live connections are what this pool
    // gets for a while. Waiters stay; they are served as leases come back.
    limit_cap_ = live();
    limit_until_ = now + std::max(backoff_, config_.backoff_max);
  }
}

void pool_core::open_failed(time_point now, slot_id s, open_failure kind, const std::string& text) {
  if (phase_of(s) != phase::opening)
    return;
  auto job = slots_[s].prewarm_job;
  slots_[s].prewarm_job = 0;
  // The connection actor is alive (it answered): stop it; the slot waits for its down.
  kill_slot(s);
  connect_failed(now, kind, text);
  finish_prewarm(job, &text);
  if (shutting_down_)
    check_drained();
  else
    dispatch(now);
}

void pool_core::spawn_failed(time_point now, slot_id s, const std::string& text) {
  if (phase_of(s) != phase::opening)
    return;
  auto job = slots_[s].prewarm_job;
  set_phase(s, phase::free);
  slots_[s] = slot{};
  free_slots_.push_back(s);
  connect_failed(now, open_failure::other, text);
  finish_prewarm(job, &text);
}

void pool_core::close_slot(time_point now, slot_id s) {
  start_request(s, phase::closing, now + config_.close_timeout, effect::kind::close);
}

// The connection actor stops now; its slot stays taken until it is down, because its server
// session may outlive the request that timed out.
void pool_core::kill_slot(slot_id s) {
  set_phase(s, phase::closing);
  auto& sl = slots_[s];
  sl.killed = true;
  sl.deadline = never;
  ++counters_.killed;
  emit(effect::kind::kill, s);
}

void pool_core::retire(time_point now, slot_id s, const char* why) {
  ++counters_.evicted;
  log(log_level::debug, std::string("closing a connection: ") + why);
  close_slot(now, s);
}

void pool_core::start_validate(time_point now, slot_id s) {
  start_request(s, phase::validating, now + config_.validation_timeout, effect::kind::validate);
}

void pool_core::validated(time_point now, slot_id s, bool ok) {
  if (phase_of(s) != phase::validating)
    return;
  auto& sl = slots_[s];
  sl.deadline = never;
  ++counters_.validated;
  if (!ok) {
    ++counters_.invalid;
    log(log_level::warn, "a connection failed validation and is closed");
    close_slot(now, s);
    return;
  }
  sl.last_used = now;
  make_available(now, s);
  dispatch(now);
}

// Back to the baseline; then validated too when `then_validate` (a reclaimed lease).
void pool_core::start_reset(time_point now, slot_id s, bool then_validate) {
  slots_[s].then_validate = then_validate;
  ++counters_.resets;
  start_request(s, phase::resetting, now + config_.reset_timeout, effect::kind::reset);
}

void pool_core::reset_done(time_point now, slot_id s, bool ok) {
  if (phase_of(s) != phase::resetting)
    return;
  auto& sl = slots_[s];
  sl.deadline = never;
  if (!ok) {
    close_slot(now, s); // dispatch opens a replacement once it is down
    return;
  }
  sl.dirty = false;
  if (sl.then_validate && !shutting_down_) {
    start_validate(now, s);
    return;
  }
  make_available(now, s);
  dispatch(now);
}

// A connection that finished opening, validating or resetting: to the oldest waiter, else
// idle; closed instead when the pool drains or the connection outlived max_lifetime.
void pool_core::make_available(time_point now, slot_id s) {
  auto& sl = slots_[s];
  sl.deadline = never;
  if (shutting_down_) {
    close_slot(now, s);
    return;
  }
  if (expired(sl, now)) {
    retire(now, s, "its max lifetime is over");
    return;
  }
  if (!waiters_.empty()) {
    serve_head(now, s);
    return;
  }
  set_phase(s, phase::idle);
  idle_.push_back(s);
}

void pool_core::connection_down(time_point now, slot_id s) {
  auto was = phase_of(s);
  if (was == phase::free)
    return;
  auto& sl = slots_[s];
  if (was == phase::idle)
    remove_idle(s);
  auto job = sl.prewarm_job;
  bool counted_open = sl.was_open;
  set_phase(s, phase::free);
  sl = slot{};
  free_slots_.push_back(s);
  if (was == phase::opening) {
    std::string text = "connection actor died while opening";
    connect_failed(now, open_failure::other, text);
    finish_prewarm(job, &text);
  } else if (counted_open) {
    ++counters_.closed;
  }
  if (shutting_down_)
    check_drained();
  else
    dispatch(now);
}

// --- borrowers ----------------------------------------------------------------------------

// A borrower died: its running statements are aborted, its leases taken back (reset, then
// validated) and its waits dropped.
void pool_core::borrower_down(time_point now, borrower_id who) {
  if (who == 0)
    return;
  for (slot_id s = 0; s < slots_.size(); ++s) {
    auto& sl = slots_[s];
    if (sl.state != phase::leased || sl.borrower != who)
      continue;
    ++counters_.reclaimed;
    ++counters_.aborted;
    log(log_level::warn,
        "taking back a lease from a borrower that ended without giving it back (held " +
            millis(now - sl.leased_at) + "); its statement is aborted and the connection reset",
        who);
    emit(effect::kind::abort, s);
    if (sl.kind == want::statement) {
      // The connection releases the lease when the aborted statement ends; if it does not
      // within abort_grace, the connection is killed.
      sl.borrower = 0;
      sl.abandoned = true;
      sl.deadline = now + config_.abort_grace;
      want_timer(sl.deadline);
      continue;
    }
    effect e{effect::kind::end_lease};
    e.slot = s;
    e.lease_id = sl.lease_id;
    effects_.push_back(std::move(e));
    sl.borrower = 0;
    sl.lease_id = 0;
    if (shutting_down_)
      close_slot(now, s);
    else
      start_reset(now, s, true);
  }
  fail_waiters_of(who, refusal::borrower_gone, "the borrower is gone");
}

void pool_core::fail_waiters_of(borrower_id who, refusal code, const std::string& text) {
  for (auto w = waiters_.begin(); w != waiters_.end();) {
    if (w->who != who) {
      ++w;
      continue;
    }
    effect e{effect::kind::fail};
    e.waiter = w->id;
    e.code = code;
    e.text = text;
    effects_.push_back(std::move(e));
    w = waiters_.erase(w);
  }
}

void pool_core::borrower_gave_up(time_point, borrower_id who) {
  if (who == 0)
    return;
  for (slot_id s = 0; s < slots_.size(); ++s) {
    if (slots_[s].state != phase::leased || slots_[s].borrower != who)
      continue;
    ++counters_.aborted;
    emit(effect::kind::abort, s);
  }
  fail_waiters_of(who, refusal::statement_aborted,
                  "statement aborted: its borrower gave up while it waited");
}

// --- opening what is missing ----------------------------------------------------------------

// Opens what waiters and min_idle need, within max_size (or the session limit's cap), and at
// most one at a time while connects are failing (after the backoff).
void pool_core::open_missing(time_point now) {
  retry_wanted_ = false;
  if (shutting_down_)
    return;
  if (refused_ != refusal::none && waiters_.empty())
    return; // only a new borrow retries rejected credentials or an untrusted server
  auto supply =
      idle_.size() + count(phase::opening) + count(phase::validating) + count(phase::resetting);
  auto demand = waiters_.size() + config_.min_idle;
  if (demand <= supply)
    return;
  auto cap = effective_cap(now);
  auto room = cap - std::min(cap, total()); // closing slots count: they may hold a session
  auto wanted = std::min(demand - supply, room);
  if (wanted == 0) {
    if (now < limit_until_) {
      retry_wanted_ = true;
      want_timer(limit_until_);
    }
    return;
  }
  if (consecutive_failures_ > 0) {
    if (now < next_connect_at_) {
      retry_wanted_ = true;
      want_timer(next_connect_at_);
      return;
    }
    if (count(phase::opening) > 0)
      return;
    wanted = 1; // probe before opening the rest
  }
  for (std::size_t i = 0; i < wanted; ++i)
    start_open(now, 0);
}

// Gives idle connections to waiters (validating the ones idle too long), then opens what is
// still missing.
void pool_core::dispatch(time_point now) {
  while (!waiters_.empty() && !idle_.empty()) {
    auto s = idle_.back();
    idle_.pop_back();
    if (expired(slots_[s], now))
      retire(now, s, "its max lifetime is over");
    else if (needs_validation(slots_[s], now))
      start_validate(now, s);
    else
      serve_head(now, s);
  }
  open_missing(now);
}

void pool_core::start(time_point now) {
  if (config_.min_idle > 0)
    dispatch(now);
}

// --- time ---------------------------------------------------------------------------------

void pool_core::expire_waiters(time_point now) {
  while (!waiters_.empty() && waiters_.front().since + config_.acquire_timeout <= now) {
    // The counts are taken while this waiter still waits, so waiting is at least 1.
    auto waited = now - waiters_.front().since;
    effect e{effect::kind::fail};
    e.waiter = waiters_.front().id;
    e.code = refusal::acquire_timeout;
    e.text = "no connection within " + millis(waited) + ": " + counts_text();
    waiters_.pop_front();
    ++counters_.timed_out_borrows;
    log_limited(timeout_log_, now, log_level::warn, "a borrow timed out: " + e.text);
    effects_.push_back(std::move(e));
  }
}

// Requests past their deadline: the connection is killed (a close request would queue behind
// whatever blocks it), and its slot waits for the down.
void pool_core::expire_slots(time_point now) {
  for (slot_id s = 0; s < slots_.size(); ++s) {
    auto& sl = slots_[s];
    if (sl.deadline > now)
      continue;
    sl.deadline = never;
    switch (sl.state) {
    case phase::opening: {
      auto job = sl.prewarm_job;
      sl.prewarm_job = 0;
      std::string text = "open timed out after " + millis(config_.open_timeout);
      kill_slot(s);
      connect_failed(now, open_failure::other, text);
      finish_prewarm(job, &text);
      break;
    }
    case phase::validating:
      ++counters_.validated;
      ++counters_.invalid;
      kill_slot(s);
      break;
    case phase::resetting:
    case phase::closing:
      kill_slot(s);
      break;
    case phase::leased: // an aborted statement of a dead borrower that did not end
      if (sl.abandoned)
        kill_slot(s);
      break;
    default:
      break;
    }
  }
}

// The grace period is over: the statements of leases still out are aborted, the leases ended
// and their connections closed (after abort_grace for the aborted statement to end).
void pool_core::end_grace(time_point now) {
  grace_over_ = true;
  for (slot_id s = 0; s < slots_.size(); ++s) {
    auto& sl = slots_[s];
    if (sl.state != phase::leased)
      continue;
    ++counters_.aborted;
    emit(effect::kind::abort, s);
    effect e{effect::kind::end_lease};
    e.slot = s;
    e.lease_id = sl.lease_id;
    effects_.push_back(std::move(e));
    sl.borrower = 0;
    sl.lease_id = 0;
    close_slot(now, s);
    sl.deadline = now + config_.abort_grace + config_.close_timeout;
  }
}

void pool_core::timer(time_point now) {
  if (armed_ <= now)
    armed_ = never;
  expire_waiters(now);
  expire_slots(now);
  if (shutting_down_) {
    if (!grace_over_ && now >= grace_at_)
      end_grace(now);
    if (!shutdown_answered_ && now >= final_at_) {
      shutdown_answered_ = true;
      effect e{effect::kind::shutdown_done};
      e.ok = false;
      e.text = std::to_string(total()) + " connections did not end within " +
               millis(shutdown_bound(config_)) +
               " (killed; their sessions may stay open): " + counts_text();
      effects_.push_back(std::move(e));
    }
    check_drained();
  } else {
    dispatch(now);
  }
  arm_next(now);
}

// Idle timeout, max lifetime, keepalive and min_idle, once per tick.
void pool_core::tick(time_point now) {
  if (shutting_down_)
    return;
  report_leaks(now);
  std::vector<slot_id> keep;
  keep.reserve(idle_.size());
  auto idle_left = idle_.size();
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto s : idle) {
    auto& sl = slots_[s];
    bool idle_too_long = config_.idle_timeout.count() > 0 &&
                         now - sl.last_used >= config_.idle_timeout && idle_left > config_.min_idle;
    if (expired(sl, now) || idle_too_long) {
      --idle_left;
      retire(now, s, expired(sl, now) ? "its max lifetime is over" : "idle for idle_timeout");
    } else if (config_.keepalive_interval.count() > 0 &&
               now - sl.last_used >= config_.keepalive_interval) {
      start_validate(now, s);
    } else {
      keep.push_back(s);
    }
  }
  idle_ = std::move(keep);
  dispatch(now);
}

// A lease held past leak_threshold: logged once per lease, naming its borrower.
void pool_core::report_leaks(time_point now) {
  if (config_.leak_threshold.count() <= 0)
    return;
  for (auto& sl : slots_) {
    if (sl.state != phase::leased || sl.leak_logged || sl.borrower == 0 ||
        now - sl.leased_at < config_.leak_threshold)
      continue;
    sl.leak_logged = true;
    log(log_level::warn,
        "a lease has been held for " + millis(now - sl.leased_at) +
            ", beyond the leak threshold (" + millis(config_.leak_threshold) +
            "): a borrower that never gives it back?",
        sl.borrower);
  }
}

// --- log ----------------------------------------------------------------------------------

void pool_core::log(log_level level, std::string text, borrower_id who) {
  effect e{effect::kind::log};
  e.level = level;
  e.text = std::move(text);
  e.borrower = who;
  effects_.push_back(std::move(e));
}

void pool_core::log_limited(log_limit& limit, time_point now, log_level level, std::string text) {
  if (limit.ever && now - limit.last < config_.log_interval) {
    ++limit.dropped;
    return;
  }
  if (limit.dropped > 0)
    text += " (" + std::to_string(limit.dropped) + " more like it since the last line)";
  limit = log_limit{now, true, 0};
  log(level, std::move(text));
}

// --- prewarm and shutdown -----------------------------------------------------------------

pool_core::job_id pool_core::prewarm(time_point now, std::size_t n) {
  if (shutting_down_)
    return 0;
  prewarm_job job{next_job_++};
  job.requested = n;
  auto target = std::min(n, config_.max_size);
  // Open connections count; one still opening counts only once it opened: this job adopts it
  // (its outcome finishes the job), unless another prewarm already waits for it.
  auto opening = count(phase::opening);
  job.opened = std::min(live() - opening, target);
  std::size_t adopted = 0;
  for (slot_id s = 0; s < slots_.size() && job.opened + adopted < target; ++s) {
    if (slots_[s].state != phase::opening)
      continue;
    if (slots_[s].prewarm_job == 0) {
      slots_[s].prewarm_job = job.id;
      ++adopted;
    } else {
      ++job.opened; // another prewarm's: reported there
    }
  }
  for (std::size_t i = target; i < n; ++i)
    job.failures.push_back("beyond max_size " + std::to_string(config_.max_size));
  auto cap = effective_cap(now);
  auto room = cap - std::min(cap, total());
  auto to_open = std::min(target - job.opened - adopted, room);
  for (std::size_t i = job.opened + adopted + to_open; i < target; ++i)
    job.failures.push_back("no room: " + counts_text());
  if (to_open + adopted == 0) {
    effect e{effect::kind::prewarm_done};
    e.job = job.id;
    e.requested = job.requested;
    e.opened = job.opened;
    e.failures = std::move(job.failures);
    e.code = refused_;
    effects_.push_back(std::move(e));
    return job.id;
  }
  job.pending = to_open + adopted;
  auto id = job.id;
  prewarm_jobs_.push_back(std::move(job));
  for (std::size_t i = 0; i < to_open; ++i)
    start_open(now, id);
  return id;
}

void pool_core::shutdown(time_point now) {
  if (shutting_down_) {
    check_drained();
    return;
  }
  shutting_down_ = true;
  retry_wanted_ = false;
  grace_at_ = now + config_.shutdown_grace;
  final_at_ = now + shutdown_bound(config_);
  fail_all_waiters(refusal::shutting_down, "the pool is shutting down");
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto s : idle)
    close_slot(now, s);
  // Requests in flight get close_timeout at most: what finishes then closes, the rest is killed.
  for (auto& sl : slots_)
    if (sl.state == phase::opening || sl.state == phase::validating || sl.state == phase::resetting)
      sl.deadline = std::min(sl.deadline, now + config_.close_timeout);
  if (count(phase::leased) > 0)
    want_timer(grace_at_);
  else
    grace_over_ = true;
  want_timer(final_at_);
  for (auto& sl : slots_)
    if (sl.deadline != never)
      want_timer(sl.deadline);
  check_drained();
}

void pool_core::check_drained() {
  if (!shutting_down_ || shutdown_answered_ || total() > 0)
    return;
  shutdown_answered_ = true;
  effects_.push_back(effect{effect::kind::shutdown_done});
}

} // namespace exapool

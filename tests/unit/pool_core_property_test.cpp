// Property tests of pool_core: long random event sequences on a simulated clock against a
// simulated server and simulated connection actors. Invariants are checked after every step
// against the server's view (its live sessions and the connection actors not yet down), not
// only against the core's own counts:
// - the server never holds more than max_size sessions of the pool;
// - every live session and every connection actor not yet down is owned by a slot of the core
//   (no lost connection), and the core's total is exactly the actors not yet down;
// - a connection never has two live leases;
// - waiters are served in arrival order, and each is answered exactly once;
// - every waiter has a timer armed by its deadline, and (without clock jumps) is answered by
//   its deadline;
// - shutdown is answered within its bound; once every actor is down, no session is left.
// The simulation: opens fail (refused, wrong password, the server's session limit), any
// request may hang for seconds (a kill then takes effect only when it ends, as with a detached
// actor blocked in I/O), statements run for a while and may be aborted, borrowers die, and the
// clock jumps (everything due is delivered late, at once).
//
// EXAPOOL_PROPERTY_SEED=n replays one sequence; EXAPOOL_PROPERTY_SEQUENCES=n sets how many run.
#include "actors/pool_core.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

using core_t = pool_core;
using time_point = core_t::time_point;
using duration = core_t::duration;
using fx = core_t::effect;

struct violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One simulated connection actor: a serial processor of requests, like the real one.
struct sim_conn {
  std::uint64_t id = 0;
  core_t::slot_id slot = 0;
  bool has_session = false; // the server's view
  bool down = false;        // the actor ended (its down may still be on the way)
  bool kill_pending = false;
  bool busy = false;
  std::uint64_t running_op = 0; // op id running now
  bool running_statement = false;
  std::uint64_t statement_lease = 0;
};

struct waiter_record {
  time_point since;
  bool answered = false;
  bool statement = false;
  core_t::borrower_id who = 0;
};

class simulation {
public:
  explicit simulation(std::uint64_t seed) : seed_(seed), rng_(seed) {
    cfg_.max_size = 1 + pick(0, 5);
    cfg_.min_idle = pick(0, 2);
    cfg_.max_waiters = 4 + pick(0, 40);
    cfg_.acquire_timeout = ms(200 + pick(0, 3000));
    cfg_.validation_bypass = ms(pick(0, 1000));
    cfg_.open_timeout = 3s;
    cfg_.validation_timeout = 1s;
    cfg_.reset_timeout = 3s;
    cfg_.close_timeout = 1s;
    cfg_.abort_grace = 500ms;
    cfg_.idle_timeout = ms(pick(0, 1) ? 5000 : 0);
    cfg_.max_lifetime = ms(pick(0, 1) ? 20000 : 0);
    // From a generator of their own, so each seed keeps the scenario it had before these.
    std::mt19937_64 log_rng(seed * 31 + 7);
    auto log_pick = [&](int lo, int hi) {
      return std::uniform_int_distribution<int>(lo, hi)(log_rng);
    };
    cfg_.leak_threshold = ms(log_pick(0, 1) ? 1000 + log_pick(0, 5000) : 0);
    cfg_.log_interval = ms(log_pick(0, 3) == 0 ? 0 : 500 + log_pick(0, 10000));
    cfg_.lifetime_jitter = 2s;
    cfg_.keepalive_interval = 3s;
    cfg_.backoff_initial = 10ms;
    cfg_.backoff_max = 1s;
    cfg_.shutdown_grace = 2s;
    cfg_.seed = seed;
    server_limit_ = pick(0, 2) == 0 ? 1 + pick(0, 4) : 1000;
    hang_percent_ = pick(0, 4);
    jumps_ = pick(0, 3) == 0;
    core_ = std::make_unique<core_t>(cfg_);
  }

  // Runs `actions` client actions, then shuts down and runs until everything ended.
  void run(int actions) {
    core_->start(now_);
    perform_effects();
    check("start");
    schedule(now_ + 500ms, [this] { tick(); });
    for (int i = 0; i < actions; ++i) {
      auto next = now_ + us(pick(0, 40000));
      if (jumps_ && pick(0, 200) == 0)
        jump(ms(pick(100, 6000)));
      drain_until(next);
      now_ = std::max(now_, next);
      client_action();
    }
    // Shutdown, and borrowers that still hold leases give them back at random times (some never).
    core_->shutdown(now_);
    perform_effects();
    check("shutdown");
    auto bound = now_ + core_t::shutdown_bound(cfg_);
    drain_until(now_ + 10min);
    if (!shutdown_answered_)
      fail("shutdown never answered");
    if (shutdown_answered_at_ > bound + (jumped_ ? 10min : duration{0}))
      fail("shutdown answered after its bound");
    for (auto& [id, w] : waiters_)
      if (!w.answered)
        fail("waiter " + std::to_string(id) + " never answered");
    for (auto& [id, c] : conns_)
      if (!c.down)
        fail("connection " + std::to_string(id) + " never ended");
    if (sessions_ != 0)
      fail("server sessions left after the end: " + std::to_string(sessions_));
  }

  std::uint64_t steps() const { return steps_; }

private:
  static duration ms(std::int64_t n) { return std::chrono::milliseconds(n); }
  static duration us(std::int64_t n) { return std::chrono::microseconds(n); }
  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  bool chance(int percent) { return pick(0, 99) < percent; }

  [[noreturn]] void fail(const std::string& what) {
    std::ostringstream out;
    out << "seed=" << seed_ << " step=" << steps_ << " t=" << (now_ - start_) / 1ms
        << "ms: " << what << " [" << core_->counts_text() << "]";
    throw violation(out.str());
  }

  // --- the event queue: (time, sequence) order ----------------------------------------------
  struct event {
    time_point at;
    std::uint64_t seq;
    std::function<void()> run;
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void schedule(time_point at, std::function<void()> f) {
    queue_.push(event{at, next_seq_++, std::move(f)});
  }
  void drain_until(time_point limit) {
    while (!queue_.empty() && queue_.top().at <= limit) {
      auto e = queue_.top();
      queue_.pop();
      now_ = std::max(now_, e.at);
      e.run();
      perform_effects();
      check("event");
    }
  }
  // The pool did not run for `d`: everything due meanwhile arrives late, at once.
  void jump(duration d) {
    jumped_ = true;
    auto to = now_ + d;
    std::vector<event> due;
    while (!queue_.empty() && queue_.top().at <= to) {
      due.push_back(queue_.top());
      queue_.pop();
    }
    now_ = to;
    for (auto& e : due)
      schedule(to, std::move(e.run));
    // Timers that were due are late now, not gone.
    auto moved = std::distance(timers_.begin(), timers_.upper_bound(to));
    timers_.erase(timers_.begin(), timers_.upper_bound(to));
    for (std::int64_t i = 0; i < moved; ++i)
      timers_.insert(to);
  }

  void tick() {
    if (core_->shutting_down())
      return;
    core_->tick(now_);
    schedule(now_ + 500ms, [this] { tick(); });
  }

  // --- client actions -------------------------------------------------------------------------
  void client_action() {
    auto r = pick(0, 99);
    if (r < 70) {
      borrow(chance(50));
    } else if (r < 80) {
      kill_borrower();
    } else if (r < 83 && !core_->shutting_down()) {
      core_->prewarm(now_, static_cast<std::size_t>(pick(0, 8)));
    } else if (r < 86) {
      auth_broken_ = !auth_broken_ && chance(30);
    } else if (r < 88) {
      // A stale or foreign lease id: the core ignores it.
      core_->give_back(now_, static_cast<std::uint64_t>(pick(0, 1 << 24)));
    } else if (r < 90 && !alive_borrowers_.empty()) {
      // A borrower's guard passed: it gives up on what it asked (and lives on).
      auto i = alive_borrowers_.begin();
      std::advance(i, pick(0, static_cast<std::int64_t>(alive_borrowers_.size()) - 1));
      core_->borrower_gave_up(now_, *i);
    }
    perform_effects();
    check("client");
  }

  core_t::borrower_id new_borrower() {
    // A few borrowers make several requests: their death takes several things at once.
    if (!alive_borrowers_.empty() && chance(30)) {
      auto i = alive_borrowers_.begin();
      std::advance(i, pick(0, static_cast<std::int64_t>(alive_borrowers_.size()) - 1));
      return *i;
    }
    auto id = next_borrower_++;
    alive_borrowers_.insert(id);
    return id;
  }

  void borrow(bool statement) {
    auto who = new_borrower();
    auto answer =
        core_->borrow(now_, who, statement ? core_t::want::statement : core_t::want::lease);
    switch (answer.what) {
    case core_t::borrow_answer::kind::granted:
      if (!pending_.empty())
        fail("a borrow was granted at once while others wait");
      leased(answer.slot, answer.lease_id, who, statement);
      break;
    case core_t::borrow_answer::kind::queued: {
      if (waiters_.count(answer.waiter))
        fail("a waiter id was used twice");
      waiter_record w;
      w.since = now_;
      w.statement = statement;
      w.who = who;
      waiters_[answer.waiter] = w;
      pending_.insert(answer.waiter);
      break;
    }
    case core_t::borrow_answer::kind::refused:
      if (answer.code == core_t::refusal::too_many_waiters && core_->waiting() < cfg_.max_waiters)
        fail("refused as too many waiters below max_waiters");
      if (answer.code == core_t::refusal::too_many_waiters &&
          answer.text.find("max_waiters=") == std::string::npos)
        fail("too_many_waiters does not name the counts");
      break;
    }
  }

  void kill_borrower() {
    if (alive_borrowers_.empty())
      return;
    auto i = alive_borrowers_.begin();
    std::advance(i, pick(0, static_cast<std::int64_t>(alive_borrowers_.size()) - 1));
    auto who = *i;
    alive_borrowers_.erase(i);
    // The down message reaches the pool a moment later.
    schedule(now_ + us(pick(0, 500)), [this, who] { core_->borrower_down(now_, who); });
  }

  // A lease was handed out (at once or to a waiter).
  void leased(core_t::slot_id s, std::uint64_t lease_id, core_t::borrower_id who, bool statement) {
    if (core_t::slot_of(lease_id) != s)
      fail("lease id does not name its slot");
    auto& holder = holder_[s];
    if (holder != 0)
      fail("double lease on slot " + std::to_string(s) + ": " + std::to_string(holder) +
           " still live, new " + std::to_string(lease_id));
    holder = lease_id;
    auto* c = conn_of(s);
    if (!c || c->down)
      fail("a lease on a slot without a live connection");
    if (!c->has_session)
      fail("a lease on a connection without a server session");
    if (statement) {
      // Delegated: the statement goes to the connection, which releases the lease at its end.
      request(
          *c, statement_time(),
          [this, lease_id, cid = c->id](bool aborted) {
            auto& cc = conns_.at(cid);
            cc.running_statement = false;
            end_lease_here(cc.slot, lease_id);
            deliver(cid, [this, lease_id, aborted] {
              core_->released(now_, lease_id, aborted || chance(20));
            });
          },
          lease_id);
      return;
    }
    // A transaction: the borrower holds it, may dirty it, and gives it back (or dies).
    auto hold = ms(pick(0, 1500));
    schedule(now_ + hold, [this, lease_id, who] {
      if (!alive_borrowers_.count(who))
        return;
      if (chance(30))
        core_->dirty(now_, lease_id);
      core_->give_back(now_, lease_id);
    });
  }

  duration statement_time() {
    if (chance(hang_percent_))
      return ms(pick(1000, 20000));
    return us(pick(100, 30000));
  }
  duration op_time() {
    if (chance(hang_percent_))
      return ms(pick(1000, 20000));
    return us(pick(50, 5000));
  }

  void end_lease_here(core_t::slot_id s, std::uint64_t lease_id) {
    auto i = holder_.find(s);
    if (i != holder_.end() && i->second == lease_id)
      i->second = 0;
  }

  sim_conn* conn_of(core_t::slot_id s) {
    auto i = slot_conn_.find(s);
    if (i == slot_conn_.end())
      return nullptr;
    return &conns_.at(i->second);
  }

  // A reply of connection `cid` to the pool, dropped when that connection is gone from its
  // slot (the shell compares the actor handle the same way).
  void deliver(std::uint64_t cid, std::function<void()> f) {
    schedule(now_, [this, cid, f = std::move(f)] {
      auto& c = conns_.at(cid);
      auto i = slot_conn_.find(c.slot);
      if (i == slot_conn_.end() || i->second != cid)
        return;
      f();
    });
  }

  // --- the simulated connection actor ---------------------------------------------------------
  struct op {
    duration takes;
    std::function<void(bool aborted)> done; // runs at the end; false when dropped by a kill
    std::function<void()> dropped;
    std::uint64_t statement_lease = 0;
  };
  std::unordered_map<std::uint64_t, std::deque<op>> mailbox_;

  void request(sim_conn& c, duration takes, std::function<void(bool)> done,
               std::uint64_t statement_lease = 0, std::function<void()> dropped = {}) {
    mailbox_[c.id].push_back(op{takes, std::move(done), std::move(dropped), statement_lease});
    if (!c.busy)
      start_next(c.id);
  }

  void start_next(std::uint64_t cid) {
    auto& c = conns_.at(cid);
    auto& box = mailbox_[cid];
    if (c.down)
      return;
    if (c.kill_pending) {
      end_actor(cid);
      return;
    }
    if (box.empty()) {
      c.busy = false;
      return;
    }
    c.busy = true;
    auto op_id = ++next_op_;
    c.running_op = op_id;
    c.running_statement = box.front().statement_lease != 0;
    c.statement_lease = box.front().statement_lease;
    schedule(now_ + box.front().takes, [this, cid, op_id] { finish_op(cid, op_id, false); });
  }

  void finish_op(std::uint64_t cid, std::uint64_t op_id, bool aborted) {
    auto& c = conns_.at(cid);
    if (c.down || c.running_op != op_id)
      return; // finished early (aborted) already
    c.running_op = 0;
    auto o = std::move(mailbox_[cid].front());
    mailbox_[cid].pop_front();
    o.done(aborted);
    start_next(cid);
  }

  // The actor ends: its session ends with it, then its down message reaches the pool.
  void end_actor(std::uint64_t cid) {
    auto& c = conns_.at(cid);
    if (c.down)
      return;
    c.down = true;
    c.busy = false;
    if (c.running_statement)
      end_lease_here(c.slot, c.statement_lease);
    if (c.has_session) {
      c.has_session = false;
      --sessions_;
    }
    // Requests still queued get an error reply (CAF: the receiver is down).
    auto box = std::move(mailbox_[cid]);
    mailbox_.erase(cid);
    for (auto& o : box)
      if (o.dropped)
        o.dropped();
    schedule(now_ + us(pick(0, 300)), [this, cid] {
      auto& cc = conns_.at(cid);
      auto i = slot_conn_.find(cc.slot);
      if (i == slot_conn_.end() || i->second != cid)
        fail("down of a connection that is not its slot's");
      slot_conn_.erase(i);
      holder_[cc.slot] = 0; // a lease on a dead connection is over
      core_->connection_down(now_, cc.slot);
    });
  }

  void open(core_t::slot_id s) {
    if (slot_conn_.count(s))
      fail("open on a slot that still has a connection");
    if (core_->phase_of(s) != core_t::phase::opening)
      fail("open effect for a slot that is not opening");
    if (chance(2)) { // the backend factory failed: no actor at all
      core_->spawn_failed(now_, s, "factory failed");
      return;
    }
    auto cid = next_conn_++;
    sim_conn c;
    c.id = cid;
    c.slot = s;
    conns_[cid] = c;
    slot_conn_[s] = cid;
    request(
        conns_[cid], op_time(),
        [this, cid](bool) {
          auto& cc = conns_.at(cid);
          if (auth_broken_) {
            deliver(cid, [this, cid] {
              core_->open_failed(now_, conns_.at(cid).slot, core_t::open_failure::auth,
                                 "login rejected");
            });
          } else if (sessions_ >= server_limit_) {
            deliver(cid, [this, cid] {
              core_->open_failed(now_, conns_.at(cid).slot, core_t::open_failure::session_limit,
                                 "session limit reached");
            });
          } else if (chance(5)) {
            deliver(cid, [this, cid] {
              core_->open_failed(now_, conns_.at(cid).slot, core_t::open_failure::other,
                                 "connection refused");
            });
          } else {
            cc.has_session = true;
            ++sessions_;
            deliver(cid, [this, cid] { core_->opened(now_, conns_.at(cid).slot); });
          }
        },
        0,
        [this, cid] {
          deliver(cid, [this, cid] {
            core_->open_failed(now_, conns_.at(cid).slot, core_t::open_failure::other, "down");
          });
        });
  }

  void perform_effects() {
    while (!core_->effects().empty()) {
      std::vector<fx> batch;
      batch.swap(core_->effects());
      for (auto& e : batch)
        perform(e);
    }
  }

  void perform(fx& e) {
    switch (e.what) {
    case fx::kind::open:
      open(e.slot);
      break;
    case fx::kind::validate: {
      auto* c = live_conn(e.slot, "validate");
      auto cid = c->id;
      request(
          *c, op_time(),
          [this, cid](bool) {
            bool ok = conns_.at(cid).has_session && !chance(5);
            deliver(cid, [this, cid, ok] { core_->validated(now_, conns_.at(cid).slot, ok); });
          },
          0,
          [this, cid] {
            deliver(cid, [this, cid] { core_->validated(now_, conns_.at(cid).slot, false); });
          });
      break;
    }
    case fx::kind::reset: {
      auto* c = live_conn(e.slot, "reset");
      if (holder_[e.slot] != 0)
        fail("reset of a connection whose lease is live");
      auto cid = c->id;
      request(
          *c, op_time(),
          [this, cid](bool) {
            bool ok = !chance(5);
            deliver(cid, [this, cid, ok] { core_->reset_done(now_, conns_.at(cid).slot, ok); });
          },
          0,
          [this, cid] {
            deliver(cid, [this, cid] { core_->reset_done(now_, conns_.at(cid).slot, false); });
          });
      break;
    }
    case fx::kind::close: {
      auto* c = live_conn(e.slot, "close");
      auto cid = c->id;
      // Closing ends the session, then the actor; a hung close ends only when it returns.
      request(*c, op_time(), [this, cid](bool) { end_actor(cid); });
      break;
    }
    case fx::kind::kill: {
      auto* c = live_conn(e.slot, "kill");
      c->kill_pending = true;
      if (!c->busy)
        end_actor(c->id);
      break;
    }
    case fx::kind::abort: {
      auto* c = live_conn(e.slot, "abort");
      if (c->running_statement && c->running_op != 0) {
        auto cid = c->id, op_id = c->running_op;
        // abort_running: the statement fails soon (not always: some do not stop).
        if (!chance(10))
          schedule(now_ + us(pick(10, 2000)), [this, cid, op_id] { finish_op(cid, op_id, true); });
      }
      break;
    }
    case fx::kind::end_lease:
      live_conn(e.slot, "end_lease");
      // 0: the lease ended at the connection already (its released is on the way).
      if (holder_[e.slot] != e.lease_id && holder_[e.slot] != 0)
        fail("end_lease of a lease that is not the slot's live one");
      holder_[e.slot] = 0;
      break;
    case fx::kind::serve: {
      auto i = waiters_.find(e.waiter);
      if (i == waiters_.end() || i->second.answered)
        fail("served a waiter that does not wait: " + std::to_string(e.waiter));
      if (*pending_.begin() != e.waiter)
        fail("FIFO: waiter " + std::to_string(e.waiter) + " served before " +
             std::to_string(*pending_.begin()));
      answer(i->first, i->second);
      leased(e.slot, e.lease_id, i->second.who, i->second.statement);
      break;
    }
    case fx::kind::fail: {
      auto i = waiters_.find(e.waiter);
      if (i == waiters_.end() || i->second.answered)
        fail("failed a waiter that does not wait: " + std::to_string(e.waiter));
      if (e.code == core_t::refusal::acquire_timeout &&
          now_ < i->second.since + cfg_.acquire_timeout)
        fail("acquire timeout before the deadline");
      if (e.code == core_t::refusal::borrower_gone && alive_borrowers_.count(i->second.who))
        fail("waiter failed as gone while its borrower lives");
      answer(i->first, i->second);
      break;
    }
    case fx::kind::arm_timer:
      if (e.deadline < now_)
        fail("timer armed in the past");
      schedule(e.deadline, [this] { core_->timer(now_); });
      timers_.insert(e.deadline);
      break;
    case fx::kind::prewarm_done:
      if (e.opened > e.requested)
        fail("prewarm reports more opened than requested");
      break;
    case fx::kind::shutdown_done:
      if (shutdown_answered_)
        fail("shutdown answered twice");
      shutdown_answered_ = true;
      shutdown_answered_at_ = now_;
      if (e.ok && core_->total() != 0)
        fail("shutdown answered ok with connections not down");
      break;
    case fx::kind::log:
      check_log(e);
      break;
    }
  }

  sim_conn* live_conn(core_t::slot_id s, const char* what) {
    auto* c = conn_of(s);
    if (!c || c->down)
      fail(std::string(what) + " effect for a slot without a live connection");
    return c;
  }

  void answer(std::uint64_t id, waiter_record& w) {
    if (!jumped_ && now_ > w.since + cfg_.acquire_timeout)
      fail("waiter " + std::to_string(id) + " answered after its acquire deadline");
    w.answered = true;
    pending_.erase(id);
  }

  // --- invariants, after every step -----------------------------------------------------------
  void check(const char*) {
    // Bounds the run (and its memory): a sequence takes about a thousand steps.
    if (++steps_ > 200000 || queue_.size() > 20000)
      fail("runaway: an event loop that never settles");
    if (sessions_ > cfg_.max_size)
      fail("server holds " + std::to_string(sessions_) + " sessions, max_size " +
           std::to_string(cfg_.max_size));
    std::size_t actors = 0;
    for (auto& [slot, cid] : slot_conn_) {
      ++actors;
      if (core_->phase_of(slot) == core_t::phase::free)
        fail("connection " + std::to_string(cid) + " is not owned by its slot (lost)");
    }
    if (actors != core_->total())
      fail("core total " + std::to_string(core_->total()) + " but " + std::to_string(actors) +
           " connection actors not down");
    if (core_->total() > cfg_.max_size)
      fail("core total above max_size");
    if (core_->waiting() != pending_.size())
      fail("core waits for " + std::to_string(core_->waiting()) + ", clients for " +
           std::to_string(pending_.size()));
    if (core_->waiting() > cfg_.max_waiters)
      fail("more waiters than max_waiters");
    // A timer covers the oldest waiter's deadline.
    while (!timers_.empty() && *timers_.begin() < now_)
      timers_.erase(timers_.begin());
    if (!pending_.empty()) {
      auto deadline = waiters_.at(*pending_.begin()).since + cfg_.acquire_timeout;
      if (timers_.empty() || *timers_.begin() > std::max(deadline, now_))
        fail("no timer armed by the oldest waiter's deadline");
    }
  }

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  // Repeated events of one kind are logged at most once per log_interval (the log must not
  // flood during an outage); a leak is logged once per lease, naming its borrower.
  void check_log(const fx& e) {
    if (e.text.empty())
      fail("empty log line");
    for (auto [prefix, last] : {std::pair{"cannot open a connection", &last_connect_log_},
                                std::pair{"a borrow timed out", &last_timeout_log_}}) {
      if (e.text.rfind(prefix, 0) != 0)
        continue;
      if (*last != time_point{} && now_ - *last < cfg_.log_interval)
        fail(std::string("'") + prefix + "' logged twice within log_interval");
      *last = now_;
    }
    if (e.text.rfind("a lease has been held", 0) == 0) {
      if (e.borrower == 0)
        fail("a leak line names no borrower");
      if (cfg_.leak_threshold.count() == 0)
        fail("a leak logged without a threshold");
    }
  }

  core_t::config cfg_;
  std::unique_ptr<core_t> core_;
  time_point last_connect_log_{}, last_timeout_log_{};
  time_point start_ = time_point{} + std::chrono::hours(1);
  time_point now_ = start_;
  std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t steps_ = 0;

  std::map<std::uint64_t, sim_conn> conns_;
  std::unordered_map<core_t::slot_id, std::uint64_t> slot_conn_;
  std::unordered_map<core_t::slot_id, std::uint64_t> holder_; // live lease per slot
  std::uint64_t next_conn_ = 1, next_op_ = 0;
  std::size_t sessions_ = 0;
  std::size_t server_limit_ = 1000;
  int hang_percent_ = 0;
  bool auth_broken_ = false;
  bool jumps_ = false, jumped_ = false;

  std::map<std::uint64_t, waiter_record> waiters_;
  std::set<std::uint64_t> pending_;
  std::set<core_t::borrower_id> alive_borrowers_;
  core_t::borrower_id next_borrower_ = 1;
  std::multiset<time_point> timers_;
  bool shutdown_answered_ = false;
  time_point shutdown_answered_at_{};
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text)
    return fallback;
  return std::strtoull(text, nullptr, 10);
}

} // namespace

TEST_CASE("pool core: random event sequences keep the server-side invariants",
          "[pool][pool_core][property]") {
  auto replay = env_number("EXAPOOL_PROPERTY_SEED", 0);
  auto sequences = replay ? 1 : env_number("EXAPOOL_PROPERTY_SEQUENCES", 2000);
  std::uint64_t first = replay ? replay : 1;
  std::uint64_t steps = 0;
  auto started = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < sequences; ++i) {
    auto seed = first + i;
    simulation sim(seed);
    try {
      sim.run(400);
    } catch (const violation& v) {
      FAIL(v.what() << "\nreplay: EXAPOOL_PROPERTY_SEED=" << seed);
    } catch (const std::logic_error& e) {
      FAIL("seed=" << seed << ": " << e.what() << "\nreplay: EXAPOOL_PROPERTY_SEED=" << seed);
    }
    steps += sim.steps();
  }
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "pool core property: " << sequences << " sequences, " << steps << " steps in "
            << took << " s (" << static_cast<std::uint64_t>(static_cast<double>(sequences) / took)
            << " sequences/s)\n";
  CHECK(steps > sequences * 400);
}

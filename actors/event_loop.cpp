// The event-loop scheduler: every resumable (an actor with mail) is a handler posted to the
// io_context of exasol::io_threads. A post from a loop thread lands in Asio's thread-private
// queue, so an actor that messages another actor or starts a socket operation wakes nobody;
// only a message from outside the loop (a scoped_actor, another process) signals the loop.
#include "actors/event_loop.hpp"

#include "integration/exasol/io_threads.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/simple_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <optional>

namespace exapool {
namespace {

namespace net = boost::asio;
using clock_base = caf::detail::simple_actor_clock;

const caf::atom_value event_loop_policy = caf::atom("event_loop");

// CAF's simple clock, dispatched by one steady_timer on the loop. Every operation runs on the
// timer's strand, posted, never inline: dropping an event may drop the last reference to an
// actor, whose destructor cancels its timeouts, and a posted cancel cannot re-enter the map
// under change (CAF's own clock defers to its thread for the same reason). From a loop thread
// a post wakes nobody. The timer is re-armed only when a new deadline is earlier than the
// armed one: request timeouts are set and cancelled for nearly every message and almost all
// lie after the armed one, so they cost a map insert and erase, no system call. A cancelled
// earliest entry costs at most one early expiry, which re-arms for the next.
class loop_clock final : public clock_base {
public:
  void bind(net::any_io_executor ex) {
    strand_.emplace(net::make_strand(ex));
    timer_.emplace(*strand_);
  }
  // After the loop's threads joined: nothing fires any more, pending events are dropped, and
  // calls made while they drop (actors ending) are ignored.
  void unbind() {
    unbound_.store(true, std::memory_order_release);
    clock_base::cancel_all();
    timer_.reset();
  }

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    on_strand([this, t, p = strong(self), type, id] {
      clock_base::set_ordinary_timeout(t, raw(p), type, id);
      arm_if_earlier();
    });
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    on_strand([this, t, p = strong(self), id] {
      clock_base::set_request_timeout(t, raw(p), id);
      arm_if_earlier();
    });
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    on_strand([this, t, p = strong(self), type, id] {
      clock_base::set_multi_timeout(t, raw(p), type, id);
      arm_if_earlier();
    });
  }
  // Cancellations name the actor by id: its destructor may be the caller.
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    on_strand([this, aid = self->id(), type] { handle(ordinary_timeout_cancellation{aid, type}); });
  }
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    on_strand([this, aid = self->id(), id] { handle(request_timeout_cancellation{aid, id}); });
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    on_strand([this, aid = self->id()] { handle(timeouts_cancellation{aid}); });
  }
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    on_strand([this, t, r = std::move(receiver), c = std::move(content)]() mutable {
      clock_base::schedule_message(t, std::move(r), std::move(c));
      arm_if_earlier();
    });
  }
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    on_strand(
        [this, t, g = std::move(target), s = std::move(sender), c = std::move(content)]() mutable {
          clock_base::schedule_message(t, std::move(g), std::move(s), std::move(c));
          arm_if_earlier();
        });
  }
  void cancel_all() override {
    on_strand([this] { clock_base::cancel_all(); });
  }

private:
  static caf::strong_actor_ptr strong(caf::abstract_actor* self) {
    return caf::strong_actor_ptr{self->ctrl()};
  }
  static caf::abstract_actor* raw(const caf::strong_actor_ptr& p) {
    return caf::actor_cast<caf::abstract_actor*>(p);
  }

  template <class F> void on_strand(F&& f) {
    if (!unbound_.load(std::memory_order_acquire))
      net::post(*strand_, std::forward<F>(f));
  }

  // On the strand, as everything below.
  void arm_if_earlier() {
    if (schedule().empty())
      return;
    auto earliest = schedule().begin()->first;
    if (armed_ && *armed_ <= earliest)
      return;
    arm(earliest);
  }

  void arm(time_point at) {
    armed_ = at;
    timer_->expires_at(at); // cancels the wait for a later deadline, if any
    timer_->async_wait([this, at](boost::system::error_code ec) {
      if (!ec && armed_ == at)
        on_expiry();
    });
  }

  // Ships what is due, then arms for the next deadline, if any.
  void on_expiry() {
    trigger_expired_timeouts();
    armed_.reset();
    arm_if_earlier();
  }

  std::atomic<bool> unbound_{false};
  std::optional<time_point> armed_; // the deadline the timer waits for, if it waits
  std::optional<net::strand<net::any_io_executor>> strand_;
  std::optional<net::steady_timer> timer_;
};

class event_loop_scheduler;

// The execution unit of every loop thread: an actor's exec_later (a message from a running
// actor) posts like any other enqueue; from a loop thread that needs no wake-up.
class loop_unit final : public caf::execution_unit {
public:
  loop_unit(caf::actor_system* sys, event_loop_scheduler* sched)
      : caf::execution_unit(sys), sched_(sched) {}
  void exec_later(caf::resumable* job) override;

private:
  event_loop_scheduler* sched_;
};

class event_loop_scheduler final : public caf::scheduler::abstract_coordinator {
public:
  explicit event_loop_scheduler(caf::actor_system& sys)
      : abstract_coordinator(sys), unit_(&sys, this) {}

  exasol::io_threads& loop() { return *loop_; }

  void enqueue(caf::resumable* job) override {
    if (stopped_.load(std::memory_order_acquire)) {
      cleanup_and_release(job); // as CAF's schedulers treat jobs left at shutdown
      return;
    }
    net::post(loop_->executor(), job_handler{this, job});
  }

  loop_clock& clock() noexcept override { return clock_; }

  void start() override {
    loop_ = std::make_unique<exasol::io_threads>(num_workers());
    clock_.bind(loop_->executor());
    abstract_coordinator::start(); // the printer, on a thread of its own (detached)
  }

  // The actor system calls this after every actor is done: the jobs still queued run first
  // (the system's own hidden actors get their exit messages just before), then the loop stops
  // and what is left is cleaned up as CAF's own schedulers do.
  void stop() override {
    stop_actors();
    std::promise<void> drained;
    net::post(loop_->executor(), [&drained] { drained.set_value(); });
    drained.get_future().wait();
    stopped_.store(true, std::memory_order_release);
    loop_->stop_and_join();
    clock_.unbind();
    loop_.reset(); // destroys the handlers still queued: their jobs are cleaned up
  }

private:
  // A queued job; destroyed unrun (the loop stopped), it cleans its actor up.
  struct job_handler {
    event_loop_scheduler* sched;
    caf::resumable* job;
    job_handler(event_loop_scheduler* s, caf::resumable* j) : sched(s), job(j) {}
    job_handler(job_handler&& other) noexcept
        : sched(other.sched), job(std::exchange(other.job, nullptr)) {}
    job_handler& operator=(job_handler&&) = delete;
    ~job_handler() {
      if (job)
        cleanup_and_release(job);
    }
    void operator()() { sched->run(std::exchange(job, nullptr)); }
  };

  void run(caf::resumable* job) {
    switch (job->resume(&unit_, max_throughput())) {
    case caf::resumable::resume_later:
      enqueue(job); // more mail than one turn allows: to the back of the queue
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
    case caf::resumable::shutdown_execution_unit:
      intrusive_ptr_release(job);
      break;
    }
  }

  loop_unit unit_;
  loop_clock clock_;
  std::unique_ptr<exasol::io_threads> loop_;
  std::atomic<bool> stopped_{false};
};

void loop_unit::exec_later(caf::resumable* job) {
  sched_->enqueue(job);
}

caf::actor_system::module* make_scheduler(caf::actor_system& sys) {
  auto policy = caf::get_or(sys.config(), "scheduler.policy", event_loop_policy);
  if (policy == caf::atom("stealing"))
    return new caf::scheduler::coordinator<caf::policy::work_stealing>(sys);
  if (policy == caf::atom("sharing"))
    return new caf::scheduler::coordinator<caf::policy::work_sharing>(sys);
  return new event_loop_scheduler(sys);
}

} // namespace

void load_event_loop(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", event_loop_policy);
  cfg.module_factories.push_back(&make_scheduler);
}

exasol::io_threads* event_loop_of(caf::actor_system& sys) {
  auto* loop = dynamic_cast<event_loop_scheduler*>(&sys.scheduler());
  return loop ? &loop->loop() : nullptr;
}

} // namespace exapool

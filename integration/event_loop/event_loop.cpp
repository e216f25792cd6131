// The event-loop scheduler: every resumable (an actor with mail) runs in a handler on the
// io_context of exasol::io_threads, in batches (see batch). An actor that messages another
// actor or starts a socket operation wakes nobody; only a message from outside the loop (a
// scoped_actor, another process) signals the loop.
#include "integration/event_loop/event_loop.hpp"

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
#include <boost/container/small_vector.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace exapool {
namespace {

namespace net = boost::asio;
using clock_base = caf::detail::simple_actor_clock;
using time_point = clock_base::time_point;

const caf::atom_value event_loop_policy = caf::atom("event_loop");

// The jobs a loop thread runs in one go: those that running jobs enqueue (an actor messaging
// another) join the batch instead of becoming Asio handlers of their own, because Asio polls
// the sockets (epoll_wait) between every two generations of handlers: a statement's chain of
// hops as separate handlers cost 8 to 9 epoll_wait calls per statement against a raw
// connection's 4 (strace -c of end_to_end_bench, 1 session).
struct batch {
  const void* owner;
  boost::container::small_vector<caf::resumable*, 32> jobs;
  std::size_t next = 0;
};
thread_local batch* current_batch = nullptr;

bool in_batch_of(const void* owner) {
  return current_batch != nullptr && current_batch->owner == owner;
}

// One call of the actor clock's interface, as plain data, queued until applied.
struct clock_op {
  enum kind_t {
    ordinary,
    multi,
    request,
    cancel_ordinary,
    cancel_request,
    cancel_actor,
    message,
    group_message,
    cancel_everything
  };
  explicit clock_op(kind_t k) : kind(k) {}
  kind_t kind;
  time_point t{};
  caf::strong_actor_ptr actor; // the timeout's owner, the message's receiver or sender
  caf::actor_id aid = 0;       // cancellations name the actor by id: its destructor may call
  caf::atom_value type{};
  std::uint64_t id = 0;
  caf::message_id mid;
  caf::mailbox_element_ptr content;
  caf::group target;
  caf::message msg;
};

// CAF's simple clock, dispatched by one steady_timer on the loop. Calls are queued and applied
// later, never inline: dropping an event may drop the last reference to an actor, whose
// destructor cancels its timeouts, and a queued cancel cannot re-enter the map under change
// (CAF's own clock defers to its thread for the same reason). A loop thread's batch applies
// what it queued when it ends; a call from elsewhere posts one apply per burst. The timer is
// re-armed only when a new deadline is earlier than the armed one: request timeouts are set and
// cancelled for nearly every message and almost all lie after the armed one, so they cost a map
// insert and erase, no system call. A cancelled earliest entry costs at most one early expiry,
// which re-arms for the next.
class loop_clock final : public clock_base {
public:
  void bind(net::any_io_executor ex, const void* owner) {
    ex_ = ex;
    owner_ = owner;
    timer_.emplace(ex);
  }
  // After the loop's threads joined: nothing fires any more, pending events are dropped, and
  // calls made while they drop (actors ending) are ignored.
  void unbind() {
    std::vector<clock_op> dropped;
    {
      std::lock_guard<std::mutex> guard{ops_mtx_};
      unbound_ = true;
      dropped.swap(pending_);
    }
    dropped.clear();
    std::lock_guard<std::mutex> guard{state_mtx_};
    clock_base::cancel_all();
    timer_.reset();
  }

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            std::uint64_t id) override {
    clock_op op{clock_op::ordinary};
    op.t = t, op.actor = strong(self), op.type = type, op.id = id;
    push(std::move(op));
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    clock_op op{clock_op::request};
    op.t = t, op.actor = strong(self), op.mid = id;
    push(std::move(op));
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         std::uint64_t id) override {
    clock_op op{clock_op::multi};
    op.t = t, op.actor = strong(self), op.type = type, op.id = id;
    push(std::move(op));
  }
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    clock_op op{clock_op::cancel_ordinary};
    op.aid = self->id(), op.type = type;
    push(std::move(op));
  }
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    clock_op op{clock_op::cancel_request};
    op.aid = self->id(), op.mid = id;
    push(std::move(op));
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    clock_op op{clock_op::cancel_actor};
    op.aid = self->id();
    push(std::move(op));
  }
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    clock_op op{clock_op::message};
    op.t = t, op.actor = std::move(receiver), op.content = std::move(content);
    push(std::move(op));
  }
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    clock_op op{clock_op::group_message};
    op.t = t, op.target = std::move(target), op.actor = std::move(sender);
    op.msg = std::move(content);
    push(std::move(op));
  }
  void cancel_all() override { push(clock_op{clock_op::cancel_everything}); }

  bool has_pending() const { return has_pending_.load(std::memory_order_acquire); }

  // Applies the queued calls, and those their side effects queue, then re-arms the timer.
  void flush() {
    std::lock_guard<std::mutex> state{state_mtx_};
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{ops_mtx_};
        if (pending_.empty()) {
          apply_posted_ = false;
          has_pending_.store(false, std::memory_order_release);
          break;
        }
        applying_.swap(pending_);
      }
      for (auto& op : applying_)
        apply(op);
      applying_.clear(); // may end actors: their cancellations queue (ops_mtx_ only)
    }
    arm_if_earlier();
  }

private:
  static caf::strong_actor_ptr strong(caf::abstract_actor* self) {
    return caf::strong_actor_ptr{self->ctrl()};
  }

  // Checks unbound_ and posts under the lock unbind() takes: the scheduler destroys the loop
  // right after unbind(), and a detached actor may still call in then (CAF unregisters an
  // actor before it cancels its timeouts). An op refused here is destroyed after the lock is
  // released (a parameter outlives the function's locals): it may end an actor that calls in.
  void push(clock_op op) {
    std::lock_guard<std::mutex> guard{ops_mtx_};
    if (unbound_)
      return;
    pending_.push_back(std::move(op));
    has_pending_.store(true, std::memory_order_release);
    if (!apply_posted_ && !in_batch_of(owner_)) {
      apply_posted_ = true;
      net::post(ex_, [this] { flush(); }); // never runs inline, so the lock is not re-entered
    }
  }

  // With state_mtx_ held, as everything below.
  void apply(clock_op& op) {
    // The owner of a timeout being set (cancellations and group messages carry none, and
    // actor_cast must not see a null pointer).
    auto self = op.actor ? caf::actor_cast<caf::abstract_actor*>(op.actor) : nullptr;
    switch (op.kind) {
    case clock_op::ordinary:
      return clock_base::set_ordinary_timeout(op.t, self, op.type, op.id);
    case clock_op::multi:
      return clock_base::set_multi_timeout(op.t, self, op.type, op.id);
    case clock_op::request:
      return clock_base::set_request_timeout(op.t, self, op.mid);
    case clock_op::cancel_ordinary:
      return handle(ordinary_timeout_cancellation{op.aid, op.type});
    case clock_op::cancel_request:
      return handle(request_timeout_cancellation{op.aid, op.mid});
    case clock_op::cancel_actor:
      return handle(timeouts_cancellation{op.aid});
    case clock_op::message:
      return clock_base::schedule_message(op.t, std::move(op.actor), std::move(op.content));
    case clock_op::group_message:
      return clock_base::schedule_message(op.t, std::move(op.target), std::move(op.actor),
                                          std::move(op.msg));
    case clock_op::cancel_everything:
      return clock_base::cancel_all();
    }
  }

  void arm_if_earlier() {
    if (!timer_ || schedule().empty())
      return;
    auto earliest = schedule().begin()->first;
    if (armed_ && *armed_ <= earliest)
      return;
    armed_ = earliest;
    timer_->expires_at(earliest); // cancels the wait for a later deadline, if any
    timer_->async_wait([this, earliest](boost::system::error_code ec) {
      if (!ec)
        on_expiry(earliest);
    });
  }

  // Ships what is due, then arms for the next deadline, if any.
  void on_expiry(time_point armed_at) {
    std::lock_guard<std::mutex> state{state_mtx_};
    if (armed_ != armed_at)
      return; // re-armed for an earlier deadline after this expiry was queued
    trigger_expired_timeouts();
    armed_.reset();
    arm_if_earlier();
  }

  net::any_io_executor ex_;
  const void* owner_ = nullptr;
  std::mutex ops_mtx_; // unbound_, pending_, apply_posted_
  bool unbound_ = false;
  std::vector<clock_op> pending_;
  bool apply_posted_ = false;
  std::atomic<bool> has_pending_{false};
  std::mutex state_mtx_; // the clock's maps, applying_, armed_, timer_
  std::vector<clock_op> applying_;
  std::optional<time_point> armed_; // the deadline the timer waits for, if it waits
  std::optional<net::steady_timer> timer_;
};

class event_loop_scheduler;

// The execution unit of every loop thread: an actor's exec_later (a message from a running
// actor) joins the running batch like any other enqueue.
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
    if (in_batch_of(this))
      current_batch->jobs.push_back(job);
    else
      post_from_outside(job);
  }

  loop_clock& clock() noexcept override { return clock_; }

  void start() override {
    loop_ = std::make_unique<exasol::io_threads>(num_workers());
    clock_.bind(loop_->executor(), this);
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
    stopped_.store(true); // sequentially consistent: see post_from_outside
    loop_->stop_and_join();
    clock_.unbind();
    while (posting_.load() != 0)
      std::this_thread::yield();
    loop_.reset(); // destroys the handlers still queued: their jobs are cleaned up
  }

private:
  // A thread outside the loop (a detached actor, a caller) may enqueue while stop() runs: CAF
  // counts an actor as done before its cleanup ends. posting_ covers the stopped_ check and the
  // post, and stop() waits for it to drop to 0 before it destroys the loop; both sides store,
  // then load (sequentially consistent), so either the job sees stopped_ or stop() sees it.
  void post_from_outside(caf::resumable* job) {
    posting_.fetch_add(1);
    if (stopped_.load()) {
      posting_.fetch_sub(1);
      cleanup_and_release(job);
      return;
    }
    net::post(loop_->executor(), job_handler{this, job});
    posting_.fetch_sub(1);
  }

  // A chain of messages that never ends must not keep the sockets waiting: after this many
  // jobs the rest of a batch goes back to Asio's queue.
  static constexpr std::size_t max_batch = 64;

  using job_list = boost::container::small_vector<caf::resumable*, 32>;

  // Queued jobs: one from outside a batch, or what a batch left over. Destroyed unrun (the loop
  // stopped), it cleans their actors up.
  struct job_handler {
    event_loop_scheduler* sched;
    job_list jobs;
    job_handler(event_loop_scheduler* s, caf::resumable* job) : sched(s), jobs{job} {}
    job_handler(event_loop_scheduler* s, job_list left) : sched(s), jobs(std::move(left)) {}
    job_handler(job_handler&& other) noexcept
        : sched(other.sched), jobs(std::exchange(other.jobs, {})) {}
    job_handler& operator=(job_handler&&) = delete;
    ~job_handler() {
      for (auto* job : jobs)
        cleanup_and_release(job);
    }
    void operator()() { sched->run_batch(std::exchange(jobs, {})); }
  };

  void run_batch(job_list jobs) {
    batch b{this, std::move(jobs)};
    auto* outer = std::exchange(current_batch, &b);
    while (b.next < b.jobs.size() && b.next < max_batch)
      run(b.jobs[b.next++]);
    current_batch = outer;
    if (b.next < b.jobs.size()) // the rest after the sockets' turn, as one handler
      net::post(loop_->executor(),
                job_handler{this, job_list(b.jobs.begin() + b.next, b.jobs.end())});
    if (clock_.has_pending())
      clock_.flush();
  }

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
  std::atomic<int> posting_{0}; // threads in post_from_outside
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

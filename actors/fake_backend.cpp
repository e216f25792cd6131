#include "actors/fake_backend.hpp"

#include "integration/exasol/errors.hpp"
#include "integration/exasol/io_threads.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

namespace exapool {

namespace {

namespace net = boost::asio;

// The milliseconds of a "sleep <ms>" statement; nullopt for any other SQL.
std::optional<std::chrono::milliseconds> sleep_of(std::string_view sql) {
  constexpr std::string_view word = "sleep ";
  if (sql.substr(0, word.size()) != word)
    return std::nullopt;
  auto digits = sql.substr(word.size());
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (ec != std::errc{} || end != digits.data() + digits.size() || ms < 0)
    return std::nullopt;
  return std::chrono::milliseconds(ms);
}

std::exception_ptr aborted_by_abort_query() {
  return std::make_exception_ptr(
      exasol::error(exasol::error_kind::server, "Execution aborted by abortQuery (fake)", "R0003"));
}

std::exception_ptr closed_by_the_client() {
  return std::make_exception_ptr(
      exasol::error(exasol::error_kind::reset, "connection closed by the client (fake)"));
}

// What a fake session is, shared by the backend and the handlers of its timers.
//
// Threads: a call without a delay runs and completes inline, on the caller's thread (the
// connection actor's). A call with a delay (the script's block_for, a "sleep") arms a
// steady_timer on the process's shared I/O thread and returns; the timer's handler does the
// rest of the call and completes it there. abort_running() comes from any thread at any time,
// start_close() may come while a timer runs, and the backend may be destroyed while one runs.
// So every field below is guarded by `m`, locked by each of them for its state changes (a
// delayed call makes all of its changes in its completion path, under the lock), and the
// completion (`done`) is always called with `m` unlocked. A timer's handler holds a shared_ptr
// to the core, never the backend. Only one call runs at a time (the actor's rule), except
// start_close, so at most one call's timer is armed, and beside it at most one close timer
// (close_delay).
class core : public std::enable_shared_from_this<core> {
public:
  explicit core(fake_script script) : script_(std::move(script)) {}

  // A statement job: the SQL texts of execute (one) or run (execute, batch), run as script
  // words one after another; a "sleep" among them suspends it on a timer.
  struct job {
    std::vector<std::string> sql;
    std::size_t next = 0;
    bool proxied = false; // run(): statements count for transactions and session changes
    proxy_outcome out;    // results (execute uses only these), handle, change
    // Ends the job with `m` locked; returns what to call once it is unlocked.
    std::function<std::function<void()>(std::exception_ptr, job&)> finish;
  };
  using completion = std::function<void()>;

  // Runs `then` after the script's block_for: at once, on the caller's thread, when there is
  // none; else from a timer's handler on the I/O thread. The delay is not aborted by
  // abort_running() (an abort then waits for the next "sleep", as the rule says); a close
  // cuts it short.
  void after_pause(completion then) {
    if (script_.block_for.count() == 0) {
      then();
      return;
    }
    std::lock_guard<std::mutex> lock(m);
    arm(script_.block_for, false, std::move(then));
  }

  // Starts a job (`m` locked) after the pause: execute and run check the session first.
  // Returns the completion when the job ended, or nothing when a sleep's timer now runs.
  completion start_job(const std::shared_ptr<job>& j) {
    timer_.reset(); // the pause's timer, if any, has fired
    try {
      check_alive();
    } catch (...) {
      return end(j, std::current_exception());
    }
    return advance(j);
  }

  // Runs the job's statements from j->next on (`m` locked).
  completion advance(const std::shared_ptr<job>& j) {
    try {
      while (j->next < j->sql.size()) {
        const std::string& sql = j->sql[j->next++];
        if (j->proxied) {
          j->out.change = std::max(j->out.change, session_change_of(sql));
          count_statement(sql);
        }
        if (auto span = sleep_of(sql)) {
          ++executes_;
          if (std::exchange(abort_pending_, false))
            return end(j, aborted_by_abort_query());
          if (span->count() > 0) {
            arm(*span, true, [self = shared_from_this(), j] {
              completion complete;
              {
                std::lock_guard<std::mutex> lock(self->m);
                complete = self->after_sleep(j);
              }
              if (complete)
                complete();
            });
            return {};
          }
          j->out.results.push_back(exasol::result{});
          continue;
        }
        j->out.results.push_back(statement(sql));
      }
    } catch (...) {
      return end(j, std::current_exception());
    }
    return end(j, nullptr);
  }

  // A sleep's timer fired, was aborted, or its session closed (`m` locked).
  completion after_sleep(const std::shared_ptr<job>& j) {
    timer_.reset();
    if (closed_)
      return end(j, closed_by_the_client());
    if (std::exchange(sleep_aborted_, false))
      return end(j, aborted_by_abort_query());
    j->out.results.push_back(exasol::result{});
    return advance(j);
  }

  // A statement job ended: an abort that arrived meanwhile and found no sleep is forgotten.
  completion end(const std::shared_ptr<job>& j, std::exception_ptr failure) {
    abort_pending_ = false;
    return j->finish(failure, *j);
  }

  void abort_running() noexcept {
    std::lock_guard<std::mutex> lock(m);
    if (timer_ && timer_abortable_) {
      sleep_aborted_ = true;
      timer_->cancel();
    } else {
      abort_pending_ = true; // for the next "sleep", unless another statement ends first
    }
  }

  // Starts a close: a call still waiting on a timer is cut short (it completes soon after,
  // failed) and nothing opens any more. An open session ends after the script's close_delay
  // (from a timer on the I/O thread), else at once; then `done` runs (when it is set). A close
  // while one is pending completes with it.
  void start_close(completion done) {
    {
      std::lock_guard<std::mutex> lock(m);
      closed_ = true;
      if (timer_)
        timer_->cancel();
      if (close_pending_ || (open_ && script_.close_delay.count() > 0)) {
        if (done)
          closing_.push_back(std::move(done));
        if (!close_pending_)
          arm_close();
        return;
      }
      end_session();
    }
    if (done)
      done();
  }

  // --- the calls, each with `m` locked, after the pause ---

  std::uint64_t open() {
    timer_.reset();
    if (script_.fail_open) {
      if (script_.session_limit)
        throw exasol::error(exasol::error_kind::auth,
                            "Connection exception - session limit reached (fake)", "08004");
      if (script_.auth_failure)
        throw exasol::error(exasol::error_kind::auth, "login rejected: invalid credentials",
                            "08004");
      throw exasol::error(exasol::error_kind::refused, "connection refused (fake server down)");
    }
    if (closed_)
      throw exasol::error(exasol::error_kind::refused, "connection closed by the client (fake)");
    open_ = true;
    held_token_ = script_.open_token.lock();
    return 1000 + script_.number;
  }

  bool begin() {
    timer_.reset();
    if (closed_)
      throw closing_error();
    if (!open_ || killed_)
      throw exasol::error(exasol::error_kind::reset, "connection closed by the server");
    dirty_ = true;
    return true;
  }

  bool validate() {
    timer_.reset();
    return open_ && !closed_ && !killed_ && !script_.fail_validate;
  }

  bool reset() {
    timer_.reset();
    if (!open_ || closed_ || killed_ || unresettable_ || script_.fail_reset)
      return false;
    dirty_ = false;
    transaction_open_ = false;
    prepared_.clear();
    attrs_ = baseline();
    ++resets_;
    return true;
  }

  // run()'s part before its statements: the wanted attributes that differ (one counted
  // setAttributes), then the request; statements of execute and batch run as a job.
  completion start_run(const std::shared_ptr<job>& j, const proxy_request& request) {
    timer_.reset();
    try {
      check_alive();
    } catch (...) {
      return end(j, std::current_exception());
    }
    exasol::attributes diff;
    for (const auto& [name, wanted] : request.wanted)
      if (attrs_.count(name) > 0 && !(attrs_[name] == wanted))
        diff[name] = wanted;
    if (!diff.empty()) {
      ++attribute_sets_;
      for (auto& [name, wanted] : diff)
        attrs_[name] = wanted;
    }
    using kind = proxy_request::kind;
    if (request.type == kind::execute || request.type == kind::batch) {
      j->sql = request.sql;
      j->proxied = true;
      return advance(j);
    }
    try {
      perform(request, j->out);
    } catch (...) {
      return end(j, std::current_exception());
    }
    return end(j, nullptr);
  }

  // What run() answers after its statements (`m` locked).
  void finish_outcome(proxy_outcome& out) const {
    out.after = attrs_;
    out.transaction_open = transaction_open_;
    out.open_prepared = prepared_.size();
  }

  bool is_dirty() const {
    std::lock_guard<std::mutex> lock(m);
    return dirty_locked();
  }

  bool is_open() const {
    std::lock_guard<std::mutex> lock(m);
    return open_ && !broken_;
  }

  mutable std::mutex m;

private:
  // Arms the one timer (`m` locked): `then` runs on the I/O thread when it fired or was
  // cancelled (by abort_running() when abortable, or by close()).
  void arm(std::chrono::milliseconds span, bool abortable, completion then) {
    auto timer = std::make_shared<net::steady_timer>(exasol::shared_io_threads().executor(), span);
    timer_ = timer;
    timer_abortable_ = abortable;
    sleep_aborted_ = false;
    // The handler keeps the timer alive until it ran; core state only through `then`.
    timer->async_wait(
        [timer, then = std::move(then)](const boost::system::error_code&) { then(); });
  }

  void check_alive() {
    if (closed_) // a close cut this call short; the session may still end later (close_delay)
      throw closing_error();
    if (!open_ || killed_) {
      broken_ = true;
      held_token_.reset();
      throw exasol::error(exasol::error_kind::reset, "connection closed by the server");
    }
  }

  static exasol::error closing_error() {
    return exasol::error(exasol::error_kind::reset, "connection closed by the client (fake)");
  }

  // Arms the close timer (`m` locked): when it fires the session ends and every close waiting
  // for it completes. The handler holds the timer and the core, so a backend destroyed
  // meanwhile leaves the session to end on time.
  void arm_close() {
    close_pending_ = true;
    auto timer = std::make_shared<net::steady_timer>(exasol::shared_io_threads().executor(),
                                                     script_.close_delay);
    timer->async_wait([timer, self = shared_from_this()](const boost::system::error_code&) {
      std::vector<completion> waiting;
      {
        std::lock_guard<std::mutex> lock(self->m);
        self->end_session();
        self->close_pending_ = false;
        waiting = std::move(self->closing_);
        self->closing_.clear();
      }
      for (auto& done : waiting)
        done();
    });
  }

  // The server no longer holds the session.
  void end_session() {
    open_ = false;
    held_token_.reset();
  }

  bool dirty_locked() const {
    return dirty_ || transaction_open_ || !prepared_.empty() || attrs_ != baseline();
  }

  bool autocommit() const {
    auto i = attrs_.find("autocommit");
    return i == attrs_.end() || !std::holds_alternative<bool>(i->second) ||
           std::get<bool>(i->second);
  }

  // A statement ran: with autocommit off a transaction is open until COMMIT or ROLLBACK.
  void count_statement(const std::string& sql) {
    if (sql == "COMMIT" || sql == "ROLLBACK")
      transaction_open_ = false;
    else if (!autocommit())
      transaction_open_ = true;
  }

  // The requests of run() other than execute and batch.
  void perform(const proxy_request& request, proxy_outcome& out) {
    using kind = proxy_request::kind;
    switch (request.type) {
    case kind::execute:
    case kind::batch:
      return; // a job (start_run)
    case kind::prepare: {
      if (request.sql.size() != 1 || request.sql.front() == "fail")
        throw exasol::error(exasol::error_kind::server, "syntax error (fake)", "42000");
      // One DECIMAL parameter per '?'.
      std::string columns = "[";
      for (char c : request.sql.front())
        if (c == '?')
          columns += std::string(columns.size() > 1 ? "," : "") +
                     R"({"name":"","dataType":{"type":"DECIMAL","precision":18,"scale":0}})";
      out.handle = next_handle_++;
      out.parameter_columns_json = columns + "]";
      out.results.push_back(exasol::result{});
      prepared_.insert(out.handle);
      return;
    }
    case kind::execute_prepared: {
      if (prepared_.count(request.handle) == 0)
        throw exasol::error(exasol::error_kind::server,
                            "statement handle " + std::to_string(request.handle) + " is not open",
                            "00000");
      count_statement("prepared");
      exasol::result r;
      r.row_count = static_cast<std::int64_t>(request.num_rows);
      out.results.push_back(r);
      return;
    }
    case kind::close_prepared:
      if (prepared_.erase(request.handle) == 0)
        throw exasol::error(exasol::error_kind::server,
                            "statement handle " + std::to_string(request.handle) + " is not open",
                            "00000");
      return;
    case kind::set_attributes:
      return;
    }
  }

  // One script word other than "sleep" (see fake_backend.hpp); throws as the script says.
  exasol::result statement(const std::string& sql) {
    ++executes_;
    if (sql == "state") {
      exasol::result r;
      r.type = exasol::result::kind::result_set;
      for (const char* name : {"CONNECTION", "DIRTY", "EXECUTES", "RESETS", "ATTRIBUTE_SETS"})
        r.rows.columns.push_back(exasol::column{name, "DECIMAL", 18, 0, 0, {}, false, 0, 0});
      r.rows.data = {{static_cast<std::int64_t>(script_.number)},
                     {static_cast<std::int64_t>(dirty_locked() ? 1 : 0)},
                     {static_cast<std::int64_t>(executes_)},
                     {static_cast<std::int64_t>(resets_)},
                     {static_cast<std::int64_t>(attribute_sets_)}};
      r.rows.total_rows = 1;
      return r;
    }
    if (auto change = session_change_of(sql); change != session_change::none) {
      dirty_ = true;
      unresettable_ = unresettable_ || change == session_change::lasting;
    } else if (sql == "dirty") {
      dirty_ = true;
    } else if (sql == "unresettable") {
      dirty_ = true;
      unresettable_ = true;
    } else if (sql == "vanish") {
      killed_ = true;
      held_token_.reset(); // the server session is gone
    } else if (sql == "kill") {
      killed_ = true;
      broken_ = true;
      held_token_.reset();
      throw exasol::error(exasol::error_kind::reset, "session killed");
    } else if (sql == "fail") {
      throw exasol::error(exasol::error_kind::server, "syntax error (fake)", "42000");
    }
    return exasol::result{};
  }

  // The attributes a fresh session has (the writable ones a proxied client may want).
  static exasol::attributes baseline() {
    return {
        {"autocommit", true}, {"currentSchema", std::string()}, {"queryTimeout", std::int64_t{0}}};
  }

  const fake_script script_;
  bool open_ = false;
  bool closed_ = false; // close() was called: nothing opens any more
  bool killed_ = false; // the server ended the session
  bool broken_ = false; // the client noticed
  bool dirty_ = false;
  bool unresettable_ = false;
  std::uint64_t executes_ = 0;
  std::uint64_t resets_ = 0;
  std::uint64_t attribute_sets_ = 0; // setAttributes round trips of run()
  exasol::attributes attrs_ = baseline();
  bool transaction_open_ = false;
  std::set<std::int64_t> prepared_;
  std::int64_t next_handle_ = 1;
  std::shared_ptr<const int> held_token_;
  // The armed timer (a pause or a sleep), if any; abort_running() cancels it when abortable
  // (a sleep) and then sets sleep_aborted_, else it leaves abort_pending_ for the next sleep.
  std::shared_ptr<net::steady_timer> timer_;
  bool timer_abortable_ = false;
  bool sleep_aborted_ = false;
  bool abort_pending_ = false;
  // A close waits for close_delay: the closes to complete when the session has ended.
  bool close_pending_ = false;
  std::vector<completion> closing_;
};

// Runs `call` on the core with its lock held and returns what completes `done` with the value
// or the failure (called once the lock is released).
template <class T, class Call>
core::completion locked_call(core& c, const backend_done<T>& done, Call call) {
  T value{};
  std::exception_ptr failure;
  {
    std::lock_guard<std::mutex> lock(c.m);
    try {
      value = call();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  return [done, failure, value = std::move(value)]() mutable { done(failure, std::move(value)); };
}

// The fake as the connection actor drives it: see core for the threads. The synchronous calls
// wait for the asynchronous ones, for code outside an actor; never call them on the I/O thread.
class fake_backend final : public connection_backend {
public:
  explicit fake_backend(fake_script script) : core_(std::make_shared<core>(std::move(script))) {}
  // As a dropped socket: the session ends (after close_delay, on the timer), and a call still
  // waiting on a timer completes soon after (failed) on the I/O thread.
  ~fake_backend() override { core_->start_close(nullptr); }

  // Every call completes inline or from a timer: the actor needs no thread of its own.
  bool blocks() const override { return false; }

  std::uint64_t open() override {
    return wait<std::uint64_t>([&](auto done) { start_open(std::move(done)); });
  }
  query_result execute(const std::string& sql) override {
    return wait<query_result>([&](auto done) { start_execute(sql, std::move(done)); });
  }
  proxy_outcome run(const proxy_request& request) override {
    return wait<proxy_outcome>([&](auto done) { start_run(request, std::move(done)); });
  }
  void begin() override {
    wait<bool>([&](auto done) { start_begin(std::move(done)); });
  }
  bool validate() override {
    return wait<bool>([&](auto done) { start_validate(std::move(done)); });
  }
  bool reset() override {
    return wait<bool>([&](auto done) { start_reset(std::move(done)); });
  }
  void close() override {
    wait<bool>([&](auto done) { start_close(std::move(done)); });
  }
  bool is_dirty() const override { return core_->is_dirty(); }
  bool is_open() const override { return core_->is_open(); }
  void abort_running() noexcept override { core_->abort_running(); }

  void start_open(backend_done<std::uint64_t> done) override {
    simple<std::uint64_t>(std::move(done), [](core& c) { return c.open(); });
  }
  void start_begin(backend_done<bool> done) override {
    simple<bool>(std::move(done), [](core& c) { return c.begin(); });
  }
  void start_validate(backend_done<bool> done) override {
    simple<bool>(std::move(done), [](core& c) { return c.validate(); });
  }
  void start_reset(backend_done<bool> done) override {
    simple<bool>(std::move(done), [](core& c) { return c.reset(); });
  }
  // Also while another call waits on a timer (that one then fails at once); the session ends
  // and this completes after close_delay (at once without one).
  void start_close(backend_done<bool> done) override {
    core_->start_close([done = std::move(done)] { done(nullptr, true); });
  }

  void start_execute(std::string sql, backend_done<query_result> done) override {
    auto j = std::make_shared<core::job>();
    j->sql.push_back(std::move(sql));
    j->finish = [done = std::move(done)](std::exception_ptr failure,
                                         core::job& job) -> core::completion {
      query_result out;
      if (!failure)
        out.results = std::move(job.out.results);
      return [done, failure, out = std::move(out)]() mutable { done(failure, std::move(out)); };
    };
    auto c = core_;
    c->after_pause([c, j] {
      core::completion complete;
      {
        std::lock_guard<std::mutex> lock(c->m);
        complete = c->start_job(j);
      }
      if (complete)
        complete();
    });
  }

  // The script words of each SQL text, with the wanted attributes applied first (one counted
  // setAttributes when any differs). "fail" (and an aborted "sleep") is a server error in the
  // outcome.
  void start_run(proxy_request request, backend_done<proxy_outcome> done) override {
    auto j = std::make_shared<core::job>();
    auto c = core_;
    j->finish = [c = c.get(), done = std::move(done)](std::exception_ptr failure,
                                                      core::job& job) -> core::completion {
      proxy_outcome out = std::move(job.out);
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const exasol::error& e) {
          if (e.kind() != exasol::error_kind::server)
            return [done, failure] { done(failure, proxy_outcome{}); };
          out.results.clear();
          out.handle = 0;
          out.parameter_columns_json.clear();
          out.sql_code = e.sql_code();
          out.text = e.what();
        } catch (...) {
          return [done, failure] { done(failure, proxy_outcome{}); };
        }
      }
      c->finish_outcome(out); // the job's own core: alive while it runs
      return [done, out = std::move(out)]() mutable { done(nullptr, std::move(out)); };
    };
    c->after_pause([c, j, request = std::move(request)] {
      core::completion complete;
      {
        std::lock_guard<std::mutex> lock(c->m);
        complete = c->start_run(j, request);
      }
      if (complete)
        complete();
    });
  }

private:
  // A call that may pause, then does its work at once.
  template <class T, class Call> void simple(backend_done<T> done, Call call) {
    auto c = core_;
    c->after_pause([c, done = std::move(done), call] {
      locked_call<T>(*c, done, [&] { return call(*c); })();
    });
  }

  template <class T, class Start> T wait(Start start) {
    auto promise = std::make_shared<std::promise<T>>();
    auto result = promise->get_future();
    start(backend_done<T>([promise](std::exception_ptr e, T value) {
      if (e)
        promise->set_exception(e);
      else
        promise->set_value(std::move(value));
    }));
    return result.get();
  }

  std::shared_ptr<core> core_;
};

} // namespace

std::unique_ptr<connection_backend> make_fake_backend(fake_script script) {
  return std::make_unique<fake_backend>(std::move(script));
}

backend_factory make_fake_factory(std::shared_ptr<fake_plan> plan) {
  return [plan] {
    fake_script script;
    script.number = ++plan->created;
    bool failing = plan->fail_every_open || plan->created <= plan->failing_opens;
    script.fail_open = failing;
    script.auth_failure = failing && (plan->failures_are_auth || plan->failures_are_session_limit);
    script.session_limit = failing && plan->failures_are_session_limit;
    script.detached = plan->detached;
    script.fail_validate = plan->fail_validate;
    script.fail_reset = plan->fail_reset;
    script.block_for = plan->block_for;
    script.close_delay = plan->close_delay;
    script.open_token = plan->open_token;
    return make_fake_backend(script);
  };
}

} // namespace exapool

#include "actors/fake_backend.hpp"

#include "integration/exasol/errors.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace exapool {

namespace {

// abort_running() comes from another thread while "sleep" blocks: a pipe carries it, the only
// thing the two threads share (the kernel orders it; no memory is shared). Written without
// blocking by the aborting thread, read by the thread running the statement.
class abort_pipe {
public:
  abort_pipe() {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0)
      throw std::runtime_error("fake backend: no pipe for aborts");
  }
  ~abort_pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  abort_pipe(const abort_pipe&) = delete;
  abort_pipe& operator=(const abort_pipe&) = delete;

  void signal() noexcept {
    char one = 1;
    [[maybe_unused]] auto n = ::write(fds_[1], &one, 1); // a full pipe has an abort pending
  }
  // True when an abort arrived within `span` (it is consumed); false after `span`.
  bool wait(std::chrono::milliseconds span) {
    auto deadline = std::chrono::steady_clock::now() + span;
    for (;;) {
      // Rounded up: a "sleep 300" never ends before 300 ms have passed.
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fds_[0], POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (ready > 0) {
        drain();
        return true;
      }
      if (ready == 0 || (ready < 0 && errno != EINTR))
        return false;
    }
  }
  // Forgets aborts that arrived for a statement that ended without seeing them.
  void drain() noexcept {
    char sink[64];
    while (::read(fds_[0], sink, sizeof sink) > 0) {
    }
  }

private:
  int fds_[2];
};

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

class fake_backend final : public connection_backend {
public:
  explicit fake_backend(fake_script script) : script_(script) {}

  bool blocks() const override { return script_.detached || script_.block_for.count() > 0; }

  std::uint64_t open() override {
    pause();
    if (script_.fail_open) {
      if (script_.session_limit)
        throw exasol::error(exasol::error_kind::auth,
                            "Connection exception - session limit reached (fake)", "08004");
      if (script_.auth_failure)
        throw exasol::error(exasol::error_kind::auth, "login rejected: invalid credentials",
                            "08004");
      throw exasol::error(exasol::error_kind::refused, "connection refused (fake server down)");
    }
    open_ = true;
    held_token_ = script_.open_token.lock();
    return 1000 + script_.number;
  }

  query_result execute(const std::string& sql) override {
    forget_aborts at_end{aborts_};
    pause();
    check_alive();
    query_result out;
    out.results.push_back(statement(sql));
    return out;
  }

  // The script words of each SQL text, with the wanted attributes applied first (one counted
  // setAttributes when any differs). "fail" is a server error in the outcome.
  proxy_outcome run(const proxy_request& request) override {
    forget_aborts at_end{aborts_};
    pause();
    check_alive();
    proxy_outcome out;
    exasol::attributes diff;
    for (const auto& [name, wanted] : request.wanted)
      if (attrs_.count(name) > 0 && !(attrs_[name] == wanted))
        diff[name] = wanted;
    if (!diff.empty()) {
      ++attribute_sets_;
      for (auto& [name, wanted] : diff)
        attrs_[name] = wanted;
    }
    try {
      perform(request, out);
    } catch (const exasol::error& e) {
      if (e.kind() != exasol::error_kind::server)
        throw;
      out.results.clear();
      out.handle = 0;
      out.parameter_columns_json.clear();
      out.sql_code = e.sql_code();
      out.text = e.what();
    }
    out.after = attrs_;
    out.transaction_open = transaction_open_;
    out.open_prepared = prepared_.size();
    return out;
  }

private:
  struct forget_aborts {
    abort_pipe& aborts;
    ~forget_aborts() { aborts.drain(); }
  };

  void check_alive() {
    if (!open_ || killed_) {
      broken_ = true;
      held_token_.reset();
      throw exasol::error(exasol::error_kind::reset, "connection closed by the server");
    }
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

  void perform(const proxy_request& request, proxy_outcome& out) {
    using kind = proxy_request::kind;
    switch (request.type) {
    case kind::execute:
    case kind::batch:
      for (const auto& sql : request.sql) {
        out.change = std::max(out.change, session_change_of(sql));
        count_statement(sql);
        out.results.push_back(statement(sql));
      }
      return;
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

  // One script word (see fake_backend.hpp); throws as the script says.
  exasol::result statement(const std::string& sql) {
    ++executes_;
    if (sql == "state") {
      exasol::result r;
      r.type = exasol::result::kind::result_set;
      for (const char* name : {"CONNECTION", "DIRTY", "EXECUTES", "RESETS", "ATTRIBUTE_SETS"})
        r.rows.columns.push_back(exasol::column{name, "DECIMAL", 18, 0, 0, {}, false, 0, 0});
      r.rows.data = {{static_cast<std::int64_t>(script_.number)},
                     {static_cast<std::int64_t>(is_dirty() ? 1 : 0)},
                     {static_cast<std::int64_t>(executes_)},
                     {static_cast<std::int64_t>(resets_)},
                     {static_cast<std::int64_t>(attribute_sets_)}};
      r.rows.total_rows = 1;
      return r;
    }
    if (auto span = sleep_of(sql)) {
      if (!blocks())
        throw exasol::error(exasol::error_kind::config, "sleep needs a detached fake connection");
      if (aborts_.wait(*span))
        throw exasol::error(exasol::error_kind::server, "Execution aborted by abortQuery (fake)",
                            "R0003");
    } else if (auto change = session_change_of(sql); change != session_change::none) {
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

public:
  void begin() override {
    pause();
    if (!open_ || killed_)
      throw exasol::error(exasol::error_kind::reset, "connection closed by the server");
    dirty_ = true;
  }

  bool validate() override {
    pause();
    return open_ && !killed_ && !script_.fail_validate;
  }

  bool is_dirty() const override {
    return dirty_ || transaction_open_ || !prepared_.empty() || attrs_ != baseline();
  }

  bool reset() override {
    pause();
    if (!open_ || killed_ || unresettable_ || script_.fail_reset)
      return false;
    dirty_ = false;
    transaction_open_ = false;
    prepared_.clear();
    attrs_ = baseline();
    ++resets_;
    return true;
  }

  bool is_open() const override { return open_ && !broken_; }

  void abort_running() noexcept override { aborts_.signal(); }

  void close() override {
    open_ = false;
    held_token_.reset();
  }

private:
  // The attributes a fresh session has (the writable ones a proxied client may want).
  static exasol::attributes baseline() {
    return {
        {"autocommit", true}, {"currentSchema", std::string()}, {"queryTimeout", std::int64_t{0}}};
  }

  void pause() const {
    if (script_.block_for.count() > 0)
      std::this_thread::sleep_for(script_.block_for);
  }

  fake_script script_;
  bool open_ = false;
  bool killed_ = false; // the server ended the session
  bool broken_ = false; // the client noticed
  bool dirty_ = false;
  bool unresettable_ = false;
  std::uint64_t executes_ = 0;
  std::uint64_t resets_ = 0;
  std::uint64_t attribute_sets_ = 0; // setAttributes round trips run() made
  exasol::attributes attrs_ = baseline();
  bool transaction_open_ = false;
  std::set<std::int64_t> prepared_;
  std::int64_t next_handle_ = 1;
  std::shared_ptr<const int> held_token_;
  abort_pipe aborts_;
};

} // namespace

std::unique_ptr<connection_backend> make_fake_backend(fake_script script) {
  return std::make_unique<fake_backend>(script);
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
    script.open_token = plan->open_token;
    return make_fake_backend(script);
  };
}

} // namespace exapool

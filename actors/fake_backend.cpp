#include "actors/fake_backend.hpp"

#include "integration/exasol/errors.hpp"

#include <thread>

namespace exapool {

namespace {

class fake_backend final : public connection_backend {
public:
  explicit fake_backend(fake_script script) : script_(script) {}

  bool blocks() const override { return script_.block_for.count() > 0; }

  std::uint64_t open() override {
    pause();
    if (script_.fail_open) {
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
    pause();
    if (!open_ || killed_) {
      broken_ = true;
      held_token_.reset();
      throw exasol::error(exasol::error_kind::reset, "connection closed by the server");
    }
    ++executes_;
    query_result out;
    if (sql == "state") {
      exasol::result r;
      r.type = exasol::result::kind::result_set;
      for (const char* name : {"CONNECTION", "DIRTY", "EXECUTES", "RESETS"})
        r.rows.columns.push_back(exasol::column{name, "DECIMAL", 18, 0, 0, {}, false, 0, 0});
      r.rows.data = {{static_cast<std::int64_t>(script_.number)},
                     {static_cast<std::int64_t>(dirty_ ? 1 : 0)},
                     {static_cast<std::int64_t>(executes_)},
                     {static_cast<std::int64_t>(resets_)}};
      r.rows.total_rows = 1;
      out.results.push_back(std::move(r));
      return out;
    }
    if (sql == "dirty") {
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
    out.results.push_back(exasol::result{});
    return out;
  }

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

  bool is_dirty() const override { return dirty_; }

  bool reset() override {
    pause();
    if (!open_ || killed_ || unresettable_ || script_.fail_reset)
      return false;
    dirty_ = false;
    ++resets_;
    return true;
  }

  bool is_open() const override { return open_ && !broken_; }

  void close() override {
    open_ = false;
    held_token_.reset();
  }

private:
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
  std::shared_ptr<const int> held_token_;
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
    script.auth_failure = failing && plan->failures_are_auth;
    script.fail_validate = plan->fail_validate;
    script.fail_reset = plan->fail_reset;
    script.block_for = plan->block_for;
    script.open_token = plan->open_token;
    return make_fake_backend(script);
  };
}

} // namespace exapool

#include "actors/connection_actor.hpp"

#include "integration/exasol/errors.hpp"
#include "messages/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <string>

namespace exapool {

proxy_outcome connection_backend::run(const proxy_request&) {
  throw exasol::error(exasol::error_kind::config, "this connection does not serve proxy requests");
}

namespace {

// Runs a synchronous call and completes with its value or its failure, before returning.
template <class T, class F> void complete_now(const backend_done<T>& done, F call) {
  T value{};
  std::exception_ptr failure;
  try {
    value = call();
  } catch (...) {
    failure = std::current_exception();
  }
  done(failure, std::move(value));
}

} // namespace

void connection_backend::start_open(backend_done<std::uint64_t> done) {
  complete_now(done, [&] { return open(); });
}

void connection_backend::start_execute(std::string sql, backend_done<query_result> done) {
  complete_now(done, [&] { return execute(sql); });
}

void connection_backend::start_run(proxy_request request, backend_done<proxy_outcome> done) {
  complete_now(done, [&] { return run(request); });
}

void connection_backend::start_begin(backend_done<bool> done) {
  complete_now(done, [&] {
    begin();
    return true;
  });
}

void connection_backend::start_validate(backend_done<bool> done) {
  complete_now(done, [&] { return validate(); });
}

void connection_backend::start_reset(backend_done<bool> done) {
  complete_now(done, [&] { return reset(); });
}

void connection_backend::start_close(backend_done<bool> done) {
  complete_now(done, [&] {
    close();
    return true;
  });
}

namespace {

struct connection_state {
  std::shared_ptr<connection_backend> backend;
  connection_listener listener;
  // The lease in use (0: none) and the highest lease id known to have ended; lease ids grow
  // per connection, so these two decide every request (see connection_actor.hpp).
  std::uint64_t current_lease = 0;
  std::uint64_t ended_lease = 0;
  // The pool has been told that the session under current_lease is dirty.
  bool dirty_reported = false;
  static inline const char* name = "exapool.connection";

  ~connection_state() {
    // Whatever ends this actor (close, a dead pool, a kill), the server session ends with it.
    if (backend && backend->is_open())
      backend->close();
  }
};

using connection_pointer = connection_actor::stateful_pointer<connection_state>;

// The statement did not complete: aborted (abortQuery, R0003) or past a time limit (the
// client's query timeout, or the server's queryTimeout, R0001).
bool was_aborted(const exasol::error& e) {
  return dynamic_cast<const statement_aborted_error*>(&e) != nullptr || e.sql_code() == "R0003" ||
         e.sql_code() == "R0001";
}

// An error of the Exasol client as a pool error: the kind decides whether the session is gone.
caf::error to_pool_error(const exasol::error& e) {
  std::string text = e.what();
  if (was_aborted(e)) {
    if (!e.sql_code().empty() && text.find(e.sql_code()) == std::string::npos)
      text = "[" + e.sql_code() + "] " + text;
    return make_error(pool_errc::statement_aborted, "statement aborted: " + text);
  }
  switch (e.kind()) {
  case exasol::error_kind::server:
    // Name the sqlCode once (the real client's text usually carries it already).
    if (!e.sql_code().empty() && text.find(e.sql_code()) == std::string::npos)
      text = "[" + e.sql_code() + "] " + text;
    return make_error(pool_errc::server_error, text);
  case exasol::error_kind::auth:
    return make_error(pool_errc::authentication_failed, text);
  case exasol::error_kind::config:
    return make_error(pool_errc::invalid_config, text);
  case exasol::error_kind::result_too_large:
    // The client closed the result's handles and kept the connection: only the statement fails.
    return make_error(pool_errc::result_too_large, text);
  default:
    return make_error(pool_errc::connection_lost,
                      std::string(exasol::to_string(e.kind())) + ": " + text);
  }
}

bool contains_ignoring_case(std::string_view text, std::string_view part) {
  auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  return std::search(text.begin(), text.end(), part.begin(), part.end(), same) != text.end();
}

// A login refused because the server's session limit is reached, told apart from rejected
// credentials by the server's text (both are 08004).
bool is_session_limit(const exasol::error& e) {
  return e.kind() == exasol::error_kind::auth && contains_ignoring_case(e.what(), "session limit");
}

// A failed open names why; an authentication failure and an untrusted certificate keep their
// own codes so that the pool can stop retrying, and a session-limit refusal its own so that the
// pool keeps serving.
caf::error to_open_error(const exasol::error& e) {
  if (is_session_limit(e))
    return make_error(pool_errc::session_limit, e.what());
  if (e.kind() == exasol::error_kind::auth)
    return make_error(pool_errc::authentication_failed, e.what());
  if (e.kind() == exasol::error_kind::tls || e.kind() == exasol::error_kind::fingerprint_mismatch)
    return make_error(pool_errc::untrusted_server,
                      std::string(exasol::to_string(e.kind())) + ": " + e.what());
  return make_error(pool_errc::connect_failed,
                    std::string(exasol::to_string(e.kind())) + ": " + e.what());
}

// Tells the pool, once per lease, that the session left the baseline. Sent before the reply
// to the borrower, who gives the lease back only after that reply: the pool knows first.
void report_dirty(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  if (!st.dirty_reported && st.backend->is_dirty()) {
    st.dirty_reported = true;
    self->send(st.listener, dirty_atom::value, lease_id);
  }
}

caf::error stale(std::uint64_t lease_id) {
  return make_error(pool_errc::stale_lease,
                    "lease " + std::to_string(lease_id) + " is not current on this connection");
}

// Whether a request under `lease_id` may run: refused when that lease ended or a newer one is
// current; a newer id becomes current. A new lease on a session that is still dirty (a
// statement finished after its lease ended, so the pool could not know) starts clean anyway;
// when it cannot, the connection ends and the pool, which monitors it, replaces it.
caf::error admit(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  if (lease_id == 0 || lease_id <= st.ended_lease || lease_id < st.current_lease)
    return stale(lease_id);
  if (lease_id == st.current_lease)
    return caf::none;
  st.current_lease = lease_id;
  st.dirty_reported = false;
  if (st.backend->is_dirty() && !st.backend->reset()) {
    st.backend->close();
    auto err = make_error(pool_errc::connection_lost, "session could not be reset");
    self->quit(err);
    return err;
  }
  return caf::none;
}

// The lease ends here, with its last statement: refused from now on, and the pool hears it
// before the borrower has the reply (so a borrower that borrows again at once finds the
// connection back in the pool).
void release_here(connection_pointer self, std::uint64_t lease_id, bool dirty) {
  auto& st = self->state;
  st.ended_lease = std::max(st.ended_lease, lease_id);
  st.current_lease = 0;
  self->send(st.listener, released_atom::value, lease_id, dirty);
}

// After a statement that left the session open: the lease ends here (release), or the pool
// hears of a dirty session.
void after_statement(connection_pointer self, std::uint64_t lease_id, bool release) {
  if (release)
    release_here(self, lease_id, self->state.backend->is_dirty());
  else
    report_dirty(self, lease_id);
}

// Runs `work` under a lease: refused for a stale id, errors mapped to pool errors. With
// `release` the lease ends with this request, whatever its outcome.
template <class T, class F>
caf::result<T> under_lease(connection_pointer self, std::uint64_t lease_id, bool release, F work) {
  if (auto refused = admit(self, lease_id))
    return refused;
  try {
    T out = work();
    after_statement(self, lease_id, release);
    return out;
  } catch (const exasol::error& e) {
    auto err = to_pool_error(e);
    if (!self->state.backend->is_open()) {
      // The session is gone (killed, dropped, broken): this connection must never be handed
      // out again. The pool hears it (dirty, or released as dirty) before the borrower has the
      // reply (a reset then fails, so it closes and replaces it), and this actor ends after the
      // reply in any case.
      if (release)
        release_here(self, lease_id, true);
      else
        self->send(self->state.listener, dirty_atom::value, lease_id);
      self->quit(err);
      return err;
    }
    after_statement(self, lease_id, release);
    return err;
  } catch (const std::exception& e) {
    auto err = make_error(pool_errc::connection_lost, e.what());
    if (release)
      release_here(self, lease_id, true);
    self->quit(err);
    return err;
  }
}

// The pool ended this lease (give_back, a dead borrower, shutdown): it and every older id are
// refused from now on.
void end_lease(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  st.ended_lease = std::max(st.ended_lease, lease_id);
  if (st.current_lease != 0 && st.current_lease <= lease_id)
    st.current_lease = 0;
}

connection_actor::behavior_type connection_impl(connection_pointer self,
                                                std::shared_ptr<connection_backend> backend,
                                                connection_listener listener) {
  self->state.backend = std::move(backend);
  self->state.listener = listener;
  if (listener) {
    self->monitor(listener);
    self->set_down_handler([self](const caf::down_msg& msg) {
      if (msg.source == self->state.listener.address())
        self->quit(); // the pool is gone: the destructor of the state disconnects
    });
  }
  return {
      [self](open_atom) -> caf::result<std::uint64_t> {
        try {
          return self->state.backend->open();
        } catch (const exasol::error& e) {
          return to_open_error(e);
        } catch (const std::exception& e) {
          return make_error(pool_errc::connect_failed, e.what());
        }
      },
      [self](validate_atom) -> bool { return self->state.backend->validate(); },
      [self](reset_atom) -> bool {
        bool ok = self->state.backend->reset();
        self->state.dirty_reported = !ok;
        return ok;
      },
      [self](end_lease_atom, std::uint64_t lease_id) { end_lease(self, lease_id); },
      [self](execute_atom, std::uint64_t lease_id,
             const std::string& sql) -> caf::result<query_result> {
        return under_lease<query_result>(self, lease_id, false,
                                         [&] { return self->state.backend->execute(sql); });
      },
      [self](execute_atom, std::uint64_t lease_id, const std::string& sql,
             release_atom) -> caf::result<query_result> {
        return under_lease<query_result>(self, lease_id, true,
                                         [&] { return self->state.backend->execute(sql); });
      },
      [self](execute_atom, std::uint64_t lease_id,
             const proxy_request& request) -> caf::result<proxy_outcome> {
        return under_lease<proxy_outcome>(self, lease_id, false,
                                          [&] { return self->state.backend->run(request); });
      },
      [self](begin_atom, std::uint64_t lease_id) -> caf::result<bool> {
        return under_lease<bool>(self, lease_id, false, [&] {
          self->state.backend->begin();
          return true;
        });
      },
      [self](close_atom) -> bool {
        self->state.current_lease = 0;
        self->state.backend->close();
        self->quit();
        return true;
      },
  };
}

// --- what a statement does to the session ------------------------------------------------

// Reads SQL words: skips whitespace and comments, and gives each word upper-cased (a quoted
// identifier as written, without its quotes).
class sql_words {
public:
  explicit sql_words(std::string_view sql) : sql_(sql) {}

  std::string next() {
    skip_blanks();
    if (pos_ >= sql_.size())
      return {};
    if (sql_[pos_] == '"') {
      auto end = sql_.find('"', pos_ + 1);
      if (end == std::string_view::npos)
        return {};
      std::string word(sql_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return word;
    }
    std::string word;
    while (pos_ < sql_.size() && is_word_char(sql_[pos_]))
      word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql_[pos_++]))));
    return word;
  }

private:
  static bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  }
  void skip_blanks() {
    while (pos_ < sql_.size()) {
      if (std::isspace(static_cast<unsigned char>(sql_[pos_]))) {
        ++pos_;
      } else if (sql_.compare(pos_, 2, "--") == 0) {
        auto end = sql_.find('\n', pos_);
        pos_ = end == std::string_view::npos ? sql_.size() : end + 1;
      } else if (sql_.compare(pos_, 2, "/*") == 0) {
        auto end = sql_.find("*/", pos_ + 2);
        pos_ = end == std::string_view::npos ? sql_.size() : end + 2;
      } else {
        return;
      }
    }
  }

  std::string_view sql_;
  std::size_t pos_ = 0;
};

// Session parameters whose value the protocol reports as an attribute (getAttributes and the
// attributes of every response), so that reset sees a change.
constexpr std::array<std::string_view, 8> reported_parameters = {
    "QUERY_TIMEOUT",      "NLS_NUMERIC_CHARACTERS",
    "NLS_DATE_FORMAT",    "NLS_TIMESTAMP_FORMAT",
    "NLS_DATE_LANGUAGE",  "TIME_ZONE",
    "TIME_ZONE_BEHAVIOR", "DEFAULT_LIKE_ESCAPE_CHARACTER"};

} // namespace

session_change session_change_of(std::string_view sql) {
  sql_words words(sql);
  auto first = words.next();
  if (first == "IMPERSONATE")
    return session_change::lasting;
  if (first != "ALTER" || words.next() != "SESSION")
    return session_change::none;
  if (words.next() != "SET")
    return session_change::lasting;
  auto parameter = words.next();
  for (auto reported : reported_parameters)
    if (parameter == reported)
      return session_change::attribute;
  return session_change::lasting;
}

connection_actor spawn_connection(caf::actor_system& sys,
                                  std::shared_ptr<connection_backend> backend,
                                  connection_listener listener) {
  if (backend->blocks())
    return sys.spawn<caf::detached>(connection_impl, std::move(backend), std::move(listener));
  return sys.spawn(connection_impl, std::move(backend), std::move(listener));
}

} // namespace exapool

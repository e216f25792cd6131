#include "actors/connection_actor.hpp"

#include "integration/exasol/errors.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>
#include <caf/skip.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <functional>
#include <string>
#include <utility>

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
  // A backend call runs: every request waits in the mailbox (caf::skip) until it completed,
  // so requests run one at a time and in the order they came, as on a thread of their own.
  bool busy = false;
  // Answers the requester of the running call if this actor ends before the call completed
  // (the pool ends it, a dead pool, a kill): it gets an error instead of waiting for a reply
  // that never comes.
  std::function<void(const caf::error&)> abandon;
  // The actor is ending (end_after_close): it quits once its session is closed, and no
  // request starts a backend call meanwhile.
  bool ending = false;
  static inline const char* name = "exapool.connection";

  ~connection_state() {
    // The last resort, for an actor that ended without end_after_close (exit_reason::kill
    // cannot be trapped): the server session ends with it, but only after it is down; a call
    // still running has its socket dropped (start_close allows that) before its requester
    // hears.
    if (backend && (busy || backend->is_open()))
      backend->start_close([](std::exception_ptr, bool) {});
    if (abandon)
      abandon(make_error(pool_errc::connection_lost, "the connection ended while its request ran"));
  }
};

} // namespace

namespace detail {

// A backend call completed on another thread: `resume` continues the request on the actor.
struct backend_completion {
  std::function<void()> resume;
};

} // namespace detail
} // namespace exapool

// Completions carry function objects: these messages never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(exapool::detail::backend_completion)

namespace exapool {
namespace {

using detail::backend_completion;
using connection_impl_t = connection_actor::extend<caf::reacts_to<backend_completion>>;
using connection_pointer = connection_impl_t::stateful_pointer<connection_state>;

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
    return make_error(pool_errc::statement_aborted, "statement aborted: " + text, e.sql_code());
  }
  switch (e.kind()) {
  case exasol::error_kind::server:
    // Name the sqlCode once (the real client's text usually carries it already).
    if (!e.sql_code().empty() && text.find(e.sql_code()) == std::string::npos)
      text = "[" + e.sql_code() + "] " + text;
    return make_error(pool_errc::server_error, text, e.sql_code());
  case exasol::error_kind::auth:
    return make_error(pool_errc::authentication_failed, text, e.sql_code());
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

// How to fix a certificate the TLS rules refuse (appended to the client's text).
std::string untrusted_hint(const exasol::error& e) {
  if (e.kind() == exasol::error_kind::fingerprint_mismatch)
    return ". Hint: the server's certificate is not the pinned one; if it was replaced on "
           "purpose, pin the new fingerprint in the DSN (host/FINGERPRINT:port), else check "
           "that this is the server you meant";
  if (contains_ignoring_case(e.what(), "certificate"))
    return ". Hint: the server's certificate is not trusted (a self-signed one, as Exasol's "
           "default is, never is); pin its SHA-256 fingerprint in the DSN "
           "(host/FINGERPRINT:port) or give the CA that signed it (credentials::ca_file)";
  return ". Hint: check that the port serves TLS and that the server's certificate is trusted";
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
    return make_error(pool_errc::untrusted_server, std::string(exasol::to_string(e.kind())) + ": " +
                                                       e.what() + untrusted_hint(e));
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

// A backend call that completed while the actor was still inside start_* (a backend that
// completes inline) continues right after start_* returns, without a message.
struct inline_completion {
  const connection_state* owner;
  std::function<void()> resume;
};
thread_local inline_completion* completing_inline = nullptr;

// Starts one backend call; `then(failure, value)` runs on this actor when it completed: at once
// when the backend completed inline, else when the completion's message arrives (from an I/O
// thread). Until then the actor is busy and requests wait.
template <class T, class Start, class Then>
void call_backend(connection_pointer self, Start start, Then then) {
  auto& st = self->state;
  st.busy = true;
  caf::weak_actor_ptr weak{self->ctrl()};
  auto done = [self, weak, owner = &st, then](std::exception_ptr failure, T value) {
    std::function<void()> resume = [self, then, failure, value = std::move(value)]() mutable {
      if (self->state.ending)
        return; // end_after_close answered the requester and closes the session
      self->state.busy = false;
      then(failure, std::move(value));
    };
    if (completing_inline != nullptr && completing_inline->owner == owner) {
      completing_inline->resume = std::move(resume);
      return;
    }
    if (auto alive = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(alive), backend_completion{std::move(resume)});
  };
  inline_completion here{&st, {}};
  auto* outer = std::exchange(completing_inline, &here);
  start(*st.backend, backend_done<T>(std::move(done)));
  completing_inline = outer;
  if (here.resume)
    here.resume();
}

// The requester of a running call hears of it even when this actor ends first.
template <class T> void hold(connection_pointer self, caf::typed_response_promise<T> rp) {
  self->state.abandon = [rp](const caf::error& err) mutable { rp.deliver(err); };
}

template <class T>
void answer(connection_pointer self, caf::typed_response_promise<T>& rp, T value) {
  self->state.abandon = nullptr;
  rp.deliver(std::move(value));
}

template <class T>
void answer(connection_pointer self, caf::typed_response_promise<T>& rp, caf::error err) {
  self->state.abandon = nullptr;
  rp.deliver(std::move(err));
}

template <class T>
void answer(connection_pointer self, caf::typed_response_promise<T>& rp, caf::expected<T> x) {
  if (x)
    answer(self, rp, std::move(*x));
  else
    answer(self, rp, std::move(x.error()));
}

// What a request gets while the actor ends: no backend call starts any more.
caf::error refused_while_ending() {
  return make_error(pool_errc::connection_lost, "the connection is closing");
}

// Ends this actor, but only once its session is closed: the pool frees a connection's slot on
// its DOWN and may open a replacement then, so the server must no longer hold this session
// (issue 8, defect 2: never more than max_size sessions). The requester of a running call
// hears connection_lost now, and the backend drops that call's socket; an idle open session
// gets a proper disconnect; with nothing open the actor quits at once. The backend bounds the
// close: a drop only waits for the client's strand to close the socket, a disconnect for the
// client's socket_timeout (see integration/exasol_backend/exasol_backend.cpp, core::start_close).
void end_after_close(connection_pointer self, caf::error reason) {
  auto& st = self->state;
  if (st.ending)
    return;
  st.ending = true;
  if (auto abandon = std::exchange(st.abandon, nullptr))
    abandon(make_error(pool_errc::connection_lost, "the connection ended while its request ran"));
  if (!st.busy && !st.backend->is_open()) {
    self->quit(std::move(reason));
    return;
  }
  st.busy = true; // until the close completed: the destructor then has nothing left to close
  caf::weak_actor_ptr weak{self->ctrl()};
  st.backend->start_close([self, weak, reason](std::exception_ptr, bool) {
    // Always by a message, also when the backend completed inline: the actor quits between
    // messages, on its own thread.
    if (auto alive = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(alive), backend_completion{[self, reason] {
                       self->state.busy = false;
                       self->quit(reason);
                     }});
  });
}

// The outcome of a statement under a lease: errors mapped to pool errors; with `release` the
// lease ends with it, whatever the outcome.
template <class T>
void finish_statement(connection_pointer self, std::uint64_t lease_id, bool release,
                      caf::typed_response_promise<T>& rp, std::exception_ptr failure, T value) {
  if (!failure) {
    after_statement(self, lease_id, release);
    answer(self, rp, std::move(value));
    return;
  }
  try {
    std::rethrow_exception(failure);
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
      answer(self, rp, err);
      end_after_close(self, err);
      return;
    }
    after_statement(self, lease_id, release);
    answer(self, rp, std::move(err));
  } catch (const std::exception& e) {
    auto err = make_error(pool_errc::connection_lost, e.what());
    if (release)
      release_here(self, lease_id, true);
    answer(self, rp, err);
    end_after_close(self, err);
  }
}

// Runs a statement under a lease: refused for a stale id (see connection_actor.hpp). A new lease
// on a session that is still dirty (a statement finished after its lease ended, so the pool
// could not know) starts clean anyway; when it cannot, the connection ends and the pool, which
// monitors it, replaces it.
template <class T, class Start>
caf::result<T> under_lease(connection_pointer self, std::uint64_t lease_id, bool release,
                           Start start) {
  auto& st = self->state;
  if (st.ending)
    return refused_while_ending();
  if (st.busy)
    return caf::skip;
  if (lease_id == 0 || lease_id <= st.ended_lease || lease_id < st.current_lease)
    return stale(lease_id);
  auto rp = self->make_response_promise<T>();
  hold(self, rp);
  auto run = [self, lease_id, release, start, rp]() mutable {
    call_backend<T>(self, start, [self, lease_id, release, rp](std::exception_ptr f, T v) mutable {
      finish_statement(self, lease_id, release, rp, f, std::move(v));
    });
  };
  bool fresh = lease_id != st.current_lease;
  st.current_lease = lease_id;
  if (!fresh || !st.backend->is_dirty()) {
    if (fresh)
      st.dirty_reported = false;
    run();
    return rp;
  }
  st.dirty_reported = false;
  call_backend<bool>(
      self, [](connection_backend& b, backend_done<bool> done) { b.start_reset(std::move(done)); },
      [self, rp, run](std::exception_ptr, bool clean) mutable {
        if (clean)
          return run();
        auto err = make_error(pool_errc::connection_lost, "session could not be reset");
        answer(self, rp, err);
        end_after_close(self, err);
      });
  return rp;
}

// The pool ended this lease (give_back, a dead borrower, shutdown): it and every older id are
// refused from now on.
void end_lease(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  st.ended_lease = std::max(st.ended_lease, lease_id);
  if (st.current_lease != 0 && st.current_lease <= lease_id)
    st.current_lease = 0;
}

// A call outside a lease (open, validate, reset, close): `reply(failure, value)` makes the
// requester's answer (a T or an error) when the call completed.
template <class R, class T, class Start, class Reply>
caf::result<R> call_for_reply(connection_pointer self, Start start, Reply reply) {
  if (self->state.ending)
    return refused_while_ending();
  if (self->state.busy)
    return caf::skip;
  auto rp = self->make_response_promise<R>();
  hold(self, rp);
  call_backend<T>(self, start, [self, rp, reply](std::exception_ptr f, T v) mutable {
    answer(self, rp, reply(f, std::move(v)));
  });
  return rp;
}

// The session id, or why the connection could not open.
caf::expected<std::uint64_t> opened(std::exception_ptr failure, std::uint64_t session_id) {
  if (!failure)
    return session_id;
  try {
    std::rethrow_exception(failure);
  } catch (const exasol::error& e) {
    return to_open_error(e);
  } catch (const std::exception& e) {
    return make_error(pool_errc::connect_failed, e.what());
  }
}

// The backend calls, as the arguments call_backend starts them with.
auto start_open = [](connection_backend& b, backend_done<std::uint64_t> done) {
  b.start_open(std::move(done));
};
auto start_validate = [](connection_backend& b, backend_done<bool> done) {
  b.start_validate(std::move(done));
};
auto start_reset = [](connection_backend& b, backend_done<bool> done) {
  b.start_reset(std::move(done));
};
auto start_close = [](connection_backend& b, backend_done<bool> done) {
  b.start_close(std::move(done));
};
auto start_begin = [](connection_backend& b, backend_done<bool> done) {
  b.start_begin(std::move(done));
};

auto start_execute(std::string sql) {
  return [sql = std::move(sql)](connection_backend& b, backend_done<query_result> done) {
    b.start_execute(sql, std::move(done));
  };
}

auto start_run(proxy_request request) {
  return [request = std::move(request)](connection_backend& b, backend_done<proxy_outcome> done) {
    b.start_run(request, std::move(done));
  };
}

connection_impl_t::behavior_type connection_impl(connection_pointer self,
                                                 std::shared_ptr<connection_backend> backend,
                                                 connection_listener listener) {
  self->state.backend = std::move(backend);
  self->state.listener = listener;
  if (listener) {
    self->monitor(listener);
    self->set_down_handler([self](const caf::down_msg& msg) {
      if (msg.source == self->state.listener.address())
        end_after_close(self, caf::error{}); // the pool is gone
    });
  }
  // The pool ends a connection with a reason this traps (pool_actor.cpp): it goes down only
  // once its session is closed. A normal exit of a linked actor is ignored, as by default.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason)
      end_after_close(self, std::move(msg.reason));
  });
  return {
      [self](open_atom) -> caf::result<std::uint64_t> {
        return call_for_reply<std::uint64_t, std::uint64_t>(self, start_open, opened);
      },
      [self](validate_atom) -> caf::result<bool> {
        return call_for_reply<bool, bool>(self, start_validate,
                                          [](std::exception_ptr, bool ok) { return ok; });
      },
      [self](reset_atom) -> caf::result<bool> {
        return call_for_reply<bool, bool>(self, start_reset, [self](std::exception_ptr, bool ok) {
          self->state.dirty_reported = !ok;
          return ok;
        });
      },
      [self](end_lease_atom, std::uint64_t lease_id) -> caf::result<void> {
        if (self->state.busy && !self->state.ending)
          return caf::skip;
        end_lease(self, lease_id);
        return caf::unit;
      },
      [self](execute_atom, std::uint64_t lease_id,
             const std::string& sql) -> caf::result<query_result> {
        return under_lease<query_result>(self, lease_id, false, start_execute(sql));
      },
      [self](execute_atom, std::uint64_t lease_id, const std::string& sql,
             release_atom) -> caf::result<query_result> {
        return under_lease<query_result>(self, lease_id, true, start_execute(sql));
      },
      [self](execute_atom, std::uint64_t lease_id,
             const proxy_request& request) -> caf::result<proxy_outcome> {
        return under_lease<proxy_outcome>(self, lease_id, false, start_run(request));
      },
      [self](begin_atom, std::uint64_t lease_id) -> caf::result<bool> {
        return under_lease<bool>(self, lease_id, false, start_begin);
      },
      [self](close_atom) -> caf::result<bool> {
        if (self->state.ending)
          return refused_while_ending();
        if (self->state.busy)
          return caf::skip;
        self->state.current_lease = 0;
        return call_for_reply<bool, bool>(self, start_close, [self](std::exception_ptr, bool) {
          self->quit();
          return true;
        });
      },
      [](const backend_completion& completion) { completion.resume(); },
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
    return caf::actor_cast<connection_actor>(
        sys.spawn<caf::detached>(connection_impl, std::move(backend), std::move(listener)));
  return caf::actor_cast<connection_actor>(
      sys.spawn(connection_impl, std::move(backend), std::move(listener)));
}

} // namespace exapool

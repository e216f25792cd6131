#include "integration/exasim/blocking_engine.hpp"

#include "integration/exasim/exasol_statements.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <optional>
#include <type_traits>

namespace exasim {
namespace {

using exafront::done;

const char* const authentication_failed = "Connection exception - authentication failed.";

sql_error internal_error(const std::exception& e) {
  return sql_error{"00000", std::string("internal error: ") + e.what()};
}

// What a call that threw completes with.
template <class Result> Result failure(const std::exception& e) {
  if constexpr (std::is_same_v<Result, execution> ||
                std::is_same_v<Result, std::optional<execution>>)
    return execution{{}, internal_error(e)};
  else if constexpr (std::is_same_v<Result, bool>)
    return false;
  else
    return internal_error(e);
}

// `work`'s result, or what a call that threw completes with.
template <class Result, class Work> Result guarded(Work& work) {
  try {
    return work();
  } catch (const std::exception& e) {
    return failure<Result>(e);
  }
}

// Runs `work` on a worker and hands its result to `completion` there; an exception becomes an
// internal error, so the completion always runs.
template <class Work, class Result>
void run_on(boost::asio::thread_pool& workers, Work work, done<Result> completion) {
  boost::asio::post(workers,
                    [work = std::move(work), completion = std::move(completion)]() mutable {
                      completion(guarded<Result>(work));
                    });
}

class blocking_session : public exafront::engine_session {
public:
  blocking_session(std::unique_ptr<sync_session> session, boost::asio::thread_pool& workers)
      : session_(std::move(session)), workers_(workers) {}

  void execute(std::vector<std::string> statements, attribute_set& attributes,
               done<execution> completion) override {
    // A cheap SELECT answers from here: a worker hand-off costs more than the statement
    // (two thread wake-ups, most of exasim's CPU per SELECT 1).
    auto quick = [&] { return session_->try_execute_quick(statements.front(), attributes); };
    if (statements.size() == 1)
      if (auto answer = guarded<std::optional<execution>>(quick))
        return completion(std::move(*answer));
    run_on(
        workers_,
        [this, statements = std::move(statements), &attributes] {
          if (auto error = session_->sync_attributes(attributes))
            return execution{{}, error};
          execution all;
          for (const auto& sql : statements) {
            execution one = session_->execute(sql, attributes);
            if (one.error) // a batch stops at its first failing statement
              return one;
            for (auto& r : one.results)
              all.results.push_back(std::move(r));
          }
          return all;
        },
        std::move(completion));
  }

  void sync_attributes(attribute_set& attributes,
                       done<std::optional<sql_error>> completion) override {
    run_on(
        workers_, [this, &attributes] { return session_->sync_attributes(attributes); },
        std::move(completion));
  }

  void prepare(std::string sql_text, attribute_set& /*attributes*/,
               done<std::variant<prepared_statement_info, sql_error>> completion) override {
    run_on(
        workers_, [this, sql_text = std::move(sql_text)] { return session_->prepare(sql_text); },
        std::move(completion));
  }

  void execute_prepared(std::int64_t handle, boost::json::array data, std::size_t num_rows,
                        attribute_set& attributes, done<execution> completion) override {
    run_on(
        workers_,
        [this, handle, data = std::move(data), num_rows, &attributes] {
          if (auto error = session_->sync_attributes(attributes))
            return execution{{}, error};
          return session_->execute_prepared(handle, data, num_rows, attributes);
        },
        std::move(completion));
  }

  void close_prepared(std::int64_t handle, done<bool> completion) override {
    run_on(
        workers_, [this, handle] { return session_->close_prepared(handle); },
        std::move(completion));
  }

  void interrupt() override { session_->interrupt(); }

private:
  std::unique_ptr<sync_session> session_;
  boost::asio::thread_pool& workers_;
};

bool listed(const std::vector<std::string>& tokens, const std::string& token) {
  return !token.empty() && std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

} // namespace

blocking_engine::blocking_engine(std::unique_ptr<sync_engine> engine, credential_store credentials,
                                 boost::asio::thread_pool& workers)
    : engine_(std::move(engine)), credentials_(std::move(credentials)), workers_(workers) {}

std::optional<std::string>
blocking_engine::authenticate(const exafront::login_request& request) const {
  if (request.token) {
    if (!listed(credentials_.access_tokens, request.access_token) &&
        !listed(credentials_.refresh_tokens, request.refresh_token))
      return std::nullopt;
    auto user = upper_ascii(request.user);
    return user.empty() ? std::string("OPENID_USER") : user;
  }
  // Exasol user names are identifiers: unquoted they compare in upper case.
  auto user = upper_ascii(request.user);
  for (const auto& [name, secret] : credentials_.users)
    if (upper_ascii(name) == user && request.password == secret)
      return user;
  return std::nullopt;
}

void blocking_engine::open_session(exafront::login_request request,
                                   done<exafront::login_outcome> completion) {
  auto user = authenticate(request);
  if (!user)
    return completion(sql_error{"08004", authentication_failed});
  session_identity who{request.session_id, *user};
  boost::asio::post(workers_, [this, who, completion = std::move(completion)] {
    try {
      exafront::login_accepted accepted;
      accepted.session = std::make_unique<blocking_session>(engine_->open_session(who), workers_);
      accepted.user_name = who.user_name;
      completion(std::move(accepted));
    } catch (const std::exception& e) {
      completion(sql_error{"08004", std::string("cannot open a database session: ") + e.what()});
    }
  });
}

} // namespace exasim

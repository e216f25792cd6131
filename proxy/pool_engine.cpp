#include "proxy/pool_engine.hpp"

#include "actors/runtime.hpp"
#include "messages/errors.hpp"
#include "proxy/result_json.hpp"

#include <boost/json/serialize.hpp>

#include <caf/send.hpp>

#include <cctype>
#include <memory>

namespace exapool::proxy {
namespace {

using exafront::attribute_set;
using exafront::done;
using exafront::execution;
using exafront::sql_error;

std::string upper_ascii(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// Takes over what the request changed on the connection into the client's attributes, and
// tells whether it failed.
std::optional<sql_error> error_of(caf::expected<proxy_outcome>& answer, attribute_set& attributes) {
  if (!answer)
    return front_error(answer.error());
  take_attributes(answer->after, answer->transaction_open, attributes);
  if (answer->failed())
    return sql_error{answer->sql_code, answer->text};
  return std::nullopt;
}

execution execution_of(caf::expected<proxy_outcome>& answer, attribute_set& attributes) {
  if (auto error = error_of(answer, attributes))
    return execution{{}, std::move(error)};
  execution out;
  out.results.reserve(answer->results.size());
  for (const auto& r : answer->results)
    out.results.push_back(front_result(r));
  return out;
}

// One client's session: a handle on its proxy session actor, which ends with it.
class pool_session : public exafront::engine_session {
public:
  explicit pool_session(proxy_session_actor actor) : actor_(std::move(actor)) {}
  ~pool_session() override { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }

  void execute(std::vector<std::string> statements, attribute_set& attributes,
               done<execution> completion) override {
    proxy_request request;
    request.type =
        statements.size() == 1 ? proxy_request::kind::execute : proxy_request::kind::batch;
    request.sql = std::move(statements);
    call(std::move(request), attributes,
         [&attributes, completion](caf::expected<proxy_outcome> answer) {
           completion(execution_of(answer, attributes));
         });
  }

  void sync_attributes(attribute_set& attributes,
                       done<std::optional<sql_error>> completion) override {
    proxy_request request;
    request.type = proxy_request::kind::set_attributes;
    call(std::move(request), attributes,
         [&attributes, completion](caf::expected<proxy_outcome> answer) {
           completion(error_of(answer, attributes));
         });
  }

  void
  prepare(std::string sql_text, attribute_set& attributes,
          done<std::variant<exafront::prepared_statement_info, sql_error>> completion) override {
    proxy_request request;
    request.type = proxy_request::kind::prepare;
    request.sql = {std::move(sql_text)};
    call(std::move(request), attributes,
         [&attributes, completion](caf::expected<proxy_outcome> answer) {
           // Only the handle and columns matter: the describe-shape results are not converted.
           if (auto error = error_of(answer, attributes))
             return completion(*error);
           exafront::prepared_statement_info info;
           info.handle = answer->handle;
           info.parameters = front_columns(answer->parameter_columns_json);
           auto columns = front_columns(answer->result_columns_json);
           if (!columns.empty())
             info.result_columns = exafront::result_set{std::move(columns), {}, 0};
           completion(std::move(info));
         });
  }

  void execute_prepared(std::int64_t handle, boost::json::array data, std::size_t num_rows,
                        attribute_set& attributes, done<execution> completion) override {
    proxy_request request;
    request.type = proxy_request::kind::execute_prepared;
    request.handle = handle;
    request.data_json = boost::json::serialize(data);
    request.num_rows = num_rows;
    call(std::move(request), attributes,
         [&attributes, completion](caf::expected<proxy_outcome> answer) {
           completion(execution_of(answer, attributes));
         });
  }

  void close_prepared(std::int64_t handle, done<bool> completion) override {
    proxy_request request;
    request.type = proxy_request::kind::close_prepared;
    request.handle = handle;
    caf::anon_send(
        actor_, proxy_call{std::move(request), [completion](caf::expected<proxy_outcome> answer) {
                             completion(answer && !answer->failed());
                           }});
  }

  void interrupt() override { caf::anon_send(actor_, abort_atom::value); }

  std::optional<sql_error> unsupported(const std::string& command) const override {
    if (command == "enterParallel" || command == "requestParallelConnections" ||
        command == "subLogin" || command == "subLoginToken")
      return sql_error{"0A000", "exapool proxy: " + command +
                                    " is not supported: subconnections need the upstream "
                                    "cluster's nodes, and the proxy pools whole sessions"};
    return std::nullopt;
  }

private:
  template <class Completion>
  void call(proxy_request request, const attribute_set& attributes, Completion completion) {
    request.wanted = wanted_attributes(attributes);
    caf::anon_send(actor_, proxy_call{std::move(request), std::move(completion)});
  }

  proxy_session_actor actor_;
};

} // namespace

sql_error front_error(const caf::error& err) {
  auto code = code_of(err);
  auto text = "exapool proxy: " + context_of(err);
  switch (code) {
  case pool_errc::authentication_failed:
    return {"08004", text};
  case pool_errc::statement_aborted:
    return {"R0003", text};
  default:
    return {"08001", text};
  }
}

pool_engine::pool_engine(runtime& rt, upstream_settings settings)
    : runtime_(rt), settings_(std::move(settings)) {}

credentials pool_engine::credentials_for(const exafront::login_request& request) const {
  credentials creds = settings_.base;
  creds.user = request.user;
  if (request.token) {
    creds.access_token.value = request.access_token;
    creds.refresh_token.value = request.refresh_token;
  } else {
    creds.password.value = request.password;
  }
  creds.client_name = "exapool proxy for " + upper_ascii(request.user);
  return creds;
}

void pool_engine::open_session(exafront::login_request request,
                               done<exafront::login_outcome> completion) {
  auto actor = runtime_.spawn_proxy_session(credentials_for(request), settings_.mode);
  auto user = upper_ascii(request.user);
  caf::anon_send(actor, proxy_login{[actor, user, completion](caf::error err) {
                   if (err) {
                     caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
                     return completion(front_error(err));
                   }
                   exafront::login_accepted accepted;
                   accepted.session = std::make_unique<pool_session>(actor);
                   accepted.user_name = user;
                   accepted.database_name = "EXAPOOL PROXY";
                   completion(std::move(accepted));
                 }});
}

} // namespace exapool::proxy

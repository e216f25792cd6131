#include "query.hpp"

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <cstdint>
#include <utility>
#include <variant>

namespace http_service {
namespace {

namespace json = boost::json;

struct json_of {
  json::value operator()(std::monostate) const { return nullptr; }
  json::value operator()(bool b) const { return b; }
  json::value operator()(std::int64_t n) const { return n; }
  json::value operator()(double d) const { return d; }
  // Exact decimals stay text: as a JSON number most clients would parse them into a double and
  // lose digits.
  json::value operator()(const exasol::decimal& d) const { return json::string(d.text); }
  json::value operator()(const std::string& s) const { return json::string(s); }
};

// {"columns":[{"name":..,"type":..}],"rows":[[..]]}. The client's result set is column-major,
// as on the wire; HTTP clients want rows.
json::object rows_json(const exasol::result_set& rs) {
  json::array columns, rows;
  for (const auto& c : rs.columns)
    columns.push_back(json::object{{"name", c.name}, {"type", c.type}});
  for (std::size_t r = 0; r < rs.row_count(); ++r) {
    json::array row;
    for (std::size_t c = 0; c < rs.column_count(); ++c)
      row.push_back(std::visit(json_of{}, rs.at(r, c)));
    rows.push_back(std::move(row));
  }
  return {{"columns", std::move(columns)}, {"rows", std::move(rows)}};
}

reply success(const exapool::query_result& result) {
  // One statement per request: one result, rows (SELECT) or a row count (DML, DDL).
  if (result.results.empty())
    return {502, error_json("internal", "", "the statement returned no result")};
  const auto& first = result.results.front();
  if (first.is_result_set())
    return {200, json::serialize(rows_json(first.rows))};
  return {200, json::serialize(json::object{{"rowCount", first.row_count}})};
}

// The status says what the HTTP client can do: fix its SQL (422), try again later (503), or
// nothing: the database or the pool failed (502).
unsigned status_of(const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return 503;
  switch (exapool::code_of(err)) {
  case exapool::pool_errc::server_error:
  case exapool::pool_errc::result_too_large:
    return 422;
  case exapool::pool_errc::acquire_timeout:
  case exapool::pool_errc::too_many_waiters:
  case exapool::pool_errc::session_limit:
  case exapool::pool_errc::statement_aborted:
  case exapool::pool_errc::shutting_down:
    return 503;
  default:
    return 502;
  }
}

reply failure(caf::actor_system& sys, const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return {503, error_json("request_timeout", "", "no answer within the service's timeout")};
  auto info = exapool::info_of(err);         // kind, the server's sqlCode, text: never a secret
  if (info.kind == exapool::pool_errc::none) // not an exapool error, e.g. the session died
    return {status_of(err), error_json("internal", "", sys.render(err))};
  return {status_of(err), error_json(exapool::to_string(info.kind), info.sql_code, info.text)};
}

} // namespace

std::string error_json(const std::string& kind, const std::string& sql_code,
                       const std::string& message) {
  json::object error{{"kind", kind}};
  if (!sql_code.empty())
    error["sqlCode"] = sql_code;
  error["message"] = message;
  return json::serialize(json::object{{"error", std::move(error)}});
}

void run_query(exapool::runtime& rt, const exapool::credentials& creds, std::string sql,
               caf::timespan timeout, std::function<void(reply)> done) {
  auto session = rt.spawn_session(creds); // a session per unit of work: here, per request
  // A small actor makes the request, so the answer arrives in a response handler instead of a
  // blocked thread. It ends once its one request is answered.
  rt.system().spawn([session, timeout, sql = std::move(sql),
                     done = std::move(done)](caf::event_based_actor* self) {
    auto finish = [self, session, done](reply r) {
      // Ending the session gives back what it holds; after a timeout the pool aborts the
      // statement on the server.
      self->send_exit(session, caf::exit_reason::user_shutdown);
      done(std::move(r));
    };
    self->request(session, timeout, exapool::execute_atom::value, sql)
        .then([finish](exapool::query_result& result) { finish(success(result)); },
              [self, finish](caf::error& err) { finish(failure(self->system(), err)); });
  });
}

} // namespace http_service

// What `exapool proxy` asks of a leased connection for one client request, and what comes back.
// The client's session attributes travel with every request (the connection applies only what
// differs from its own), and everything the client must see of the session comes back with
// the outcome. A server error is an outcome too, with the sqlCode as the server sent it; only
// transport and lease failures are caf::errors.
#pragma once

#include "integration/exasol/values.hpp"
#include "messages/query.hpp"
#include "messages/session_change.hpp"

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exapool {

struct proxy_request {
  enum class kind : std::uint8_t {
    execute,          // sql[0]
    batch,            // every sql text, one executeBatch
    prepare,          // sql[0]: createPreparedStatement
    execute_prepared, // handle, data_json, num_rows
    close_prepared,   // handle
    set_attributes,   // only the attributes below
  };
  kind type = kind::execute;
  std::vector<std::string> sql;
  // The attributes the client's session has now (autocommit, currentSchema, queryTimeout,
  // numericCharacters, snapshotTransactionsEnabled, timestampUtcEnabled, resultSetMaxRows);
  // the connection sets those that differ before the statement. Other names are ignored.
  exasol::attributes wanted;
  std::int64_t handle = 0;    // the prepared statement (execute_prepared, close_prepared)
  std::string data_json;      // its parameters: column-major JSON array, passed on untouched
  std::uint64_t num_rows = 0; // rows in data_json
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, proxy_request& x) {
  auto type = static_cast<std::uint8_t>(x.type);
  auto apply_type = [&]() -> caf::error {
    if (type > static_cast<std::uint8_t>(proxy_request::kind::set_attributes))
      return caf::make_error(caf::sec::unknown_type, "unknown proxy_request kind");
    x.type = static_cast<proxy_request::kind>(type);
    return {};
  };
  return f(caf::meta::type_name("proxy_request"), type, x.sql, x.wanted, x.handle, x.data_json,
           x.num_rows, caf::meta::load_callback(apply_type));
}

struct proxy_outcome {
  // One entry per statement (execute: one; batch: one per text; prepare: the describe-shape
  // results; execute_prepared: one), every result set fully fetched.
  std::vector<exasol::result> results;
  // The session's attributes after the request, as the connection knows them.
  exasol::attributes after;
  // A server error: its sqlCode exactly as sent ("42000", "R0001", ...) and its text without
  // the "[code] " prefix. Empty sql_code: the request succeeded.
  std::string sql_code;
  std::string text;
  bool transaction_open = false;   // autocommit off and statements since COMMIT/ROLLBACK
  std::uint64_t open_prepared = 0; // prepared statements open on the connection
  session_change change = session_change::none; // of this request's SQL
  // prepare: the statement's handle and its parameter and result columns as the server sent
  // them (JSON arrays; empty when it has none).
  std::int64_t handle = 0;
  std::string parameter_columns_json;
  std::string result_columns_json;

  bool failed() const { return !sql_code.empty(); }
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, proxy_outcome& x) {
  auto change = static_cast<std::uint8_t>(x.change);
  auto apply_change = [&]() -> caf::error {
    if (change > static_cast<std::uint8_t>(session_change::lasting))
      return caf::make_error(caf::sec::unknown_type, "unknown session_change");
    x.change = static_cast<session_change>(change);
    return {};
  };
  return f(caf::meta::type_name("proxy_outcome"), x.results, x.after, x.sql_code, x.text,
           x.transaction_open, x.open_prepared, change, x.handle, x.parameter_columns_json,
           x.result_columns_json, caf::meta::load_callback(apply_change));
}

} // namespace exapool

// Everything that changes an Exasol connection or its session. Two credentials that differ in
// any field must never share a pooled connection, so every field takes part in the pool key.
#pragma once

#include <caf/detail/stringification_inspector.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace exapool {

// A password or token. Serialised as is (a remote pool needs it), but printed as "<redacted>",
// so CAF's to_string of any message that carries one (logs, errors) never shows it.
struct secret {
  std::string value;
  bool empty() const { return value.empty(); }
  friend bool operator==(const secret& a, const secret& b) { return a.value == b.value; }
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, secret& x) {
  if constexpr (std::is_same<Inspector, caf::detail::stringification_inspector>::value) {
    std::string shown = x.value.empty() ? "" : "<redacted>";
    return f(shown);
  } else {
    return f(x.value);
  }
}

struct credentials {
  std::string dsn; // host[/fingerprint][:port][,...]; fingerprints and nocertcheck live here
  std::string user;
  secret password;
  secret access_token;
  secret refresh_token;
  std::string schema; // opened at login; empty: none
  bool tls = true;
  bool insecure = false; // no certificate checks (tests only)
  std::string ca_file;
  bool compression = false;
  int protocol_version = 3;
  bool autocommit = true;
  int server_query_timeout_s = 0; // the session attribute queryTimeout
  // The other writable session attributes. Unset (the default), nothing is sent and the
  // server's default stays; set, they are applied like the three above and every reset
  // restores them. caf::optional, as CAF 0.17's inspect knows no std::optional.
  caf::optional<bool> snapshot_transactions; // snapshotTransactionsEnabled
  caf::optional<bool> timestamp_utc;         // timestampUtcEnabled
  // numericCharacters (NLS_NUMERIC_CHARACTERS): the decimal, then the group separator, e.g.
  // ".,"; two distinct ASCII characters.
  caf::optional<std::string> numeric_characters;
  caf::optional<int> feedback_interval_s; // feedbackInterval: seconds between heartbeats, > 0
  // resultSetMaxRows (protocol v2+; 0 = no limit): the server returns at most this many rows
  // of a result set, and drops the rest without an error.
  caf::optional<std::uint64_t> result_set_max_rows;
  caf::timespan connect_timeout = std::chrono::seconds(10);
  // The whole login after the handshake, however many heartbeats the server sends meanwhile.
  caf::timespan login_timeout = std::chrono::seconds(20);
  caf::timespan socket_timeout = std::chrono::seconds(30);
  caf::timespan query_timeout{0};
  std::string client_name = "exapool";
  // A result larger than these fails its statement with result_too_large (the connection
  // stays in the pool). Rows: 0 is no limit. Bytes: the client's decoded size.
  std::uint64_t max_result_rows = 0;
  std::uint64_t max_result_bytes = std::uint64_t(1) << 30;
  // Run in order once on every new connection, after the login (which sets schema, autocommit
  // and queryTimeout) and before the pool hands it out. What they leave (an opened schema, an
  // ALTER SESSION) is the session's baseline, which every reset restores; a transaction they
  // leave open is committed. One failing fails the open.
  std::vector<std::string> init_sql;
};

// How the printed credentials show init_sql: its count, never its text (a statement may be
// long, or carry a secret, e.g. CREATE CONNECTION ... IDENTIFIED BY).
inline std::string init_sql_summary(const std::vector<std::string>& statements) {
  return std::to_string(statements.size()) + " init SQL statement" +
         (statements.size() == 1 ? "" : "s");
}

template <class Inspector, class InitSql>
typename Inspector::result_type inspect_fields(Inspector& f, credentials& x, InitSql& init_sql) {
  return f(caf::meta::type_name("credentials"), x.dsn, x.user, x.password, x.access_token,
           x.refresh_token, x.schema, x.tls, x.insecure, x.ca_file, x.compression,
           x.protocol_version, x.autocommit, x.server_query_timeout_s, x.connect_timeout,
           x.socket_timeout, x.query_timeout, x.client_name, x.max_result_rows, x.max_result_bytes,
           x.login_timeout, init_sql, x.snapshot_transactions, x.timestamp_utc,
           x.numeric_characters, x.feedback_interval_s, x.result_set_max_rows);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, credentials& x) {
  if constexpr (std::is_same<Inspector, caf::detail::stringification_inspector>::value) {
    std::string shown = init_sql_summary(x.init_sql);
    return inspect_fields(f, x, shown);
  } else {
    return inspect_fields(f, x, x.init_sql);
  }
}

} // namespace exapool

// One Exasol session over a WebSocket (ws or wss): connect, login, commands. A blocking API
// with a deadline on every step, driven on a private io_context by the calling thread (no
// threads of its own). Use a connection from one thread at a time; abort_query() is the one
// call that another thread may make while a query runs.
#pragma once

#include "integration/exasol/errors.hpp"
#include "integration/exasol/request.hpp"
#include "integration/exasol/values.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace exasol {

struct connection_options {
  std::string dsn; // "host[/fingerprint][:port][,...]" (see dsn.hpp)
  std::string user;
  std::string password;      // RSA-encrypted on the wire; never in an error text
  std::string access_token;  // OpenID: loginToken with accessToken (needs TLS)
  std::string refresh_token; // OpenID: loginToken with refreshToken (needs TLS)

  bool tls = true;          // wss (default) or ws
  bool insecure = false;    // TLS without certificate checks (as "nocertcheck" in the DSN)
  std::string ca_file;      // PEM CA bundle; empty: the system store
  bool compression = false; // zlib-compressed binary frames after login
  int protocol_version = 3; // requested; the server may pick a lower one

  // Initial session attributes sent with the login.
  std::string schema; // currentSchema; empty: none
  bool autocommit = true;
  int server_query_timeout_s = 0; // the session attribute queryTimeout (R0001 on expiry), 0 = off
  // Unset: not sent, the server's default stays. resultSetMaxRows is no login attribute: it
  // needs protocol v2, and the version in use is known only after the login (the pool sets it
  // with setAttributes then).
  std::optional<bool> snapshot_transactions;     // snapshotTransactionsEnabled
  std::optional<bool> timestamp_utc;             // timestampUtcEnabled
  std::optional<std::string> numeric_characters; // the decimal, then the group separator: ".,"
  // feedbackInterval: seconds between the server's heartbeats while a query runs; shorter than
  // socket_timeout, or a long query's silence ends the connection.
  std::optional<int> feedback_interval_s;

  // Every wait is bounded; 0 turns a limit off. Heartbeats (Pings, Pongs) never extend a
  // deadline, except that they keep a query without query_timeout alive (see README.md).
  std::chrono::milliseconds connect_timeout{10000}; // per address: TCP + TLS + WebSocket handshake
  std::chrono::milliseconds login_timeout{20000};   // the whole login exchange after the handshake
  std::chrono::milliseconds socket_timeout{30000};  // each write and each non-query response;
                                                    // the longest silence while a query runs
  std::chrono::milliseconds query_timeout{0};       // a whole execute; 0 = none; then abortQuery
  std::chrono::milliseconds abort_grace{2000};      // after any abortQuery: its answer's limit

  std::size_t max_message_bytes = std::size_t(64) << 20; // largest (decompressed) response
  // The largest result a statement may return, checked before and during fetching; beyond it
  // the client closes the result's handle and throws error_kind::result_too_large. Rows: 0 =
  // no limit. Bytes: what the rows take in the client (a value per cell plus the text of
  // strings and decimals), 0 = no limit; the default keeps a lying server from exhausting
  // memory while any result a pooled statement reasonably returns fits.
  std::uint64_t max_result_rows = 0;
  std::uint64_t max_result_bytes = std::uint64_t(1) << 30;
  std::uint64_t fetch_bytes = std::uint64_t(5) << 20; // numBytes of each fetch
  bool shuffle_hosts = true; // spread sessions over the DSN's addresses (as pyexasol does)

  request::client_identity identity;
};

// True for a valid numericCharacters: two distinct printable ASCII characters.
bool valid_numeric_characters(const std::string& chars);

class connection {
public:
  // Resolves every DSN address, shuffles, connects to the first that answers, logs in.
  // Throws exasol::error; when every address fails the text lists each one and why.
  explicit connection(connection_options options);
  ~connection(); // closes the socket without waiting (call disconnect() for a clean goodbye)
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  const session_info& session() const;
  const std::string& peer_address() const; // "host (ip:port)" that was connected

  // One statement; every result, handle-backed result sets fully fetched and closed.
  std::vector<result> execute(std::string_view sql);
  // Convenience: the first result, which must be a result set.
  result_set query(std::string_view sql);
  std::vector<result> execute_batch(const std::vector<std::string>& sql_texts);

  prepared_statement prepare(std::string_view sql);
  // rows are row-major: rows[r][c] is the value of parameter c in row r.
  std::vector<result> execute_prepared(const prepared_statement& statement,
                                       const std::vector<std::vector<value>>& rows);
  // Parameters as another client sent them (see request::execute_prepared_statement_raw):
  // `parameter_columns_json` is the statement's parameter_columns_json, `data_json` the
  // column-major data, passed on verbatim.
  std::vector<result> execute_prepared_raw(std::int64_t handle,
                                           std::string_view parameter_columns_json,
                                           std::string_view data_json, std::uint64_t num_rows);
  void close_prepared(prepared_statement& statement);

  // Reads the full attribute set from the server (and refreshes attributes()).
  const exasol::attributes& get_attributes();
  void set_attributes(const exasol::attributes& attrs);

  // Thread-safe: asks the server to abort the query now running on this connection; does
  // nothing when none runs. The query then usually fails with sqlCode R0003.
  void abort_query();

  // Sends disconnect, tolerates EOF instead of the reply, closes. The connection is closed
  // afterwards (is_open() false) even when this throws.
  void disconnect();
  void close() noexcept; // drops the socket without a goodbye

  // Session state, for a pool deciding whether a returned connection is clean.
  bool is_open() const;   // logged in, not broken, not closed
  bool is_broken() const; // a transport or protocol failure ended this session
  const exasol::attributes& attributes() const; // merged from every response
  bool autocommit() const;
  std::string current_schema() const;
  // True when autocommit is off and statements ran since the last COMMIT/ROLLBACK, or the
  // server reported openTransaction = true.
  bool transaction_may_be_open() const;
  std::size_t open_result_sets() const;         // handles not closed (e.g. after a failed fetch)
  std::size_t open_prepared_statements() const; // prepared and not yet closed
  // Closes every result set handle and prepared statement still open on the server (a pool's
  // reset). Server errors for objects already gone are ignored; transport errors throw.
  void close_leftovers();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace exasol

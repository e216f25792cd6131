// Builds the JSON text of client requests (protocol reference §2, §4). Pure, no I/O.
#pragma once

#include "integration/exasol/values.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace exasol::request {

// How the client introduces itself; shown by the server in EXA_ALL_SESSIONS.
struct client_identity {
  std::string client_name = "exapool";
  std::string driver_name = "exapool-exasol-cpp 0.1";
  std::string client_os;          // empty: filled from uname at login
  std::string client_os_username; // empty: filled from the environment at login
  std::string client_language = "en_US";
  std::string client_version = "0.1.0";
  std::string client_runtime = "C++17";
};

// Step 2 of login or loginToken. Exactly one secret is used: the encrypted password (with
// username), an access token or a refresh token.
struct credentials {
  std::string username;
  std::string encrypted_password; // base64 RSA ciphertext
  std::string access_token, refresh_token;
  bool use_compression = false;
  client_identity identity;
  attributes initial_attributes;
};

std::string login(int protocol_version);
std::string login_token(int protocol_version);
std::string login_credentials(const credentials& c);
std::string execute(std::string_view sql_text);
std::string execute_batch(const std::vector<std::string>& sql_texts);
std::string fetch(std::int64_t handle, std::uint64_t start_position, std::uint64_t num_bytes);
std::string close_result_set(std::int64_t handle);
std::string create_prepared_statement(std::string_view sql_text);
// rows are row-major (rows[r][c]); the request carries them column-major as the wire wants.
std::string execute_prepared_statement(const prepared_statement& statement,
                                       const std::vector<std::vector<value>>& rows);
// The same with the parameters as they came from another client: `columns_json` is the
// statement's parameterData.columns (a JSON array), `data_json` the column-major data (a JSON
// array of one array of num_rows values per column, or empty for none), spliced in verbatim
// (no number is re-encoded). Throws error_kind::config when either is not JSON of that shape.
std::string execute_prepared_statement_raw(std::int64_t handle, std::string_view columns_json,
                                           std::string_view data_json, std::uint64_t num_rows);
std::string close_prepared_statement(std::int64_t handle);
std::string get_attributes();
std::string set_attributes(const attributes& attrs);
std::string abort_query();
std::string disconnect();

} // namespace exasol::request

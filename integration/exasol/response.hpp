// Pure parsing of server responses (JSON text -> typed results), no I/O. Every function throws
// exasol::error: kind server (with sqlCode) when the response says status "error", kind protocol
// when the text is malformed, truncated, wrongly typed or not the expected shape.
#pragma once

#include "integration/exasol/values.hpp"

#include <string_view>

namespace exasol::response {

// Step 1 of a password login: the server's RSA public key (protocol reference §2.1).
struct login_key {
  std::string pem, modulus_hex, exponent_hex;
};
login_key parse_login_key(std::string_view text);

// The login response: session id (uint64, exact), protocol version in use, limits.
session_info parse_session_info(std::string_view text);

// Responses that carry no responseData (closeResultSet, closePreparedStatement, getAttributes,
// setAttributes, disconnect, step 1 of loginToken): the attributes they report.
attributes parse_status(std::string_view text);

// execute, executeBatch, executePreparedStatement: every result, typed by its columns. A result
// set with a handle holds the inline rows it came with (usually none) and total_rows.
struct results_response {
  std::vector<result> results;
  attributes changed;
};
results_response parse_results(std::string_view text);

// fetch: appends this chunk's rows to `into`, typed by into.columns. Returns the chunk's rows.
struct fetch_response {
  std::size_t rows = 0;
  attributes changed;
};
fetch_response parse_fetch_into(std::string_view text, result_set& into);

// createPreparedStatement: handle, parameter columns and the describe results.
struct prepared_response {
  prepared_statement statement;
  attributes changed;
};
prepared_response parse_prepared(std::string_view text);

} // namespace exasol::response

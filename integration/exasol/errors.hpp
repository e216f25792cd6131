// The one exception type of the Exasol client. Its kind tells a caller (and the pool) what went
// wrong without parsing text: a server error leaves the connection usable, most other kinds
// mark it broken. Texts never contain passwords or tokens.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace exasol {

enum class error_kind {
  server,               // the server answered status "error" (an SQL error): sql_code() and text
  auth,                 // login rejected (08004 and any other error during login)
  refused,              // TCP connection refused
  reset,                // connection closed or reset by the peer (EOF, killed session)
  network,              // another transport failure (unreachable, I/O error)
  tls,                  // TLS handshake or certificate verification failed
  fingerprint_mismatch, // the server certificate does not match the pinned fingerprint
  timeout,              // connect, socket or query timeout
  protocol,             // malformed, truncated or unexpected message from the server
  config,               // bad DSN or option (also: a password too long for the RSA key)
  broken,               // the connection was used after it broke or was closed
  dns,                  // no host name of the DSN could be resolved
  result_too_large,     // a result passed max_result_rows or max_result_bytes (the client
                        // closed its handle: the connection stays usable)
};

// A short stable name of the kind ("server", "auth", ...), for logs and test output.
std::string_view to_string(error_kind kind);

class error : public std::runtime_error {
public:
  error(error_kind kind, const std::string& text, std::string sql_code = {})
      : std::runtime_error(text), kind_(kind), sql_code_(std::move(sql_code)) {}

  error_kind kind() const { return kind_; }
  // The 5-character Exasol code for server and auth errors ("42000", "08004", "R0003"), else "".
  const std::string& sql_code() const { return sql_code_; }

private:
  error_kind kind_;
  std::string sql_code_;
};

} // namespace exasol

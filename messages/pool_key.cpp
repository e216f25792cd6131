#include "messages/pool_key.hpp"

#include "integration/exasol/codec.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <type_traits>

namespace exapool {
namespace {

// Drawn once per process (a function-local static: initialised exactly once, before first use).
const std::array<unsigned char, 32>& process_key() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1)
      throw std::runtime_error("pool key: no random bytes from OpenSSL");
    return k;
  }();
  return key;
}

void put(std::string& out, const char* tag, const std::string& value) {
  out += tag;
  out += '=';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

void put(std::string& out, const char* tag, long long value) {
  put(out, tag, std::to_string(value));
}

// Unset and set encode apart: "-" alone, or "+" and the value.
template <class T> void put(std::string& out, const char* tag, const caf::optional<T>& value) {
  if (!value)
    return put(out, tag, std::string("-"));
  if constexpr (std::is_same<T, std::string>::value)
    put(out, tag, "+" + *value);
  else
    put(out, tag, "+" + std::to_string(*value));
}

} // namespace

std::string canonical_encoding(const credentials& c) {
  std::string out = "exapool-credentials-v1;";
  put(out, "dsn", c.dsn);
  put(out, "user", c.user);
  put(out, "password", c.password.value);
  put(out, "access_token", c.access_token.value);
  put(out, "refresh_token", c.refresh_token.value);
  put(out, "schema", c.schema);
  put(out, "tls", c.tls);
  put(out, "insecure", c.insecure);
  put(out, "ca_file", c.ca_file);
  put(out, "compression", c.compression);
  put(out, "protocol_version", c.protocol_version);
  put(out, "autocommit", c.autocommit);
  put(out, "server_query_timeout_s", c.server_query_timeout_s);
  put(out, "connect_timeout_ns", c.connect_timeout.count());
  put(out, "login_timeout_ns", c.login_timeout.count());
  put(out, "socket_timeout_ns", c.socket_timeout.count());
  put(out, "query_timeout_ns", c.query_timeout.count());
  put(out, "client_name", c.client_name);
  put(out, "max_result_rows", std::to_string(c.max_result_rows));
  put(out, "max_result_bytes", std::to_string(c.max_result_bytes));
  // The count first, then each statement length-prefixed: no two lists encode alike.
  put(out, "init_sql_count", static_cast<long long>(c.init_sql.size()));
  for (const auto& statement : c.init_sql)
    put(out, "init_sql", statement);
  put(out, "snapshot_transactions", c.snapshot_transactions);
  put(out, "timestamp_utc", c.timestamp_utc);
  put(out, "numeric_characters", c.numeric_characters);
  put(out, "feedback_interval_s", c.feedback_interval_s);
  put(out, "result_set_max_rows", c.result_set_max_rows);
  return out;
}

pool_key make_pool_key(const credentials& creds) {
  const auto& key = process_key();
  std::string data = canonical_encoding(creds);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) == nullptr)
    throw std::runtime_error("pool key: HMAC-SHA256 failed");
  return pool_key{exasol::codec::to_hex(std::string_view(reinterpret_cast<char*>(md), len))};
}

} // namespace exapool

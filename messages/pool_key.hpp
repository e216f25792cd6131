// The identity of a pool: HMAC-SHA256, under a key drawn at random once per process, over a
// canonical encoding of every credentials field. Equal credentials give equal keys within a
// process; any differing field, the password included, gives a different key; the key's text
// reveals nothing about the credentials (not even across processes).
#pragma once

#include "messages/credentials.hpp"

#include <caf/meta/type_name.hpp>

#include <string>

namespace exapool {

struct pool_key {
  std::string hex; // 64 lower-case hex digits
  friend bool operator==(const pool_key& a, const pool_key& b) { return a.hex == b.hex; }
  friend bool operator!=(const pool_key& a, const pool_key& b) { return !(a == b); }
  friend bool operator<(const pool_key& a, const pool_key& b) { return a.hex < b.hex; }
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, pool_key& x) {
  return f(caf::meta::type_name("pool_key"), x.hex);
}

pool_key make_pool_key(const credentials& creds);

// The canonical encoding the key is computed over: every field tagged and length-prefixed, so
// that no two different credentials encode alike. Exposed for tests; it contains secrets, so
// never print it.
std::string canonical_encoding(const credentials& creds);

} // namespace exapool

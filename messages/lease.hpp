// What a borrower holds between borrow and give_back: the connection actor and the lease id
// that actor will accept. Once the lease is given back (or taken back from a dead borrower) the
// connection actor refuses this id, so a lease can never reach a connection after its end.
#pragma once

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>

namespace exapool {

struct lease {
  caf::actor connection;
  std::uint64_t id = 0; // unique per pool; 0 is never a valid lease
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, lease& x) {
  return f(caf::meta::type_name("lease"), x.connection, x.id);
}

} // namespace exapool

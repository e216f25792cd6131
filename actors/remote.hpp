// Remote sessions: a pool node publishes its supervisor (behind a front,
// actors/pool_node_front.hpp) with CAF's io middleman, and service nodes in other processes
// reach it: their sessions borrow, run statements and give back through the pool node's pools
// exactly as local sessions do, and the pool node's pools monitor them as borrowers, so a
// service node that dies (its connection to the pool node drops) has its leases taken back.
// Credentials travel to the pool node (its pools log in with them), passwords included: keep
// the port on loopback or a trusted network (there is no authentication, as for the admin
// port).
#pragma once

#include "actors/supervisor_actor.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace exapool {

// Registers every type that crosses the wire between a pool node and a service node (CAF 0.17
// serialises only types it knows by name): credentials, pool keys, leases, results, reports,
// stats and the actor handles. runtime::configure calls it; both sides need it.
void register_wire_types(caf::actor_system_config& cfg);

// Publishes `front` on host:port (0: a free port) and returns the bound port. Throws
// runtime_error (invalid_config) naming the address when it cannot listen there, or when the
// system has no io middleman.
std::uint16_t publish_pool_node(caf::actor_system& sys, const supervisor_actor& front,
                                const std::string& host, std::uint16_t port);

// The supervisor a pool node publishes at host:port, reached through the middleman of `sys`
// (which must be loaded); waits at most `timeout`. Throws runtime_error (connect_failed) naming
// host:port and why: nothing listens there, it does not speak CAF's protocol, no actor is
// published there, or the actor there is not an exapool pool node.
supervisor_actor connect_pool_node(caf::actor_system& sys, const std::string& host,
                                   std::uint16_t port, caf::timespan timeout);

// "host:port" split (the form exapool.pool-node takes). Throws runtime_error (invalid_config)
// naming `option` for a missing host or a port outside 1..65535.
std::pair<std::string, std::uint16_t> split_host_port(const std::string& text,
                                                      const std::string& option);

namespace detail {

// What a caller looks for: "an exapool pool node" and the option that opens its port.
struct endpoint_kind {
  std::string name;
  std::string option;
};

// What the middleman found at host:port: the published actor and its interface, or why not
// (a text for a user, naming what to check).
struct published_actor {
  caf::strong_actor_ptr actor;
  std::set<std::string> interface;
  std::string failure; // empty on success
};

// The middleman's connect with a timeout (its remote_actor waits forever on a peer that
// accepts but never speaks CAF's protocol).
published_actor find_published(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                               caf::timespan timeout, const endpoint_kind& kind);

// Why a request to a published actor failed, for a user (what to check).
std::string why(caf::actor_system& sys, const caf::error& err, caf::timespan timeout,
                const endpoint_kind& kind);

} // namespace detail

} // namespace exapool

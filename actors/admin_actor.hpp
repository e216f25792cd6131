// The admin endpoint: a small actor the runtime publishes on a TCP port with CAF's io
// middleman, so that another process (`exapool stats`) can read the pool counters of a
// service that embeds the runtime, the way pgbouncer's admin console answers SHOW STATS. It
// answers with JSON text (messages/stats_json.hpp): a std::string is a builtin type over the
// wire, so neither side registers message types. There is no authentication: the runtime
// binds it to 127.0.0.1 unless told otherwise, and the answer never holds a secret.
#pragma once

#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace exapool {

using admin_actor = caf::typed_actor<
    // Every pool's stats as stats_to_json text (the supervisor's error when it cannot answer).
    caf::replies_to<caf::get_atom, stats_atom>::with<std::string>>;

// `timeout` bounds the supervisor's answer (a hang guard).
admin_actor spawn_admin(caf::actor_system& sys, supervisor_actor supervisor, caf::timespan timeout);

// Publishes `admin` on host:port (port 0: a free port the system picks) and returns the bound
// port. The system must have the io middleman loaded. Throws runtime_error (invalid_config)
// naming the address when it cannot listen there.
std::uint16_t publish_admin(caf::actor_system& sys, const admin_actor& admin,
                            const std::string& host, std::uint16_t port);

} // namespace exapool

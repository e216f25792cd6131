// CAF-style configuration of the runtime: an actor_system_config that declares every pool
// setting under the group "exapool", so a service configures exapool the way it configures
// CAF: `--exapool.max-size=8 --exapool.acquire-timeout=5s` on the command line, or
//   [exapool]
//   max-size=8
//   acquire-timeout=5s
// in caf-application.ini. A max-size left unset comes from EXAPOOL_POOL_SIZE, else the seed's
// DBT_CONN_POOL_SIZE, else 5.
#pragma once

#include "actors/runtime.hpp"
#include "messages/pool_config.hpp"

#include <caf/actor_system_config.hpp>

namespace exapool {

class runtime_system_config : public caf::actor_system_config {
public:
  // Declares the options and registers the "exapool" error category.
  runtime_system_config();

  // The runtime configuration these options describe. Throws runtime_error (invalid_config,
  // naming the option or variable) for a value no pool can run with.
  runtime_config to_runtime_config() const;

  pool_config pool{}; // bound to the options; max_size 0 means "from the environment"
};

} // namespace exapool

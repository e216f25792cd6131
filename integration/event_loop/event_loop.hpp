// exapool's CAF scheduler: the actors run on the same Asio event loop as the connections'
// sockets, so a statement's hops between session, pool and connection actors and its socket
// completions cost no wake-up of another thread (see bench/README.md, B1). The actor clock
// (request timeouts, delayed messages) is a timer on the same loop instead of CAF's clock
// thread. runtime::configure loads it; CAF's own schedulers stay one option away
// (scheduler.policy = stealing | sharing).
#pragma once

#include <caf/fwd.hpp>

namespace exasol {
class io_threads; // integration/exasol/io_threads.hpp
}

namespace exapool {

// Makes an actor system of `cfg` run its actors on exapool's event loop (scheduler.max-threads
// threads), unless scheduler.policy names one of CAF's schedulers. Call before parsing options.
void load_event_loop(caf::actor_system_config& cfg);

// The loop's threads when `sys` runs on exapool's event loop (connections and endpoints can
// share them), nullptr when it runs on another scheduler.
exasol::io_threads* event_loop_of(caf::actor_system& sys);

} // namespace exapool

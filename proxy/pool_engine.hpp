// The proxy's engine for the protocol front: each client that logs in gets a proxy session actor
// of the runtime, with credentials made of the upstream's address and TLS rules and the
// client's own user and password (or token). Requests go to that actor; its answers come back
// as the front's results. Nothing here blocks: completions run on CAF's threads and the front
// posts them to the client's strand.
#pragma once

#include "actors/proxy_session_actor.hpp"
#include "integration/front/engine.hpp"
#include "messages/credentials.hpp"

#include <cstdint>
#include <string>

namespace exapool {
class runtime;
}

namespace exapool::proxy {

// What every upstream connection of the proxy shares; the user and secret come from the client.
struct upstream_settings {
  credentials base; // dsn, TLS rules, timeouts, limits
  proxy_mode mode = proxy_mode::transaction;
};

class pool_engine : public exafront::engine {
public:
  pool_engine(runtime& rt, upstream_settings settings);

  void open_session(exafront::login_request request,
                    exafront::done<exafront::login_outcome> completion) override;

  // The credentials a client's login maps to: the upstream's, with the client's user and secret,
  // and the proxy's own client name (so upstream sessions are told apart in EXA_ALL_SESSIONS).
  credentials credentials_for(const exafront::login_request& request) const;

private:
  runtime& runtime_;
  upstream_settings settings_;
};

// How the front shows a failed request: an Exasol-style error, its sqlCode kept when upstream
// sent one.
exafront::sql_error front_error(const caf::error& err);

} // namespace exapool::proxy

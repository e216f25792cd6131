// The proxy session actor: one per client logged in to `exapool proxy`. It serves the client's
// requests on pooled connections of the client's own credentials, one request at a time:
// - session mode: the client holds one lease from login to disconnect;
// - transaction mode: each request borrows a connection and gives it back, unless the client
//   must stay on that connection (pinned): a transaction is open, prepared statements are
//   open, or a statement changed the session in a way no attribute can restore (IMPERSONATE,
//   some ALTER SESSION), which pins the client for good.
// When the connection that carried the client's state (its session in session mode; the pin in
// transaction mode) is lost, the client's session is over as against Exasol: every later request
// fails (08001 at the front) until the client disconnects, so that no COMMIT after the loss can
// commit part of a transaction. Without such state only the failed request is lost.
// Requests arrive from the protocol front with a completion, which the actor calls exactly once
// (also when it ends first). The front runs on its own threads: nothing here blocks.
#pragma once

#include "actors/session_actor.hpp"
#include "actors/supervisor_actor.hpp"
#include "messages/credentials.hpp"
#include "messages/proxy.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <functional>

namespace exapool {

// How clients share upstream connections, as pgbouncer's pool_mode.
enum class proxy_mode { session, transaction };

// The client logs in: the credentials are proven upstream (a pooled connection of exactly these
// credentials exists, or one is opened). `done` gets no error when they are.
struct proxy_login {
  std::function<void(caf::error)> done;
};

// One client request and where its outcome goes.
struct proxy_call {
  proxy_request request;
  std::function<void(caf::expected<proxy_outcome>)> done;
};

} // namespace exapool

// Completions are function objects: these messages never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(exapool::proxy_login)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(exapool::proxy_call)

namespace exapool {

using proxy_session_actor =
    caf::typed_actor<caf::reacts_to<proxy_login>, caf::reacts_to<proxy_call>,
                     // abortQuery: the running statement is aborted upstream; the client keeps its
                     // session.
                     caf::reacts_to<abort_atom>>;

proxy_session_actor spawn_proxy_session(caf::actor_system& sys, supervisor_actor supervisor,
                                        credentials creds, session_config config, proxy_mode mode);

} // namespace exapool

#include "actors/pool_node_front.hpp"

#include "actors/remote.hpp"
#include "messages/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>
#include <set>
#include <utility>

namespace exapool {
namespace {

struct front_state {
  supervisor_actor target;               // null while a service node is not connected
  std::optional<pool_node_address> node; // set on a service node: where to connect again
};

using front_pointer = supervisor_actor::stateful_pointer<front_state>;

std::string node_name(const pool_node_address& node) {
  return node.host + ":" + std::to_string(node.port);
}

void watch(front_pointer self, supervisor_actor target) {
  self->monitor(target);
  self->state.target = std::move(target);
}

// An error from the pool node's side as it is; CAF's own (no answer, the node gone) as
// connect_failed naming the node.
caf::error node_error(front_pointer self, const caf::error& err) {
  if (code_of(err) != pool_errc::none)
    return err;
  const auto& node = *self->state.node;
  return make_error(pool_errc::connect_failed,
                    "pool node " + node_name(node) + ": " +
                        detail::why(self->home_system(), err, node.timeout,
                                    {"an exapool pool node", "exapool.remote-port"}));
}

// Connects to the pool node, then calls `done` with its supervisor, or `failed`. The front
// awaits the answer: requests that arrive meanwhile wait in its mailbox, so one connect
// serves them all and no request overtakes another.
template <class Done, class Failed> void connect(front_pointer self, Done done, Failed failed) {
  const auto& node = *self->state.node;
  auto mm = self->home_system().middleman().actor_handle();
  self->request(mm, node.timeout, caf::connect_atom::value, node.host, node.port)
      .await(
          [self, done, failed](caf::node_id&, caf::strong_actor_ptr& found,
                               std::set<std::string>& ifs) mutable {
            if (!found || !self->home_system().assignable<supervisor_actor>(ifs))
              return failed(make_error(pool_errc::connect_failed,
                                       "pool node " + node_name(*self->state.node) +
                                           ": the actor published there is not an exapool "
                                           "pool node"));
            watch(self, caf::actor_cast<supervisor_actor>(std::move(found)));
            done(self->state.target);
          },
          [self, failed](caf::error& err) mutable { failed(node_error(self, err)); });
}

// Calls `use` with the supervisor behind the front: at once, or, on a service node that lost
// its pool node, once connected again; a failed connect answers `rp` with its error.
template <class Promise, class Use> void when_connected(front_pointer self, Promise rp, Use use) {
  if (self->state.target)
    return use(self->state.target);
  connect(self, std::move(use), [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
}

// Each request goes to the supervisor behind the front; on a service node that lost its
// pool node, after connecting again.
template <class R, class... Ts> auto forward(front_pointer self) {
  return [self](Ts... xs) -> caf::result<R> {
    if (self->state.target)
      return self->delegate(self->state.target, std::move(xs)...);
    if (!self->state.node)
      return make_error(pool_errc::shutting_down, "the supervisor is gone");
    auto rp = self->make_response_promise<R>();
    when_connected(self, rp,
                   [rp, xs...](supervisor_actor& target) mutable { rp.delegate(target, xs...); });
    return rp;
  };
}

// A pool lookup from a service node: asked, not delegated, so that one sent in the moment the
// pool node went away (before the middleman noticed, the message is lost on the wire) fails
// with connect_failed naming the node within `timeout`, before the session's own lookup guard.
template <class R, class... Ts> auto ask_remote(front_pointer self) {
  return [self](Ts... xs) -> caf::result<R> {
    if (!self->state.node)
      return self->delegate(self->state.target, std::move(xs)...);
    auto rp = self->make_response_promise<R>();
    auto ask = [self, rp, xs...](supervisor_actor& target) mutable {
      self->request(target, self->state.node->timeout, xs...)
          .then([rp](R& x) mutable { rp.deliver(std::move(x)); },
                [self, rp](caf::error& err) mutable { rp.deliver(node_error(self, err)); });
    };
    when_connected(self, rp, std::move(ask));
    return rp;
  };
}

void on_target_down(front_pointer self, const caf::down_msg& down) {
  if (down.source != self->state.target.address())
    return;
  if (!self->state.node)
    return self->quit(down.reason); // a pool node's supervisor is gone: so are its pools
  // The pool node went away: what ran there fails (its sessions see their pools gone and
  // ask again); the next request connects again.
  self->state.target = nullptr;
}

supervisor_actor::behavior_type front(front_pointer self, supervisor_actor target,
                                      std::optional<pool_node_address> node) {
  self->state.node = std::move(node);
  if (target)
    watch(self, std::move(target));
  self->set_down_handler([self](caf::down_msg& down) { on_target_down(self, down); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.source && msg.source.node() != self->node())
      return; // another process may not end what this one owns
    self->quit(msg.reason);
  });
  return {
      ask_remote<pool_actor, pool_atom, credentials>(self),
      ask_remote<pool_actor, pool_atom, credentials, pool_actor>(self),
      forward<prewarm_report, prewarm_atom, credentials, std::size_t>(self),
      forward<prewarm_report, prewarm_atom, credentials>(self),
      forward<pool_stats, stats_atom, pool_key>(self),
      forward<pool_stats, stats_atom, credentials>(self),
      forward<std::vector<pool_stats>, stats_atom>(self),
      [](shutdown_atom) -> caf::result<std::vector<pool_stats>> {
        return make_error(pool_errc::invalid_config,
                          "a pool node is shut down by its own process, not through a remote "
                          "runtime (exapool.pool-node)");
      },
      forward<std::size_t, stats_atom, pool_atom>(self),
      forward<std::size_t, tick_atom>(self),
      forward<bool, forget_atom, credentials>(self),
  };
}

} // namespace

supervisor_actor spawn_pool_node_front(caf::actor_system& sys, supervisor_actor fronted) {
  return sys.spawn(front, std::move(fronted), std::optional<pool_node_address>{});
}

supervisor_actor spawn_service_node_front(caf::actor_system& sys, pool_node_address node,
                                          supervisor_actor connected) {
  return sys.spawn(front, std::move(connected), std::optional<pool_node_address>{std::move(node)});
}

} // namespace exapool

#include "actors/admin_actor.hpp"

#include "actors/runtime.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <utility>
#include <vector>

namespace exapool {
namespace {

admin_actor::behavior_type admin(admin_actor::pointer self, supervisor_actor supervisor,
                                 caf::timespan timeout) {
  return {
      [self, supervisor, timeout](caf::get_atom, stats_atom) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        self->request(supervisor, timeout, stats_atom::value)
            .then(
                [rp](std::vector<pool_stats>& pools) mutable { rp.deliver(stats_to_json(pools)); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
  };
}

} // namespace

admin_actor spawn_admin(caf::actor_system& sys, supervisor_actor supervisor,
                        caf::timespan timeout) {
  return sys.spawn(admin, std::move(supervisor), timeout);
}

std::uint16_t publish_admin(caf::actor_system& sys, const admin_actor& admin,
                            const std::string& host, std::uint16_t port) {
  if (!sys.has_middleman())
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: the admin endpoint (exapool.admin-port) needs "
                        "CAF's io middleman: call cfg.load<caf::io::middleman>() on the "
                        "actor_system_config before making the actor system");
  auto bound = sys.middleman().publish(admin, port, host.c_str());
  if (!bound)
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: the admin endpoint cannot listen on " + host +
                            ":" + std::to_string(port) + " (" + sys.render(bound.error()) +
                            "); is the port taken, or the address not this machine's?");
  return *bound;
}

} // namespace exapool

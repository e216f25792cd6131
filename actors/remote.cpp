#include "actors/remote.hpp"

#include "actors/request_errors.hpp"
#include "actors/runtime.hpp"
#include "messages/lease.hpp"
#include "messages/pool_key.hpp"
#include "messages/pool_stats.hpp"
#include "messages/query.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <charconv>
#include <optional>
#include <vector>

namespace exapool {

void register_wire_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<credentials>("exapool::credentials");
  cfg.add_message_type<pool_key>("exapool::pool_key");
  cfg.add_message_type<lease>("exapool::lease");
  cfg.add_message_type<query_result>("exapool::query_result");
  cfg.add_message_type<exasol::result_set>("exasol::result_set");
  cfg.add_message_type<prewarm_report>("exapool::prewarm_report");
  cfg.add_message_type<pool_stats>("exapool::pool_stats");
  cfg.add_message_type<std::vector<pool_stats>>("std::vector<exapool::pool_stats>");
  cfg.add_message_type<supervisor_actor>("exapool::supervisor_actor");
  cfg.add_message_type<pool_actor>("exapool::pool_actor");
}

std::uint16_t publish_pool_node(caf::actor_system& sys, const supervisor_actor& front,
                                const std::string& host, std::uint16_t port) {
  if (!sys.has_middleman())
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: a pool node (exapool.remote-port) needs CAF's "
                        "io middleman: call cfg.load<caf::io::middleman>() on the "
                        "actor_system_config before making the actor system");
  // SO_REUSEADDR: a pool node that restarts gets its port back while the connections of its
  // previous run linger in TIME_WAIT (service nodes reconnect to that address).
  auto bound = sys.middleman().publish(front, port, host.c_str(), true);
  if (!bound)
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: the pool node cannot listen on " + host + ":" +
                            std::to_string(port) + " (" + sys.render(bound.error()) +
                            "); is the port taken, or the address not this machine's?");
  return *bound;
}

namespace detail {

std::string why(caf::actor_system& sys, const caf::error& err, caf::timespan timeout,
                const endpoint_kind& kind) {
  const auto& hint = kind.option;
  if (err == caf::sec::cannot_connect_to_node)
    return "nothing listens there (is " + hint + " set there, and this its host and port?)";
  if (err == caf::sec::disconnect_during_handshake)
    return "something listens there, but it is not " + kind.name +
           " (it did not complete CAF's handshake)";
  if (err == caf::sec::no_actor_published_at_port)
    return "a CAF node listens there but publishes no actor on this port";
  if (err == caf::sec::request_timeout)
    return "no answer within " + describe_span(timeout) + " (is " + hint +
           " set there? the node may be busy)";
  return sys.render(err);
}

published_actor find_published(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                               caf::timespan timeout, const endpoint_kind& kind) {
  published_actor found;
  if (!sys.has_middleman()) {
    found.failure = "this actor system has no io middleman (cfg.load<caf::io::middleman>())";
    return found;
  }
  caf::scoped_actor self{sys};
  self->request(sys.middleman().actor_handle(), timeout, caf::connect_atom::value, host, port)
      .receive(
          [&](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
            found.actor = std::move(ptr);
            found.interface = std::move(ifs);
          },
          [&](caf::error& err) { found.failure = why(sys, err, timeout, kind); });
  if (found.failure.empty() && !found.actor)
    found.failure = "a CAF node listens there but publishes no actor on this port";
  return found;
}

} // namespace detail

supervisor_actor connect_pool_node(caf::actor_system& sys, const std::string& host,
                                   std::uint16_t port, caf::timespan timeout) {
  auto fail = [&](const std::string& what) {
    return runtime_error(pool_errc::connect_failed, "exapool connect_failed: pool node " + host +
                                                        ":" + std::to_string(port) + ": " + what);
  };
  auto found = detail::find_published(sys, host, port, timeout,
                                      {"an exapool pool node", "exapool.remote-port"});
  if (!found.failure.empty())
    throw fail(found.failure);
  if (!sys.assignable<supervisor_actor>(found.interface))
    throw fail("the actor published there is not an exapool pool node (an admin port?)");
  return caf::actor_cast<supervisor_actor>(std::move(found.actor));
}

std::pair<std::string, std::uint16_t> split_host_port(const std::string& text,
                                                      const std::string& option) {
  auto bad = [&](const std::string& what) {
    return runtime_error(pool_errc::invalid_config,
                         "exapool invalid_config: " + option + " is '" + text + "': " + what);
  };
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw bad("expected host:port, e.g. 127.0.0.1:7434");
  auto digits = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port == 0 ||
      port > 65535)
    throw bad("the port must be a number from 1 to 65535");
  return {text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

} // namespace exapool

#include "actors/admin_client.hpp"

#include "actors/admin_actor.hpp"
#include "actors/request_errors.hpp"
#include "actors/runtime.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <optional>
#include <set>
#include <stdexcept>

namespace exapool {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw runtime_error(pool_errc::connect_failed, "exapool stats from " + where + ": " + what);
}

std::string why(caf::actor_system& sys, const caf::error& err, caf::timespan timeout) {
  if (err == caf::sec::cannot_connect_to_node)
    return "nothing listens there (is exapool.admin-port set in the service, and this its "
           "host and port?)";
  if (err == caf::sec::disconnect_during_handshake)
    return "something listens there, but it is not an exapool admin endpoint (it did not "
           "complete CAF's handshake)";
  if (err == caf::sec::no_actor_published_at_port)
    return "a CAF node listens there but publishes no actor on this port";
  if (err == caf::sec::request_timeout)
    return "no answer within " + describe_span(timeout) +
           " (is this an exapool admin endpoint? the service may be busy)";
  return sys.render(err);
}

// The admin actor published at host:port (the middleman's connect, with a timeout: its
// remote_actor waits forever on a peer that accepts but never speaks CAF's protocol).
admin_actor connect(caf::actor_system& sys, const std::string& where, const std::string& host,
                    std::uint16_t port, caf::timespan timeout) {
  if (!sys.has_middleman())
    fail(where, "this actor system has no io middleman (cfg.load<caf::io::middleman>())");
  caf::scoped_actor self{sys};
  caf::strong_actor_ptr found;
  std::set<std::string> interface;
  std::optional<caf::error> failure;
  self->request(sys.middleman().actor_handle(), timeout, caf::connect_atom::value, host, port)
      .receive(
          [&](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
            found = std::move(ptr);
            interface = std::move(ifs);
          },
          [&](caf::error& err) { failure = std::move(err); });
  if (failure)
    fail(where, why(sys, *failure, timeout));
  if (!found)
    fail(where, "a CAF node listens there but publishes no actor on this port");
  if (!sys.assignable<admin_actor>(interface))
    fail(where, "the actor published there is not an exapool admin endpoint");
  return caf::actor_cast<admin_actor>(std::move(found));
}

} // namespace

namespace {

struct fetched {
  std::string json;
  std::vector<pool_stats> pools; // the JSON read back: an answer that is not pool stats fails
};

fetched fetch(caf::actor_system& sys, const std::string& host, std::uint16_t port,
              caf::timespan timeout) {
  auto where = host + ":" + std::to_string(port);
  auto admin = connect(sys, where, host, port, timeout);
  caf::scoped_actor self{sys};
  std::optional<std::string> answer;
  std::optional<caf::error> failure;
  self->request(admin, timeout, caf::get_atom::value, stats_atom::value)
      .receive([&](std::string& text) { answer = std::move(text); },
               [&](caf::error& err) { failure = std::move(err); });
  if (failure)
    fail(where, why(sys, *failure, timeout));
  try {
    auto pools = stats_from_json(*answer);
    return {std::move(*answer), std::move(pools)};
  } catch (const std::invalid_argument& e) {
    fail(where, std::string("the answer is not pool stats: ") + e.what());
  }
}

} // namespace

std::string fetch_stats_json(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                             caf::timespan timeout) {
  return fetch(sys, host, port, timeout).json;
}

std::vector<pool_stats> fetch_stats(caf::actor_system& sys, const std::string& host,
                                    std::uint16_t port, caf::timespan timeout) {
  return fetch(sys, host, port, timeout).pools;
}

} // namespace exapool

#include "actors/admin_client.hpp"

#include "actors/admin_actor.hpp"
#include "actors/remote.hpp"
#include "actors/request_errors.hpp"
#include "actors/runtime.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <optional>
#include <stdexcept>

namespace exapool {
namespace {

const detail::endpoint_kind admin_kind{"an exapool admin endpoint", "exapool.admin-port"};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw runtime_error(pool_errc::connect_failed, "exapool stats from " + where + ": " + what);
}

// The admin actor published at host:port.
admin_actor connect(caf::actor_system& sys, const std::string& where, const std::string& host,
                    std::uint16_t port, caf::timespan timeout) {
  auto found = detail::find_published(sys, host, port, timeout, admin_kind);
  if (!found.failure.empty())
    fail(where, found.failure);
  if (!sys.assignable<admin_actor>(found.interface))
    fail(where, "the actor published there is not an exapool admin endpoint");
  return caf::actor_cast<admin_actor>(std::move(found.actor));
}

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
    fail(where, detail::why(sys, *failure, timeout, admin_kind));
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

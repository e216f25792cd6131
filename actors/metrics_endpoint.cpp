#include "actors/metrics_endpoint.hpp"

#include "actors/runtime.hpp"
#include "messages/prometheus.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/logger.hpp>

#include <mutex>
#include <stdexcept>
#include <utility>

namespace exapool {

// What the HTTP handler refers to: the actor system and the supervisor until stop(), so a
// request that comes late finds them gone (a 503) instead of a destroyed system.
struct metrics_endpoint::state {
  std::mutex mutex;
  caf::actor_system* sys = nullptr;
  supervisor_actor supervisor;
  caf::timespan timeout{};
};

http::response metrics_answer(const std::string& target, const std::vector<pool_stats>& pools) {
  auto path = target.substr(0, target.find('?'));
  if (path == "/metrics")
    return {200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(pools)};
  if (path == "/health") {
    auto verdict = judge_health(pools);
    return {verdict.ok ? 200u : 503u, "text/plain; charset=utf-8", verdict.text};
  }
  if (path == "/stats")
    return {200, "application/json", stats_to_json(pools) + "\n"};
  return {404, "text/plain; charset=utf-8", "not found: try /metrics, /health or /stats\n"};
}

namespace {

bool known_path(const std::string& target) {
  auto path = target.substr(0, target.find('?'));
  return path == "/metrics" || path == "/health" || path == "/stats";
}

void serve(const std::shared_ptr<metrics_endpoint::state>& st, const std::string& target,
           http::reply_fn reply) {
  if (!known_path(target))
    return reply(metrics_answer(target, {}));
  std::lock_guard<std::mutex> lock{st->mutex};
  if (st->sys == nullptr)
    return reply({503, "text/plain; charset=utf-8", "shutting down\n"});
  // The reply runs in the actor; the supervisor gathers every pool's stats (as for the admin
  // endpoint) and answers within the timeout, or the request fails.
  st->sys->spawn([supervisor = st->supervisor, timeout = st->timeout, target,
                  reply = std::move(reply)](caf::event_based_actor* self) {
    self->request(supervisor, timeout, stats_atom::value)
        .then(
            [self, target, reply](std::vector<pool_stats>& pools) {
              reply(metrics_answer(target, pools));
              self->quit();
            },
            [self, reply](caf::error& err) {
              reply({503, "text/plain; charset=utf-8",
                     "pool stats unavailable (" + self->system().render(err) + ")\n"});
              self->quit();
            });
  });
  // spawn keeps a reference to the system's logger in this (I/O) thread's storage, and the
  // actor system's destructor waits for the logger to go: drop it, or the runtime's end hangs
  // until the I/O threads stop, which is after the actor system.
  caf::logger::set_current_actor_system(nullptr);
}

} // namespace

metrics_endpoint::metrics_endpoint(caf::actor_system& sys, supervisor_actor supervisor,
                                   caf::timespan timeout, boost::asio::any_io_executor executor,
                                   const std::string& host, std::uint16_t port)
    : state_(std::make_shared<state>()) {
  state_->sys = &sys;
  state_->supervisor = std::move(supervisor);
  state_->timeout = timeout;
  http::server_limits limits;
  limits.handler_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout) + std::chrono::seconds(1);
  try {
    server_ = std::make_unique<http::metrics_server>(
        executor, host, port,
        [st = state_](const std::string& target, http::reply_fn reply) {
          serve(st, target, std::move(reply));
        },
        limits);
  } catch (const std::runtime_error& e) {
    stop();
    throw runtime_error(pool_errc::invalid_config,
                        std::string("exapool invalid_config: exapool.metrics-host/metrics-port: ") +
                            e.what());
  }
}

metrics_endpoint::~metrics_endpoint() {
  stop();
}

std::uint16_t metrics_endpoint::port() const {
  return server_ ? server_->port() : 0;
}

void metrics_endpoint::stop() {
  if (server_)
    server_->stop();
  std::lock_guard<std::mutex> lock{state_->mutex};
  state_->sys = nullptr;
  state_->supervisor = nullptr;
}

} // namespace exapool

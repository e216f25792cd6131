// The metrics endpoint: /metrics (Prometheus text), /health and /stats (the admin endpoint's
// JSON) over HTTP, served by integration/http/metrics_server.hpp on the runtime's I/O threads.
// Each request asks the supervisor for every pool's stats (what the admin endpoint asks too)
// from a short-lived actor, with a timeout, and renders the answer (messages/prometheus.hpp,
// messages/stats_json.hpp). No authentication: keep it on loopback unless the network is
// trusted. Nothing it answers holds a secret.
#pragma once

#include "actors/supervisor_actor.hpp"
#include "integration/http/metrics_server.hpp"
#include "messages/pool_stats.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace exapool {

// What a GET of `target` answers, given every pool's stats: /metrics, /health, /stats (a
// query string is ignored); anything else 404.
http::response metrics_answer(const std::string& target, const std::vector<pool_stats>& pools);

class metrics_endpoint {
public:
  // Listens on host:port (0: a free port). Throws runtime_error (invalid_config, naming
  // exapool.metrics-host/-port) when it cannot.
  metrics_endpoint(caf::actor_system& sys, supervisor_actor supervisor, caf::timespan timeout,
                   boost::asio::any_io_executor executor, const std::string& host,
                   std::uint16_t port);
  ~metrics_endpoint(); // stop()
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;

  std::uint16_t port() const;
  // Closes the port and every connection; afterwards no request reaches the actor system.
  // Call before the actor system and the executor go away. Idempotent.
  void stop();

  struct state;

private:
  std::shared_ptr<state> state_;
  std::unique_ptr<http::metrics_server> server_;
};

} // namespace exapool

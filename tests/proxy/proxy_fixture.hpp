// exasim, a runtime and exapool proxy in one process, and C++ clients that log in to the proxy
// as they would to Exasol. Invariants are checked from exasim's side (its live sessions and
// sessions opened), not only from the pool's counters. Timeouts are hang guards.
#pragma once

#include "actors/runtime.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "proxy/proxy.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace exapool::ptest {

using namespace std::chrono_literals;

// The OpenID access token exasim accepts (loginToken through the proxy).
inline const std::string access_token = "proxy-test-token";

struct proxy_setup {
  proxy_setup(proxy_mode m = proxy_mode::transaction, std::size_t size = 2,
              caf::timespan acquire = 20s)
      : mode(m), pool_size(size), acquire_timeout(acquire) {}

  proxy_mode mode;
  std::size_t pool_size;
  caf::timespan acquire_timeout;
  // exasim's certificate (empty: its self-signed one) and how the proxy reaches and trusts it
  // (empty: the DSN with exasim's fingerprint pinned).
  std::string sim_cert_file, sim_key_file;
  std::function<void(credentials& upstream, const exasim::server& sim)> upstream;
  // The runtime publishes its admin endpoint (`exapool stats`) on a free loopback port.
  bool admin_endpoint = false;
  // The proxy's own options toward clients (certificate, require_tls, ...).
  std::function<void(proxy::proxy_options&)> front;
};

class proxy_fixture {
public:
  explicit proxy_fixture(proxy_setup setup = {}) : sim_(sim_options(setup)) {
    sim_.start();
    runtime_config config;
    config.scheduler_threads = 2;
    config.pool.max_size = setup.pool_size;
    config.pool.acquire_timeout = setup.acquire_timeout;
    config.pool.shutdown_grace = 5s;
    if (setup.admin_endpoint)
      config.admin_port = 0; // a free port
    runtime_ = std::make_unique<runtime>(config);
    proxy::proxy_options options;
    options.upstream.dsn = sim_.dsn(); // wss with the fingerprint pinned
    options.upstream.connect_timeout = 20s;
    options.upstream.socket_timeout = 30s;
    if (setup.upstream)
      setup.upstream(options.upstream, sim_);
    options.mode = setup.mode;
    options.fresh_rsa_key = false;
    if (setup.front)
      setup.front(options);
    proxy_ = std::make_unique<proxy::proxy>(*runtime_, options);
    proxy_->start();
  }

  ~proxy_fixture() {
    proxy_->stop();
    runtime_->shutdown();
  }

  exasim::server& sim() { return sim_; }
  proxy::proxy& front() { return *proxy_; }
  runtime& pools() { return *runtime_; }

  // A client of the proxy: ws, or wss with the proxy's fingerprint pinned.
  exasol::connection_options client_options(bool tls = false,
                                            const std::string& password = "exasol") const {
    exasol::connection_options o;
    o.dsn = tls ? proxy_->dsn() : "127.0.0.1:" + std::to_string(proxy_->port());
    o.tls = tls;
    o.user = "sys";
    o.password = password;
    o.connect_timeout = 20s;
    o.socket_timeout = 30s;
    o.identity.client_name = "exapool-proxy-test";
    return o;
  }

  std::unique_ptr<exasol::connection> connect(bool tls = false) const {
    return std::make_unique<exasol::connection>(client_options(tls));
  }

private:
  static exasim::server_options sim_options(const proxy_setup& setup) {
    exasim::server_options o;
    o.cert_file = setup.sim_cert_file;
    o.key_file = setup.sim_key_file;
    o.fresh_rsa_key_per_session = false;
    o.access_tokens = {access_token};
    return o;
  }

  exasim::server sim_;
  std::unique_ptr<runtime> runtime_;
  std::unique_ptr<proxy::proxy> proxy_;
};

inline std::int64_t first_int(const exasol::result_set& rows) {
  const auto& v = rows.at(0, 0);
  if (auto i = std::get_if<std::int64_t>(&v))
    return *i;
  return std::stoll(std::get<exasol::decimal>(v).text);
}

} // namespace exapool::ptest

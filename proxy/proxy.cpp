#include "proxy/proxy.hpp"

#include "integration/front/front_state.hpp"
#include "integration/front/listener.hpp"
#include "integration/front/session_core.hpp"
#include "integration/front/tls.hpp"
#include "proxy/pool_engine.hpp"

#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

namespace exapool::proxy {

struct proxy::impl {
  runtime& rt;
  proxy_options options;
  exafront::tls_material tls;
  std::shared_ptr<exafront::front_state> state;
  std::unique_ptr<boost::asio::io_context> ioc;
  std::shared_ptr<exafront::listener> accept;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool running = false;

  exafront::front_options front_options() const {
    exafront::front_options f;
    f.name = "exapool proxy";
    f.host = options.host;
    f.require_tls = options.require_tls;
    f.login_timeout = options.login_timeout;
    f.fresh_rsa_key_per_session = options.fresh_rsa_key;
    f.max_connections = options.max_clients;
    f.session_id_base = 4611686018427387904ULL; // 2^62: never an exasim id (2^60.6 up)
    return f;
  }

  void start() {
    if (running)
      return;
    if (tls.certificate_pem.empty())
      tls = options.cert_file.empty()
                ? exafront::make_self_signed_certificate()
                : exafront::load_certificate(options.cert_file, options.key_file);
    state = std::make_shared<exafront::front_state>(front_options());
    state->db_engine =
        std::make_unique<pool_engine>(rt, upstream_settings{options.upstream, options.mode});
    if (!options.fresh_rsa_key)
      state->shared_key = exasol::codec::rsa_key_pair::generate(1024);
    int n = std::max(1, options.threads);
    ioc = std::make_unique<boost::asio::io_context>(n);
    try {
      accept =
          exafront::start_listener(*ioc, options.host, port != 0 ? port : options.port, tls, state);
    } catch (...) {
      state->workers.join();
      ioc.reset();
      throw;
    }
    port = accept->port();
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this] { ioc->run(); });
    running = true;
  }

  // No new clients; the I/O threads end; destroying the io_context destroys every client's
  // session, whose proxy session actor ends and gives its lease back.
  void stop() {
    if (!running)
      return;
    running = false;
    state->stopping = true;
    accept->stop();
    for (auto& core : state->live_cores())
      core->interrupt_engine();
    ioc->stop();
    for (auto& t : threads)
      t.join();
    threads.clear();
    state->workers.join();
    accept.reset();
    ioc.reset();
    state->db_engine.reset();
  }
};

proxy::proxy(runtime& rt, proxy_options options)
    : impl_(std::make_unique<impl>(impl{rt, std::move(options), {}, {}, {}, {}, {}, 0, false})) {}

proxy::~proxy() {
  stop();
}

void proxy::start() {
  impl_->start();
}

void proxy::stop() {
  impl_->stop();
}

std::uint16_t proxy::port() const {
  return impl_->port;
}

const std::string& proxy::fingerprint() const {
  return impl_->tls.fingerprint;
}

std::string proxy::dsn() const {
  return impl_->options.host + "/" + impl_->tls.fingerprint + ":" + std::to_string(impl_->port);
}

std::size_t proxy::connections() const {
  return impl_->state ? impl_->state->connections.load() : 0;
}

std::uint64_t proxy::refused_clients() const {
  return impl_->state ? impl_->state->refused_connections.load() : 0;
}

std::size_t proxy::sessions() const {
  return impl_->state ? impl_->state->active_sessions() : 0;
}

} // namespace exapool::proxy

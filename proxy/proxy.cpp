#include "proxy/proxy.hpp"

#include "integration/front/front_server.hpp"
#include "integration/front/front_state.hpp"
#include "proxy/pool_engine.hpp"

namespace exapool::proxy {

struct proxy::impl {
  impl(runtime& r, proxy_options o) : rt(r), options(std::move(o)) {}

  runtime& rt;
  proxy_options options;
  std::shared_ptr<exafront::front_state> state;
  exafront::front_server net; // certificate, listener, I/O threads

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

  // Stopping (front_server::stop) ends every client's session, whose proxy session actor ends
  // and gives its lease back.
  void start() {
    if (net.running())
      return;
    net.prepare_tls(options.cert_file, options.key_file);
    state = std::make_shared<exafront::front_state>(front_options());
    state->db_engine =
        std::make_unique<pool_engine>(rt, upstream_settings{options.upstream, options.mode});
    if (!options.fresh_rsa_key)
      state->shared_key = exasol::codec::rsa_key_pair::generate(1024);
    net.start(state, options.port, options.threads);
  }
};

proxy::proxy(runtime& rt, proxy_options options)
    : impl_(std::make_unique<impl>(rt, std::move(options))) {}

proxy::~proxy() {
  stop();
}

void proxy::start() {
  impl_->start();
}

void proxy::stop() {
  impl_->net.stop();
}

std::uint16_t proxy::port() const {
  return impl_->net.port();
}

const std::string& proxy::fingerprint() const {
  return impl_->net.fingerprint();
}

std::string proxy::dsn() const {
  return impl_->options.host + "/" + fingerprint() + ":" + std::to_string(port());
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

#include "integration/front/front_server.hpp"

#include "integration/front/front_state.hpp"
#include "integration/front/listener.hpp"
#include "integration/front/session_core.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>

namespace exafront {

front_server::front_server() = default;

front_server::~front_server() {
  stop();
}

void front_server::prepare_tls(const std::string& cert_file, const std::string& key_file) {
  if (tls_.certificate_pem.empty())
    tls_ =
        cert_file.empty() ? make_self_signed_certificate() : load_certificate(cert_file, key_file);
}

void front_server::start(std::shared_ptr<front_state> state, std::uint16_t port, int threads) {
  if (running_)
    return;
  state_ = std::move(state);
  int n = std::max(1, threads);
  try {
    ioc_ = std::make_unique<boost::asio::io_context>(n);
    accept_ = start_listener(*ioc_, state_->options.host, port_ != 0 ? port_ : port, tls_, state_);
  } catch (...) {
    state_->workers.join();
    state_->db_engine.reset();
    ioc_.reset();
    throw;
  }
  port_ = accept_->port();
  for (int i = 0; i < n; ++i)
    threads_.emplace_back([this] { ioc_->run(); });
  running_ = true;
}

void front_server::stop() {
  if (!running_)
    return;
  running_ = false;
  state_->stopping = true;
  accept_->stop();
  for (auto& core : state_->live_cores())
    core->interrupt_engine();
  ioc_->stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  state_->workers.join();
  accept_.reset();
  ioc_.reset(); // destroys every session (its socket, its engine session)
  state_->db_engine.reset();
}

} // namespace exafront

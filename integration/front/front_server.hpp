// What every server built on the front runs the same way (exasim, exapool proxy): its
// certificate, its listener and its I/O threads, started over a front_state that holds the
// engine, and stopped in the one order that leaves nothing running.
#pragma once

#include "integration/front/tls.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace exafront {

class front_state;
class listener;

class front_server {
public:
  front_server();
  ~front_server(); // stops if running

  // The certificate: loaded from PEM files, or self-signed when cert_file is empty. Made once
  // and kept across restarts (clients pin its fingerprint).
  void prepare_tls(const std::string& cert_file, const std::string& key_file);

  // Binds state->options.host on `port` (0: ephemeral; after a stop, the port bound before)
  // and serves with `threads` I/O threads. The state holds the engine. Throws
  // std::runtime_error naming the cause; then the state's workers are joined and its engine
  // is gone.
  void start(std::shared_ptr<front_state> state, std::uint16_t port, int threads);

  // No new connections; running engine calls interrupted; the I/O threads end; the workers
  // finish what they hold; then every session is destroyed, then the engine. Idempotent.
  void stop();

  bool running() const { return running_; }
  std::uint16_t port() const { return port_; }
  const std::string& fingerprint() const { return tls_.fingerprint; }
  listener& accept() { return *accept_; }

private:
  tls_material tls_;
  std::shared_ptr<front_state> state_;
  std::unique_ptr<boost::asio::io_context> ioc_;
  std::shared_ptr<listener> accept_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  bool running_ = false;
};

} // namespace exafront

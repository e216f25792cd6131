// The network front: accepts TCP connections, tells TLS from plain by the first byte (0x16
// starts a TLS ClientHello) so ws and wss share one port as in Exasol, completes the
// WebSocket upgrade at "/" and hands every message to a session_core. Beast stays inside
// listener.cpp.
#pragma once

#include "integration/front/tls.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace exafront {

class front_state;

class listener {
public:
  virtual ~listener() = default;
  virtual std::uint16_t port() const = 0;
  // From any thread while the I/O threads run; both return once done.
  virtual void stop() = 0; // closes the acceptor
  // false closes the acceptor (new connections are refused; sessions go on); true listens
  // again on the same port. Throws std::runtime_error when the port cannot be bound.
  virtual void set_accepting(bool on) = 0;
};

// Binds and starts accepting; throws std::runtime_error naming the cause.
std::shared_ptr<listener> start_listener(boost::asio::io_context& ioc, const std::string& host,
                                         std::uint16_t port, const tls_material& tls,
                                         std::shared_ptr<front_state> state);

} // namespace exafront

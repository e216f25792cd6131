// What the protocol logic (session_core) needs from a connection, without Beast in sight:
// send a message, send a heartbeat Pong, close politely, or drop the TCP connection.
// Every member is called on the connection's strand.
#pragma once

#include <string>

namespace exafront {

class transport {
public:
  virtual ~transport() = default;
  // Queues one WebSocket data message (text, or binary when compressed).
  virtual void send(std::string payload, bool binary) = 0;
  // Queues an unsolicited Pong, Exasol's heartbeat while a query runs.
  virtual void send_pong() = 0;
  // Sends a Close frame once the queued messages are out.
  virtual void close() = 0;
  // Ends the TCP connection at once, without a Close frame (KILL SESSION).
  virtual void drop() = 0;
  virtual bool encrypted() const = 0;
  virtual std::string peer_address() const = 0;
  // The address the client reached this server at (what getHosts answers for a wildcard
  // listener, so a client never tries an address it cannot reach).
  virtual std::string local_address() const { return {}; }
};

} // namespace exafront

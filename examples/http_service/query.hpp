// What POST /query does, without HTTP: one statement through a session actor of the exapool
// runtime, answered as an HTTP status and a JSON body.
#pragma once

#include <exapool/runtime.hpp>

#include <functional>
#include <string>

namespace http_service {

struct reply {
  unsigned status = 200;
  std::string body; // JSON
};

// A JSON error body: {"error":{"kind":...,"sqlCode":...,"message":...}} (sqlCode only when
// there is one).
std::string error_json(const std::string& kind, const std::string& sql_code,
                       const std::string& message);

// Runs `sql` in a session actor of its own and calls `done` once with the answer, from one of
// CAF's threads: the caller must hand it back to its own thread. No thread waits meanwhile.
// `timeout` bounds the whole request (waiting for a connection included); when it passes the
// session is stopped, so the pool aborts the statement on the server.
void run_query(exapool::runtime& rt, const exapool::credentials& creds, std::string sql,
               caf::timespan timeout, std::function<void(reply)> done);

} // namespace http_service

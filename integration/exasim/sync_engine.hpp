// exasim's side of the engine boundary: SQLite answers on the calling thread, so its sessions
// implement this blocking interface, and blocking_engine runs them on worker threads behind the
// front's asynchronous one (integration/front/engine.hpp).
#pragma once

#include "integration/front/engine.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace exasim {

using exafront::attribute_set;
using exafront::column;
using exafront::engine_host;
using exafront::execution;
using exafront::prepared_statement_info;
using exafront::result_set;
using exafront::session_row;
using exafront::sql_error;
using exafront::statement_result;

// One per logged-in session; calls come one at a time, from worker threads, and may block
// (try_execute_quick: from an I/O thread, never blocking).
// interrupt() may be called from any thread at any time.
class sync_session {
public:
  virtual ~sync_session() = default;
  virtual execution execute(const std::string& sql_text, attribute_set& attributes) = 0;
  // The same, for a statement cheap enough to run on the calling (I/O) thread: it never
  // blocks, and returns nothing, having changed nothing, when the statement needs a worker
  // (it writes, would wait for a lock, or outruns a small budget of work).
  virtual std::optional<execution> try_execute_quick(const std::string& /*sql_text*/,
                                                     attribute_set& /*attributes*/) {
    return std::nullopt;
  }
  virtual std::optional<sql_error> sync_attributes(attribute_set& attributes) = 0;
  virtual std::variant<prepared_statement_info, sql_error> prepare(const std::string& sql_text) = 0;
  virtual execution execute_prepared(std::int64_t handle, const boost::json::array& data,
                                     std::size_t num_rows, attribute_set& attributes) = 0;
  virtual bool close_prepared(std::int64_t handle) = 0;
  virtual void interrupt() = 0;
};

struct session_identity {
  std::uint64_t session_id = 0;
  std::string user_name;
};

class sync_engine {
public:
  virtual ~sync_engine() = default;
  virtual std::unique_ptr<sync_session> open_session(const session_identity& who) = 0;
};

} // namespace exasim

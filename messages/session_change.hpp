// What a statement does to the session beyond what the protocol reports (see
// session_change_of in actors/connection_actor.hpp, which reads it from the SQL).
#pragma once

namespace exapool {

// Ordered: the worst change wins (std::max) until a reset.
enum class session_change {
  none,
  // ALTER SESSION SET of a parameter the protocol reports as an attribute: the session needs a
  // reset, which reads the attributes and restores them (QUERY_TIMEOUT, NLS_NUMERIC_CHARACTERS)
  // or fails, so that the connection is closed (the date, time zone and escape formats, which
  // only SQL can set back).
  attribute,
  // IMPERSONATE, or ALTER SESSION of anything else (or of a form not understood): no reset can
  // see or undo it, so the connection is closed when it goes back to the pool.
  lasting,
};

} // namespace exapool

// Errors of requests between the runtime's actors, turned into exapool errors so that every
// caller sees one category (pool_errc) with a text naming what was asked and what went wrong.
#pragma once

#include "messages/errors.hpp"

#include <caf/error.hpp>
#include <caf/timespan.hpp>

#include <string>

namespace exapool {

// An exapool error passes through unchanged. A request timeout or a receiver that is gone
// becomes `code` with a text naming `what` and the cause (and `timeout`, the request's limit).
caf::error exapool_error_from(const caf::error& err, pool_errc code, const std::string& what,
                              caf::timespan timeout);

// True when the request's receiver is gone (it died before or while answering, or it
// answered pool_failed from its last breath).
bool receiver_gone(const caf::error& err);

// A span as people read it: "250 ms", "30 s".
std::string describe_span(caf::timespan span);

} // namespace exapool

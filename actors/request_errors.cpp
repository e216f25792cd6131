#include "actors/request_errors.hpp"

#include <caf/sec.hpp>

#include <chrono>

namespace exapool {

std::string describe_span(caf::timespan span) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(span).count();
  if (ms % 1000 == 0 && ms != 0)
    return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

bool receiver_gone(const caf::error& err) {
  if (code_of(err) == pool_errc::pool_failed)
    return true;
  return err == caf::sec::request_receiver_down;
}

caf::error exapool_error_from(const caf::error& err, pool_errc code, const std::string& what,
                              caf::timespan timeout) {
  if (err && err.category() == error_category)
    return err;
  std::string cause;
  if (err == caf::sec::request_timeout)
    cause = "no answer within " + describe_span(timeout);
  else if (err == caf::sec::request_receiver_down)
    cause = "the actor that should answer is gone";
  else
    cause = "unexpected CAF error " + caf::to_string(err);
  return make_error(code, what + ": " + cause);
}

} // namespace exapool

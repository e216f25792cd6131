#include "messages/errors.hpp"

namespace exapool {

std::string to_string(pool_errc code) {
  switch (code) {
  case pool_errc::none:
    return "none";
  case pool_errc::acquire_timeout:
    return "acquire_timeout";
  case pool_errc::shutting_down:
    return "shutting_down";
  case pool_errc::authentication_failed:
    return "authentication_failed";
  case pool_errc::connect_failed:
    return "connect_failed";
  case pool_errc::stale_lease:
    return "stale_lease";
  case pool_errc::connection_lost:
    return "connection_lost";
  case pool_errc::server_error:
    return "server_error";
  case pool_errc::invalid_config:
    return "invalid_config";
  case pool_errc::pool_failed:
    return "pool_failed";
  case pool_errc::session_limit:
    return "session_limit";
  case pool_errc::result_too_large:
    return "result_too_large";
  case pool_errc::statement_aborted:
    return "statement_aborted";
  case pool_errc::too_many_waiters:
    return "too_many_waiters";
  case pool_errc::too_many_pools:
    return "too_many_pools";
  case pool_errc::untrusted_server:
    return "untrusted_server";
  }
  return "unknown";
}

// CAF 0.17's category() and context() dereference the error's data: an empty error has none.
pool_errc code_of(const caf::error& err) {
  if (!err || err.category() != error_category)
    return pool_errc::none;
  return static_cast<pool_errc>(err.code());
}

caf::error make_error(pool_errc code, std::string context, std::string sql_code) {
  if (sql_code.empty())
    return make_error(code, std::move(context));
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(context), std::move(sql_code))};
}

std::string context_of(const caf::error& err) {
  if (!err)
    return {};
  const auto& ctx = err.context();
  if ((ctx.size() == 1 || ctx.size() == 2) && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

std::string sql_code_of(const caf::error& err) {
  if (!err || err.category() != error_category)
    return {};
  const auto& ctx = err.context();
  if (ctx.size() == 2 && ctx.match_element<std::string>(0) && ctx.match_element<std::string>(1))
    return ctx.get_as<std::string>(1);
  return {};
}

error_info info_of(const caf::error& err) {
  return error_info{code_of(err), sql_code_of(err), context_of(err)};
}

} // namespace exapool

#include "messages/pool_config.hpp"

#include "messages/errors.hpp"

#include <cctype>
#include <cstdlib>

namespace exapool {

caf::expected<std::size_t> parse_pool_size(const std::string& variable, const std::string& text) {
  auto invalid = [&](const char* why) {
    return make_error(pool_errc::invalid_config,
                      variable + "=\"" + text + "\" is not a valid pool size: " + why);
  };
  if (text.empty() || text.size() > 9)
    return invalid(text.empty() ? "empty" : "too large (at most 1000)");
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return invalid("expected a whole number from 1 to 1000");
  auto size = std::stoul(text);
  if (size == 0)
    return invalid("0 would pool nothing; use 1 or more");
  if (size > max_pool_size)
    return invalid("too large (at most 1000)");
  return static_cast<std::size_t>(size);
}

caf::expected<std::size_t> pool_size_from_environment() {
  for (const char* variable : {"EXAPOOL_POOL_SIZE", "DBT_CONN_POOL_SIZE"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0')
      return parse_pool_size(variable, value);
  }
  return default_pool_size;
}

} // namespace exapool

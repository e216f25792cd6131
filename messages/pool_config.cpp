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

caf::error check_pool_name(const std::string& name, const std::string& option) {
  auto invalid = [&](const std::string& why) {
    return make_error(pool_errc::invalid_config, option + " is not a valid pool name: " + why);
  };
  if (name.empty())
    return invalid("empty (leave it unset for the default, user@host:port/schema)");
  if (name.size() > max_pool_name_length)
    return invalid(std::to_string(name.size()) + " characters, at most " +
                   std::to_string(max_pool_name_length));
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c > 0x7e)
      return invalid("character " + std::to_string(i + 1) +
                     " is not printable ASCII (control characters, tabs and non-ASCII bytes "
                     "are refused)");
  }
  if (name.front() == ' ' || name.back() == ' ')
    return invalid("\"" + name + "\" starts or ends with a space");
  return caf::error{};
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

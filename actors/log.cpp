#include "actors/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <regex>

namespace exapool {
namespace {

spdlog::level::level_enum spdlog_level(log_level level) {
  switch (level) {
  case log_level::trace:
    return spdlog::level::trace;
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warn:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  case log_level::off:
    break;
  }
  return spdlog::level::off;
}

// The default sink: spdlog's stderr logger, made once per process (spdlog's registry is
// global; the name keeps ours apart from a service's own loggers).
std::shared_ptr<spdlog::logger> stderr_logger() {
  static const auto instance = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto made = std::make_shared<spdlog::logger>("exapool", std::move(sink));
    made->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %l: %v");
    made->set_level(spdlog::level::trace); // our logger filters by its own level
    return made;
  }();
  return instance;
}

} // namespace

std::optional<log_level> parse_log_level(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, log_level>, 7> names{{
      {"trace", log_level::trace},
      {"debug", log_level::debug},
      {"info", log_level::info},
      {"warn", log_level::warn},
      {"warning", log_level::warn},
      {"error", log_level::error},
      {"off", log_level::off},
  }};
  for (const auto& [name, level] : names)
    if (name == text)
      return level;
  return std::nullopt;
}

const char* name_of(log_level level) {
  switch (level) {
  case log_level::trace:
    return "trace";
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warn:
    return "warn";
  case log_level::error:
    return "error";
  case log_level::off:
    break;
  }
  return "off";
}

logger::logger(log_config config) : level_(config.level), sink_(std::move(config.sink)) {
  if (!sink_)
    sink_ = [](log_level level, const std::string& line) {
      stderr_logger()->log(spdlog_level(level), "{}", line);
    };
}

void logger::log(log_level level, std::string_view line) const {
  if (!enabled(level))
    return;
  auto text = redact(line);
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    sink_(level, text);
  } catch (...) { // a broken sink must not take a pool actor down with it
  }
}

std::string redact(std::string_view text) {
  static const std::regex secret(R"((password|passwd|pwd|token|secret)(\s*[=:]\s*)[^\s,;&"']+)",
                                 std::regex::icase);
  return std::regex_replace(std::string(text), secret, "$1$2***");
}

} // namespace exapool

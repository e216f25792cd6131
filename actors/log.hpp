// The runtime's log: pool events (a connect failure with its cause, an eviction, a lease taken
// back from a dead borrower, an acquire timeout with the counts, a lease held past the leak
// threshold) at a level, to stderr or to a sink the service provides. Each event is logged
// once, never once per query; repeated events of one kind are summarised (pool_core).
// Texts never carry a secret: they are made from secret-free parts (pool labels, error texts
// of the client, counts), and redact() masks anything that looks like one as a second line of
// defence.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace exapool {

enum class log_level : unsigned char { trace, debug, info, warn, error, off };

// "trace", "debug", "info", "warn" (or "warning"), "error", "off"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view text);
const char* name_of(log_level level);

// Receives every line at or above the configured level. Called from the runtime's threads,
// one line at a time (the logger serialises the calls).
using log_sink = std::function<void(log_level, const std::string& line)>;

struct log_config {
  log_level level = log_level::info;
  log_sink sink; // empty: stderr, "<time> exapool <level>: <line>"
};

class logger {
public:
  explicit logger(log_config config = {});
  bool enabled(log_level level) const { return level >= level_ && level != log_level::off; }
  // Thread-safe; a sink that throws loses that line only.
  void log(log_level level, std::string_view line) const;

private:
  log_level level_;
  log_sink sink_;
  mutable std::mutex mutex_;
};

using logger_ptr = std::shared_ptr<const logger>;

// Masks the values of password-like fields ("password=...", "pwd: ...", "token=...",
// "secret=...") in a text.
std::string redact(std::string_view text);

} // namespace exapool

#include "apps/exapool/options.hpp"

#include <cstdlib>
#include <iostream>

namespace exapool::cli {

std::optional<int> parse_options(caf::actor_system_config& cfg, int argc, char** argv) {
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "error: " << to_string(err) << "\n";
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.size() > 6 &&
          (arg.rfind("=true") == arg.size() - 5 || arg.rfind("=false") == arg.size() - 6))
        std::cerr << "(boolean options are flags: write --group.flag, not " << arg << ")\n";
    }
    std::cerr << "(see --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (!cfg.remainder.empty() && cfg.remainder.front().rfind("--", 0) == 0) {
    std::cerr << "error: unknown option " << cfg.remainder.front() << " (see --help)\n";
    return 2;
  }
  return std::nullopt;
}

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

} // namespace exapool::cli

// exapool's runtime: what a service embeds (exapool::runtime, session actors, the messages
// they answer, credentials, pool configuration and stats, and the CAF-style configuration:
// runtime_system_config, credentials_from_config). Link exapool::runtime.
// Installed, this header's includes point into <exapool/...> (cmake/ExapoolPackage.cmake).
#pragma once

#include "actors/remote.hpp"
#include "actors/runtime.hpp"
#include "actors/runtime_options.hpp"

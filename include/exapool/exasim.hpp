// exasim: an Exasol-protocol server backed by SQLite, to run exapool (or any Exasol client)
// against without a database. Link exapool::exasim.
// Installed, this header's includes point into <exapool/...> (cmake/ExapoolPackage.cmake).
#pragma once

#include "integration/exasim/server.hpp"

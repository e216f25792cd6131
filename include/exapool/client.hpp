// The Exasol WebSocket client on its own (no CAF): exasol::connection (blocking),
// exasol::async_connection on shared exasol::io_threads, DSN parsing and result printing.
// Link exapool::client.
// Installed, this header's includes point into <exapool/...> (cmake/ExapoolPackage.cmake).
#pragma once

#include "integration/exasol/async_connection.hpp"
#include "integration/exasol/connection.hpp"
#include "integration/exasol/dsn.hpp"
#include "integration/exasol/format.hpp"
#include "integration/exasol/io_threads.hpp"

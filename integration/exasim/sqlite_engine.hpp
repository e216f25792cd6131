// exasim's engine: SQLite, one connection per session over one shared database file.
//
// Why a file in WAL mode and not a shared-cache in-memory database: shared cache uses
// table-level locks and answers SQLITE_LOCKED to concurrent writers at once, while WAL lets
// readers run beside one writer and makes writers queue on busy_timeout, which is closer to
// Exasol (a writer waits for the other transaction, then goes on or collides).
#pragma once

#include "integration/exasim/sync_engine.hpp"

#include <chrono>
#include <mutex>
#include <set>
#include <string>

namespace exasim {

class sqlite_engine : public sync_engine {
public:
  // Opens (creating it if needed) the database and switches it to WAL mode; throws
  // std::runtime_error naming the cause.
  sqlite_engine(std::string database_path, engine_host& host,
                std::chrono::milliseconds lock_wait_timeout = std::chrono::milliseconds(5000));

  std::unique_ptr<sync_session> open_session(const session_identity& who) override;

  // Schemas are names only: SQLite has one namespace (see README).
  bool create_schema(const std::string& name);
  bool drop_schema(const std::string& name);
  bool has_schema(const std::string& name) const;

  engine_host& host() { return host_; }
  const std::string& path() const { return path_; }

  int busy_timeout_ms() const { return busy_timeout_ms_; }

private:
  std::string path_;
  engine_host& host_;
  int busy_timeout_ms_;
  mutable std::mutex schemas_mutex_;
  std::set<std::string> schemas_;
};

} // namespace exasim

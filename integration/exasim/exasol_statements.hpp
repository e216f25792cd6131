// Recognises the few Exasol-only statements exasim must handle itself before SQL reaches
// SQLite (OPEN/CLOSE/CREATE/DROP SCHEMA, KILL SESSION/STATEMENT, ALTER SESSION, COMMIT,
// ROLLBACK). This is a keyword matcher over tokens, not a SQL parser: everything else is
// SQLite's business.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace exasim {

struct exasol_statement {
  enum class kind {
    other, // not Exasol-only: hand it to SQLite
    malformed,
    open_schema,
    close_schema,
    create_schema,
    drop_schema,
    kill_session,
    kill_statement,
    alter_session,
    commit,
    rollback,
  };
  kind what = kind::other;
  std::string name;       // schema (upper case unless quoted) or ALTER SESSION option (upper case)
  std::string value;      // ALTER SESSION value (string literal unquoted)
  bool if_exists = false; // CREATE ... IF NOT EXISTS, DROP ... IF EXISTS
  bool current_session = false; // KILL SESSION CURRENT_SESSION
  std::uint64_t session_id = 0;
  std::string error; // for malformed: what is wrong
};

exasol_statement classify_statement(std::string_view sql);

// Whether `sql` contains `word` (upper-case ASCII) as a whole word, ignoring case.
bool mentions_word(std::string_view sql, std::string_view word);

// Exasol's identifier rule: unquoted names are upper-cased.
std::string upper_ascii(std::string_view text);

} // namespace exasim

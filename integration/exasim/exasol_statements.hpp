// Recognises the few Exasol-only statements exasim must handle itself before SQL reaches
// SQLite (OPEN/CLOSE/CREATE/DROP SCHEMA, KILL SESSION/STATEMENT, ALTER SESSION, COMMIT,
// ROLLBACK). This is a keyword matcher over tokens, not a SQL parser: everything else is
// SQLite's business.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Where the '?' parameters of "INSERT INTO t [(a, b, ...)] VALUES (...)[, (...)]" go: the
// table, the listed columns (empty: the table's own order) and, per '?' in order, the index
// of its column, or -1 when the '?' sits inside an expression. nullopt for other statements.
// Used to report parameter types of prepared INSERTs.
struct insert_parameters {
  std::string table;
  std::vector<std::string> columns;
  std::vector<int> positions;
};
std::optional<insert_parameters> insert_parameter_targets(std::string_view sql);

// Whether `sql` contains `word` (upper-case ASCII) as a whole word, ignoring case.
bool mentions_word(std::string_view sql, std::string_view word);

// Whether the first word of `sql`, after whitespace and comments, is `word` (upper-case
// ASCII), ignoring case.
bool starts_with_word(std::string_view sql, std::string_view word);

// Exasol's identifier rule: unquoted names are upper-cased.
std::string upper_ascii(std::string_view text);

// Exasol's session functions, which need no parentheses (SELECT CURRENT_SESSION), as SQLite
// literals: CURRENT_SESSION becomes the session id, CURRENT_USER the quoted user name (upper
// case). Words inside string literals, quoted identifiers and comments stay as they are. Alias
// the column (AS ...): SQLite names an unaliased one by the literal.
std::string substitute_session_functions(std::string_view sql, std::uint64_t session_id,
                                         std::string_view user);

} // namespace exasim

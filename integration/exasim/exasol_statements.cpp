#include "integration/exasim/exasol_statements.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace exasim {
namespace {

struct token {
  enum class type { word, quoted, number, text, symbol } kind;
  std::string value; // words upper-cased; quoted identifiers and string literals unescaped
};

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The position of the first character from `i` on that is neither whitespace nor in a
// comment (sql.size() at the end), or npos inside an unterminated comment.
std::size_t skip_blanks(std::string_view sql, std::size_t i) {
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      auto end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (sql.substr(i, 2) == "/*") {
      auto end = sql.find("*/", i + 2);
      if (end == std::string_view::npos)
        return std::string_view::npos;
      i = end + 2;
    } else {
      break;
    }
  }
  return i;
}

// Splits `sql` into tokens, skipping whitespace and comments. Returns false on an
// unterminated quote or comment.
bool tokenize(std::string_view sql, std::vector<token>& out) {
  std::size_t i = 0;
  while ((i = skip_blanks(sql, i)) < sql.size()) {
    char c = sql[i];
    if (c == '"' || c == '\'') {
      std::string value;
      std::size_t j = i + 1;
      for (;; ++j) {
        if (j >= sql.size())
          return false;
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) { // doubled quote escapes itself
            value.push_back(c);
            ++j;
            continue;
          }
          break;
        }
        value.push_back(sql[j]);
      }
      out.push_back({c == '"' ? token::type::quoted : token::type::text, std::move(value)});
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i;
      while (j < sql.size() && (std::isdigit(static_cast<unsigned char>(sql[j])) || sql[j] == '.'))
        ++j;
      out.push_back({token::type::number, std::string(sql.substr(i, j - i))});
      i = j;
    } else if (is_word_char(c)) {
      std::size_t j = i;
      while (j < sql.size() && is_word_char(sql[j]))
        ++j;
      out.push_back({token::type::word, upper_ascii(sql.substr(i, j - i))});
      i = j;
    } else {
      out.push_back({token::type::symbol, std::string(1, c)});
      ++i;
    }
  }
  if (i == std::string_view::npos)
    return false;
  while (!out.empty() && out.back().kind == token::type::symbol && out.back().value == ";")
    out.pop_back(); // a trailing semicolon is harmless
  return true;
}

class matcher {
public:
  explicit matcher(const std::vector<token>& tokens) : tokens_(tokens) {}

  bool word(std::string_view w) {
    if (pos_ < tokens_.size() && tokens_[pos_].kind == token::type::word &&
        tokens_[pos_].value == w) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool symbol(std::string_view s) {
    if (pos_ < tokens_.size() && tokens_[pos_].kind == token::type::symbol &&
        tokens_[pos_].value == s) {
      ++pos_;
      return true;
    }
    return false;
  }
  const token* next() { return pos_ < tokens_.size() ? &tokens_[pos_++] : nullptr; }
  const token* peek() const { return pos_ < tokens_.size() ? &tokens_[pos_] : nullptr; }
  bool at_end() const { return pos_ == tokens_.size(); }
  bool identifier(std::string& out) {
    if (pos_ < tokens_.size() &&
        (tokens_[pos_].kind == token::type::word || tokens_[pos_].kind == token::type::quoted)) {
      out = tokens_[pos_++].value;
      return true;
    }
    return false;
  }
  bool number(std::uint64_t& out) {
    if (pos_ >= tokens_.size() || tokens_[pos_].kind != token::type::number)
      return false;
    const auto& v = tokens_[pos_].value;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size())
      return false;
    ++pos_;
    return true;
  }

private:
  const std::vector<token>& tokens_;
  std::size_t pos_ = 0;
};

exasol_statement malformed(std::string what) {
  exasol_statement s;
  s.what = exasol_statement::kind::malformed;
  s.error = std::move(what);
  return s;
}

exasol_statement schema_statement(matcher& m, exasol_statement::kind what, bool allow_if,
                                  const char* verb) {
  exasol_statement s;
  s.what = what;
  if (allow_if && m.word("IF")) {
    if (what == exasol_statement::kind::create_schema && !m.word("NOT"))
      return malformed("syntax error, expected IF NOT EXISTS");
    if (!m.word("EXISTS"))
      return malformed("syntax error, expected EXISTS");
    s.if_exists = true;
  }
  if (!m.identifier(s.name))
    return malformed(std::string("syntax error, expected a schema name after ") + verb + " SCHEMA");
  if (what == exasol_statement::kind::drop_schema && !m.word("CASCADE"))
    m.word("RESTRICT");
  if (!m.at_end())
    return malformed(std::string("syntax error, unexpected text after ") + verb + " SCHEMA " +
                     s.name);
  return s;
}

exasol_statement kill_statement(matcher& m) {
  exasol_statement s;
  if (m.word("SESSION")) {
    s.what = exasol_statement::kind::kill_session;
    if (m.word("CURRENT_SESSION"))
      s.current_session = true;
    else if (!m.number(s.session_id))
      return malformed("syntax error, expected a session id or CURRENT_SESSION after KILL SESSION");
  } else if (m.word("STATEMENT")) {
    s.what = exasol_statement::kind::kill_statement;
    std::uint64_t statement_id = 0;
    m.number(statement_id); // the statement id is optional and not tracked
    if (!m.word("IN") || !m.word("SESSION") || !m.number(s.session_id))
      return malformed("syntax error, expected KILL STATEMENT [id] IN SESSION <session id>");
  } else {
    return malformed("syntax error, expected SESSION or STATEMENT after KILL");
  }
  if (!m.at_end())
    return malformed("syntax error, unexpected text after KILL");
  return s;
}

exasol_statement alter_session(matcher& m) {
  exasol_statement s;
  s.what = exasol_statement::kind::alter_session;
  if (!m.word("SET") || !m.identifier(s.name) || !m.symbol("="))
    return malformed("syntax error, expected ALTER SESSION SET <option> = <value>");
  s.name = upper_ascii(s.name);
  const token* v = m.next();
  if (v == nullptr || !m.at_end())
    return malformed("syntax error, expected one value in ALTER SESSION SET " + s.name);
  s.value = v->value;
  return s;
}

bool is_symbol(const token* t, const char* s) {
  return t && t->kind == token::type::symbol && t->value == s;
}

// One VALUES item: a lone '?' gives its column index, '?' inside an expression -1 each.
bool parse_values_item(matcher& m, int column, std::vector<int>& positions) {
  int depth = 0;
  std::size_t count = 0;
  bool lone = true;
  for (const token* t = m.peek(); t; t = m.peek()) {
    if (depth == 0 && (is_symbol(t, ",") || is_symbol(t, ")")))
      break;
    m.next();
    ++count;
    if (is_symbol(t, "("))
      ++depth;
    else if (is_symbol(t, ")"))
      --depth;
    else if (is_symbol(t, "?"))
      positions.push_back(-1);
    if (!is_symbol(t, "?"))
      lone = false;
  }
  if (count == 0)
    return false;
  if (lone && count == 1)
    positions.back() = column;
  return true;
}

} // namespace

std::optional<insert_parameters> insert_parameter_targets(std::string_view sql) {
  std::vector<token> tokens;
  if (!tokenize(sql, tokens))
    return std::nullopt;
  matcher m(tokens);
  insert_parameters out;
  if (!m.word("INSERT") || !m.word("INTO") || !m.identifier(out.table))
    return std::nullopt;
  if (m.symbol(".") && !m.identifier(out.table)) // a schema prefix: the table is what follows
    return std::nullopt;
  if (m.symbol("(")) {
    std::string name;
    do {
      if (!m.identifier(name))
        return std::nullopt;
      out.columns.push_back(name);
    } while (m.symbol(","));
    if (!m.symbol(")"))
      return std::nullopt;
  }
  if (!m.word("VALUES"))
    return std::nullopt;
  do {
    if (!m.symbol("("))
      return std::nullopt;
    int column = 0;
    do {
      if (!parse_values_item(m, column++, out.positions))
        return std::nullopt;
    } while (m.symbol(","));
    if (!m.symbol(")"))
      return std::nullopt;
  } while (m.symbol(","));
  if (!m.at_end())
    return std::nullopt;
  return out;
}

std::string upper_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool mentions_word(std::string_view sql, std::string_view word) {
  if (word.empty() || sql.size() < word.size())
    return false;
  for (std::size_t i = 0; i + word.size() <= sql.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < word.size() && match; ++k)
      match = std::toupper(static_cast<unsigned char>(sql[i + k])) == word[k];
    if (!match)
      continue;
    bool left_ok = i == 0 || !is_word_char(sql[i - 1]);
    bool right_ok = i + word.size() == sql.size() || !is_word_char(sql[i + word.size()]);
    if (left_ok && right_ok)
      return true;
  }
  return false;
}

bool starts_with_word(std::string_view sql, std::string_view word) {
  auto i = skip_blanks(sql, 0);
  if (i == std::string_view::npos)
    return false;
  auto end = i;
  while (end < sql.size() && is_word_char(sql[end]))
    ++end;
  return upper_ascii(sql.substr(i, end - i)) == word;
}

std::string substitute_session_functions(std::string_view sql, std::uint64_t session_id,
                                         std::string_view user) {
  if (!mentions_word(sql, "CURRENT_SESSION") && !mentions_word(sql, "CURRENT_USER"))
    return std::string(sql);
  std::string quoted_user = "'";
  for (char c : upper_ascii(user)) // Exasol's user names are identifiers: upper-cased
    quoted_user += c == '\'' ? std::string("''") : std::string(1, c);
  quoted_user += '\'';
  std::string out;
  std::size_t i = 0;
  auto copy_until = [&](std::size_t end) {
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (sql.substr(i, 2) == "--") {
      auto end = sql.find('\n', i);
      copy_until(end == std::string_view::npos ? sql.size() : end);
    } else if (sql.substr(i, 2) == "/*") {
      auto end = sql.find("*/", i + 2);
      copy_until(end == std::string_view::npos ? sql.size() : end + 2);
    } else if (c == '"' || c == '\'') {
      auto end = i + 1; // a doubled quote reads as two quoted runs: copied the same way
      while (end < sql.size() && sql[end] != c)
        ++end;
      copy_until(std::min(end + 1, sql.size()));
    } else if (is_word_char(c)) {
      auto end = i;
      while (end < sql.size() && is_word_char(sql[end]))
        ++end;
      auto word = upper_ascii(sql.substr(i, end - i));
      if (word == "CURRENT_SESSION") {
        out += std::to_string(session_id);
        i = end;
      } else if (word == "CURRENT_USER") {
        out += quoted_user;
        i = end;
      } else {
        copy_until(end);
      }
    } else {
      copy_until(i + 1);
    }
  }
  return out;
}

exasol_statement classify_statement(std::string_view sql) {
  std::vector<token> tokens;
  if (!tokenize(sql, tokens))
    return {}; // let SQLite report the unterminated quote or comment
  matcher m(tokens);
  using kind = exasol_statement::kind;
  if (m.word("OPEN")) {
    if (!m.word("SCHEMA"))
      return malformed("syntax error, expected SCHEMA after OPEN");
    return schema_statement(m, kind::open_schema, false, "OPEN");
  }
  if (m.word("CLOSE")) {
    if (!m.word("SCHEMA") || !m.at_end())
      return malformed("syntax error, expected CLOSE SCHEMA");
    exasol_statement s;
    s.what = kind::close_schema;
    return s;
  }
  if (m.word("CREATE")) {
    if (!m.word("SCHEMA"))
      return {};
    return schema_statement(m, kind::create_schema, true, "CREATE");
  }
  if (m.word("DROP")) {
    if (!m.word("SCHEMA"))
      return {};
    return schema_statement(m, kind::drop_schema, true, "DROP");
  }
  if (m.word("KILL"))
    return kill_statement(m);
  if (m.word("ALTER")) {
    if (!m.word("SESSION"))
      return {};
    return alter_session(m);
  }
  for (auto [word, what] : {std::pair{"COMMIT", kind::commit}, {"ROLLBACK", kind::rollback}}) {
    if (m.word(word)) {
      m.word("WORK");
      if (!m.at_end())
        return {}; // e.g. ROLLBACK TO SAVEPOINT: SQLite's syntax
      exasol_statement s;
      s.what = what;
      return s;
    }
  }
  return {};
}

} // namespace exasim

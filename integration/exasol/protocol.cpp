// The Exasol protocol's commands as step machines over request and response texts (no I/O).
#include "integration/exasol/protocol.hpp"

#include "integration/exasol/codec.hpp"
#include "integration/exasol/response.hpp"

#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace exasol::protocol {
namespace {

// What rows [from, row_count) of a result take in the client: a value per cell plus the heap
// text of strings and decimals (what max_result_bytes limits).
std::uint64_t rows_memory(const result_set& rs, std::size_t from) {
  std::uint64_t bytes = 0;
  for (const auto& column : rs.data)
    for (std::size_t r = from; r < column.size(); ++r) {
      bytes += sizeof(value);
      if (const auto* s = std::get_if<std::string>(&column[r]))
        bytes += s->size();
      else if (const auto* d = std::get_if<decimal>(&column[r]))
        bytes += d->text.size();
    }
  return bytes;
}

std::string leading_keyword(std::string_view sql) {
  std::string word;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (word.empty())
        continue;
      break;
    }
    if (!std::isalpha(static_cast<unsigned char>(c)))
      break;
    word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return word;
}

// Statements are counted before they are sent (a failed one may still have opened a
// transaction); only a COMMIT or ROLLBACK that succeeded ends the count. This is how many of
// `sqls` follow the last such statement, if there is one.
std::optional<std::size_t> after_last_end(const std::vector<std::string_view>& sqls) {
  for (std::size_t i = sqls.size(); i-- > 0;) {
    auto word = leading_keyword(sqls[i]);
    if (word == "COMMIT" || word == "ROLLBACK")
      return sqls.size() - i - 1;
  }
  return std::nullopt;
}

request::client_identity completed(request::client_identity id) {
  if (id.client_os.empty()) {
    utsname u{};
    id.client_os = uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "unknown";
  }
  if (id.client_os_username.empty()) {
    if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0')
      id.client_os_username = user;
    else if (const passwd* pw = getpwuid(getuid()); pw != nullptr)
      id.client_os_username = pw->pw_name;
  }
  return id;
}

// A status reply (closeResultSet and the like): its attributes are merged.
void merge_status(session_state& s, std::string_view text) {
  s.merge(response::parse_status(text));
}

} // namespace

// ------------------------------------------------------------------ session_state

// Servers repeat unchanged attributes in many replies: only a new value counts as a change.
void session_state::merge(const exasol::attributes& changed) {
  for (const auto& [name, v] : changed) {
    auto [at, added] = attrs.try_emplace(name, v);
    if (added || !(at->second == v)) {
      at->second = v;
      ++attrs_version;
    }
  }
}

bool session_state::autocommit() const {
  auto it = attrs.find("autocommit");
  if (it != attrs.end() && std::holds_alternative<bool>(it->second))
    return std::get<bool>(it->second);
  return configured_autocommit;
}

std::string session_state::current_schema() const {
  auto it = attrs.find("currentSchema");
  if (it != attrs.end() && std::holds_alternative<std::string>(it->second))
    return std::get<std::string>(it->second);
  return {};
}

bool session_state::transaction_may_be_open() const {
  auto it = attrs.find("openTransaction");
  if (it != attrs.end() && std::holds_alternative<bool>(it->second) && std::get<bool>(it->second))
    return true;
  return !autocommit() && statements_since_end > 0;
}

// ------------------------------------------------------------------ login

login_command::login_command(const connection_options& opts)
    : token_(!opts.access_token.empty() || !opts.refresh_token.empty()),
      protocol_version_(opts.protocol_version), compression_(opts.compression),
      password_(opts.password) {
  credentials_.identity = completed(opts.identity);
  credentials_.use_compression = opts.compression;
  credentials_.initial_attributes = {{"currentSchema", opts.schema},
                                     {"autocommit", opts.autocommit},
                                     {"queryTimeout", std::int64_t(opts.server_query_timeout_s)}};
  auto& initial = credentials_.initial_attributes;
  if (opts.snapshot_transactions)
    initial["snapshotTransactionsEnabled"] = *opts.snapshot_transactions;
  if (opts.timestamp_utc)
    initial["timestampUtcEnabled"] = *opts.timestamp_utc;
  if (opts.numeric_characters)
    initial["numericCharacters"] = *opts.numeric_characters;
  if (opts.feedback_interval_s)
    initial["feedbackInterval"] = std::int64_t(*opts.feedback_interval_s);
  if (token_) {
    credentials_.access_token = opts.access_token;
    credentials_.refresh_token = opts.access_token.empty() ? opts.refresh_token : std::string();
  } else {
    credentials_.username = opts.user;
  }
}

step login_command::start(session_state&) {
  stage_ = stage::key;
  return step::send(token_ ? request::login_token(protocol_version_)
                           : request::login(protocol_version_));
}

step login_command::on_response(session_state& s, std::string_view text) {
  if (stage_ == stage::attributes) { // the session exists: errors keep their kind
    merge_status(s, text);
    return step::finished();
  }
  try {
    return stage_ == stage::key ? on_key(text) : on_session(s, text);
  } catch (const error& e) {
    if (e.kind() != error_kind::server)
      throw;
    throw error(error_kind::auth, std::string("login failed: ") + e.what(), e.sql_code());
  }
}

// The server's RSA key (or, for loginToken, a plain ok): the credentials go next.
step login_command::on_key(std::string_view text) {
  stage_ = stage::credentials;
  if (token_) {
    response::parse_status(text);
    return step::send(request::login_credentials(credentials_));
  }
  auto key = response::parse_login_key(text);
  std::size_t limit = 0;
  try {
    limit = codec::rsa_max_plaintext(key.pem);
    if (password_.size() <= limit)
      credentials_.encrypted_password = codec::rsa_encrypt_base64(key.pem, password_);
  } catch (const codec::codec_error& e) {
    throw violation(e.what());
  }
  if (password_.size() > limit)
    throw error(error_kind::config, "the password is longer than the " + std::to_string(limit) +
                                        " bytes (UTF-8) that the server's RSA key can encrypt");
  return step::send(request::login_credentials(credentials_));
}

// The session exists: its attributes start as sent, compression starts now (the next request
// is compressed), and getAttributes fills in the rest.
step login_command::on_session(session_state& s, std::string_view text) {
  s.info = response::parse_session_info(text);
  s.attrs = credentials_.initial_attributes;
  ++s.attrs_version;
  s.compressed = compression_;
  stage_ = stage::attributes;
  return step::send(request::get_attributes());
}

// ------------------------------------------------------------------ queries

result_limits result_limits::of(const connection_options& opts) {
  return {opts.max_result_rows, opts.max_result_bytes, opts.fetch_bytes};
}

query_command::query_command(std::string request, std::size_t statements,
                             std::optional<std::size_t> after_end, const result_limits& limits)
    : request_(std::move(request)), statements_(statements), after_end_(after_end),
      limits_(limits) {}

query_command query_command::execute(std::string_view sql, const result_limits& limits) {
  return query_command(request::execute(sql), 1, after_last_end({sql}), limits);
}

query_command query_command::batch(const std::vector<std::string>& sql_texts,
                                   const result_limits& limits) {
  return query_command(request::execute_batch(sql_texts), sql_texts.size(),
                       after_last_end({sql_texts.begin(), sql_texts.end()}), limits);
}

query_command query_command::prepared(const prepared_statement& statement,
                                      const std::vector<std::vector<value>>& rows,
                                      const result_limits& limits) {
  return query_command(request::execute_prepared_statement(statement, rows), 1, std::nullopt,
                       limits);
}

query_command query_command::prepared_raw(std::int64_t handle,
                                          std::string_view parameter_columns_json,
                                          std::string_view data_json, std::uint64_t num_rows,
                                          const result_limits& limits) {
  return query_command(
      request::execute_prepared_statement_raw(handle, parameter_columns_json, data_json, num_rows),
      1, std::nullopt, limits);
}

step query_command::start(session_state& s) {
  stage_ = stage::results;
  s.statements_since_end += statements_;
  return step::send(std::move(request_), wait::query);
}

step query_command::on_response(session_state& s, std::string_view text) {
  switch (stage_) {
  case stage::results:
    return on_results(s, text);
  case stage::fetch:
    return on_fetch(s, text);
  case stage::close:
    return on_closed(s, text);
  case stage::too_large:
    return on_too_large_closed(s, text);
  }
  return step::finished();
}

step query_command::on_results(session_state& s, std::string_view text) {
  auto r = response::parse_results(text);
  s.merge(r.changed);
  results_ = std::move(r.results);
  // Every handle counts as open from here, so that a failure on one leaves none unknown.
  for (const auto& res : results_)
    if (res.is_result_set() && res.rows.handle > 0)
      s.open_handles.insert(res.rows.handle);
  current_ = 0;
  return next_result(s);
}

// The result at current_ or the next result set after it: its size checked, then fetched and
// closed when it has a handle. After the last one the statement is done.
step query_command::next_result(session_state& s) {
  for (; current_ < results_.size(); ++current_) {
    const auto& res = results_[current_];
    if (!res.is_result_set())
      continue;
    bytes_ = rows_memory(res.rows, 0);
    if (auto closing = check_size(s))
      return *closing;
    if (res.rows.handle > 0)
      return fetch_or_close();
  }
  if (after_end_)
    s.statements_since_end = *after_end_;
  return step::finished();
}

// Fetches until the rows the server announced are in, then closes the handle. Each chunk is
// bounded by max_message_bytes (the driver) and the total by check_size, whatever numRows
// claimed.
step query_command::fetch_or_close() {
  const auto& rs = results_[current_].rows;
  if (rs.row_count() < rs.total_rows) {
    stage_ = stage::fetch;
    return step::send(request::fetch(rs.handle, rs.row_count(), limits_.fetch_bytes));
  }
  stage_ = stage::close;
  return step::send(request::close_result_set(rs.handle));
}

step query_command::on_fetch(session_state& s, std::string_view text) {
  auto& rs = results_[current_].rows;
  auto before = rs.row_count();
  auto chunk = response::parse_fetch_into(text, rs);
  s.merge(chunk.changed);
  if (chunk.rows == 0)
    throw violation("server sent an empty fetch chunk before the end of the result set");
  bytes_ += rows_memory(rs, before);
  if (auto closing = check_size(s))
    return *closing;
  return fetch_or_close();
}

step query_command::on_closed(session_state& s, std::string_view text) {
  merge_status(s, text);
  s.open_handles.erase(results_[current_].rows.handle);
  ++current_;
  return next_result(s);
}

// Beyond max_result_rows (known from the header, before any fetch) or max_result_bytes: the
// handles of this statement are closed on the server, the rows dropped, and the session stays
// usable: the first of those closes, or nothing when the result is within the limits.
std::optional<step> query_command::check_size(session_state& s) {
  const auto& rs = results_[current_].rows;
  std::string why;
  if (limits_.max_rows > 0 && rs.total_rows > limits_.max_rows)
    why = "the server announced " + std::to_string(rs.total_rows) +
          " rows, above max_result_rows (" + std::to_string(limits_.max_rows) + ")";
  else if (limits_.max_bytes > 0 && bytes_ > limits_.max_bytes)
    why = "the rows received so far (" + std::to_string(rs.row_count()) + " of " +
          std::to_string(rs.total_rows) + ") take " + std::to_string(bytes_) +
          " bytes, above max_result_bytes (" + std::to_string(limits_.max_bytes) + ")";
  if (why.empty())
    return std::nullopt;
  std::set<std::int64_t> handles;
  if (rs.handle > 0)
    handles.insert(rs.handle);
  for (const auto& other : results_)
    if (other.is_result_set() && s.open_handles.count(other.rows.handle) > 0)
      handles.insert(other.rows.handle);
  too_large_why_ = std::move(why);
  closing_.assign(handles.begin(), handles.end());
  stage_ = stage::too_large;
  return close_next_too_large();
}

step query_command::close_next_too_large() {
  if (closing_.empty())
    throw error(error_kind::result_too_large, "result too large: " + too_large_why_);
  return step::send(request::close_result_set(closing_.front()));
}

// A handle the server no longer knows (a server error) is closed all the same.
step query_command::on_too_large_closed(session_state& s, std::string_view text) {
  try {
    merge_status(s, text);
  } catch (const error& e) {
    if (e.kind() != error_kind::server)
      throw;
  }
  s.open_handles.erase(closing_.front());
  closing_.pop_front();
  return close_next_too_large();
}

// ------------------------------------------------------------------ simple commands

step exchange_command::start(session_state&) {
  return step::send(std::move(request_));
}

step exchange_command::on_response(session_state& s, std::string_view text) {
  handle_(s, text);
  return step::finished();
}

exchange_command close_prepared(std::int64_t handle) {
  return {request::close_prepared_statement(handle), [handle](session_state& s, auto text) {
            merge_status(s, text);
            s.open_statements.erase(handle);
          }};
}

exchange_command get_attributes() {
  return {request::get_attributes(), merge_status};
}

exchange_command set_attributes(const exasol::attributes& attrs) {
  return {request::set_attributes(attrs), [attrs](session_state& s, auto text) {
            auto changed = response::parse_status(text);
            s.merge(attrs);   // the server accepted them
            s.merge(changed); // and its own report wins
          }};
}

exchange_command disconnect() {
  return {request::disconnect(), [](session_state&, auto text) { response::parse_status(text); }};
}

prepare_command::prepare_command(std::string_view sql)
    : request_(request::create_prepared_statement(sql)) {}

step prepare_command::start(session_state&) {
  return step::send(std::move(request_));
}

step prepare_command::on_response(session_state& s, std::string_view text) {
  auto r = response::parse_prepared(text);
  s.merge(r.changed);
  s.open_statements.insert(r.statement.handle);
  statement_ = std::move(r.statement);
  return step::finished();
}

// ------------------------------------------------------------------ close_leftovers

// Copies of the sets: closing erases from them.
step close_leftovers_command::start(session_state& s) {
  handles_.assign(s.open_handles.begin(), s.open_handles.end());
  statements_.assign(s.open_statements.begin(), s.open_statements.end());
  return next();
}

step close_leftovers_command::next() {
  closing_statement_ = handles_.empty();
  auto& queue = closing_statement_ ? statements_ : handles_;
  if (queue.empty())
    return step::finished();
  current_ = queue.front();
  queue.pop_front();
  return step::send(closing_statement_ ? request::close_prepared_statement(current_)
                                       : request::close_result_set(current_));
}

step close_leftovers_command::on_response(session_state& s, std::string_view text) {
  try {
    merge_status(s, text);
  } catch (const error& e) {
    if (e.kind() != error_kind::server)
      throw;
  }
  (closing_statement_ ? s.open_statements : s.open_handles).erase(current_);
  return next();
}

} // namespace exasol::protocol

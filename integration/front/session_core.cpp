#include "integration/front/session_core.hpp"

#include "integration/front/front_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace exafront {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const char* const authentication_failed = "Connection exception - authentication failed.";
const char* const timeout_text = "Query terminated because timeout has been reached.";
const char* const aborted_text = "Execution of SQL statement aborted.";

const json::string* string_field(const json::object& o, json::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

// Exasol's maxDataMessageSize: a fetch's numBytes budget beyond it is clamped to it.
constexpr std::int64_t max_fetch_bytes = 64 << 20;
// The longest query latency a knob can set (a day); longer values are clamped to it.
constexpr std::int64_t max_latency_ms = 24LL * 3600 * 1000;

// An integer field, saturated at the int64 range (callers clamp it further).
std::optional<std::int64_t> integer_field(const json::object& o, json::string_view key) {
  auto v = o.if_contains(key);
  return v ? saturated_integer(*v) : std::nullopt;
}

std::string text_field(const json::object& o, json::string_view key) {
  auto s = string_field(o, key);
  return s ? std::string(*s) : std::string();
}

bool true_field(const json::object& o, json::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

json::object bad_request(const std::string& text) {
  return error_response("00000", text);
}

} // namespace

session_core::session_core(std::shared_ptr<front_state> state, std::weak_ptr<transport> connection,
                           boost::asio::any_io_executor strand)
    : state_(std::move(state)), connection_(std::move(connection)), strand_(strand),
      latency_timer_(strand), timeout_timer_(strand), heartbeat_timer_(strand),
      login_timer_(strand), results_(state_->results) {}

void session_core::start(std::chrono::steady_clock::time_point login_deadline) {
  if (login_deadline == std::chrono::steady_clock::time_point::max())
    return;
  login_timer_.expires_at(login_deadline);
  login_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec)
      self->on_login_deadline();
  });
}

// A hard deadline: neither heartbeats (Ping frames never reach the core) nor a stream of bad or
// failed login requests extend it. Without it a socket that upgrades and never logs in is held
// forever.
void session_core::on_login_deadline() {
  if (closed_ || phase_ == phase::logged_in || phase_ == phase::closing)
    return;
  ++state_->login_timeouts;
  if (auto connection = connection_.lock())
    connection->drop();
  on_closed();
}

session_core::~session_core() {
  if (session_id_ != 0)
    state_->unregister_session(session_id_);
}

// ---- entry points ------------------------------------------------------------------------

void session_core::on_message(std::string payload, bool binary) {
  if (closed_ || phase_ == phase::closing)
    return;
  if (phase_ == phase::logged_in)
    ++state_->requests;
  // In compressed mode every message is a zlib stream in a binary frame; a text frame is
  // taken as plain JSON (as some drivers do on their side).
  if (compression_ && binary) {
    try {
      payload = exasol::codec::zlib_decompress(payload, state_->options.max_message_bytes);
    } catch (const std::exception& e) {
      if (busy_)
        return handle_while_busy(nullptr);
      begin_request();
      return respond(
          bad_request(std::string("compressed request is not a zlib stream: ") + e.what()));
    }
  }
  boost::system::error_code ec;
  json::value value = json::parse(payload, ec);
  if (busy_)
    return handle_while_busy(!ec && value.is_object() ? &value.get_object() : nullptr);
  if (ec || !value.is_object()) {
    begin_request();
    return respond(bad_request(ec ? "malformed JSON request: " + ec.message()
                                  : std::string("request is not a JSON object")));
  }
  handle(std::move(value.get_object()));
}

void session_core::on_closed() {
  if (closed_)
    return;
  closed_ = true;
  phase_ = phase::closing;
  latency_timer_.cancel();
  timeout_timer_.cancel();
  heartbeat_timer_.cancel();
  login_timer_.cancel();
  if (running_ && in_engine_)
    interrupt_engine(); // nobody waits for the answer any more
  running_ = false;
  release_rows(results_.close_all()); // nobody will fetch them
  if (session_id_ != 0)
    state_->unregister_session(session_id_);
}

void session_core::drop() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    if (auto connection = self->connection_.lock())
      connection->drop();
    self->on_closed();
  });
}

void session_core::abort_statement() {
  boost::asio::post(strand_, [self = shared_from_this()] { self->abort_running(false); });
}

void session_core::interrupt_engine() {
  std::lock_guard lock(engine_mutex_);
  if (engine_)
    engine_->interrupt();
}

// ---- requests ----------------------------------------------------------------------------

void session_core::handle_while_busy(const json::object* request) {
  if (request && phase_ == phase::logged_in) {
    auto command = string_field(*request, "command");
    if (command && *command == "abortQuery")
      return abort_running(false); // the one message allowed in flight; it gets no answer
  }
  protocol_violation("protocol violation: a request arrived while another one was in flight; "
                     "send one request and wait for its response");
}

void session_core::handle(json::object request) {
  auto command_value = request.if_contains("command");
  auto command = string_field(request, "command");
  if (command_value && !command) {
    begin_request();
    return respond(bad_request("command must be a string"));
  }
  bool login_command = command && (*command == "login" || *command == "loginToken");
  switch (phase_) {
  case phase::awaiting_login:
    if (login_command)
      return handle_login(request, *command == "loginToken");
    if (command && *command == "disconnect") { // e.g. a driver closing after a failed login
      begin_request();
      respond(ok_response());
      phase_ = phase::closing;
      if (auto connection = connection_.lock())
        connection->close();
      return;
    }
    return protocol_violation("not logged in: the first request must be login or loginToken");
  case phase::awaiting_credentials:
    if (login_command)
      return handle_login(request, *command == "loginToken");
    if (command)
      return protocol_violation("login in progress: expected the credentials message "
                                "(username and password, no command), got " +
                                std::string(*command));
    return handle_credentials(request);
  case phase::logged_in:
    if (!command) {
      begin_request();
      return respond(bad_request("request has no command"));
    }
    return dispatch(std::string(*command), request);
  default:
    return;
  }
}

void session_core::dispatch(const std::string& command, json::object& request) {
  if (command == "abortQuery")
    return; // nothing runs: ignore it, and abortQuery never gets a response
  begin_request();
  if (auto requested = request.if_contains("attributes")) {
    if (!requested->is_object())
      return respond(bad_request("attributes must be a JSON object"));
    if (auto error = attributes_.apply(requested->get_object()))
      return respond(bad_request(*error));
  }
  if (command == "execute")
    return cmd_execute(request);
  if (command == "executeBatch")
    return cmd_execute_batch(request);
  if (command == "fetch")
    return cmd_fetch(request);
  if (command == "closeResultSet")
    return cmd_close_result_set(request);
  if (command == "createPreparedStatement")
    return cmd_create_prepared(request);
  if (command == "executePreparedStatement")
    return cmd_execute_prepared(request);
  if (command == "closePreparedStatement")
    return cmd_close_prepared(request);
  if (command == "setAttributes")
    return cmd_set_attributes(request);
  if (command == "getAttributes") {
    json::object response = ok_response();
    response["attributes"] = attributes_.all();
    return respond(std::move(response));
  }
  if (command == "getResultSetHeader")
    return cmd_result_set_header(request);
  if (command == "getOffset") { // one node: every result set starts at row 0
    auto handle = integer_field(request, "resultSetHandle");
    if (!handle || !results_.header(*handle))
      return respond(bad_request("getOffset: resultSetHandle must name an open result set"));
    json::object response = ok_response();
    response["responseData"] = json::object{{"rowOffset", 0}};
    return respond(std::move(response));
  }
  if (command == "getHosts") { // this server only: a proxy's client never goes around it
    std::string host = state_->options.host;
    if (auto connection = connection_.lock(); connection && (host == "0.0.0.0" || host == "::"))
      if (auto local = connection->local_address(); !local.empty())
        host = local;
    json::object response = ok_response();
    response["responseData"] =
        json::object{{"numNodes", 1}, {"nodes", json::array{json::string(host)}}};
    return respond(std::move(response));
  }
  if (command == "disconnect") {
    state_->unregister_session(session_id_); // gone from EXA_ALL_SESSIONS before the answer
    release_rows(results_.close_all());      // now, not when the close handshake ends
    respond(ok_response());
    phase_ = phase::closing;
    if (auto connection = connection_.lock())
      connection->close();
    return;
  }
  if (auto limitation = engine_->unsupported(command))
    return respond(error_response(*limitation));
  respond(bad_request("unknown command " + command));
}

// ---- login -------------------------------------------------------------------------------

void session_core::handle_login(const json::object& request, bool token) {
  begin_request();
  auto version = integer_field(request, "protocolVersion");
  if (!version || *version < 1)
    return respond(bad_request("login: protocolVersion must be a positive integer"));
  auto connection = connection_.lock();
  if (!connection)
    return;
  if (state_->options.require_tls && !connection->encrypted()) {
    ++state_->failed_logins;
    return respond(
        error_response("08004", "Connection exception - Only TLS connections are allowed."));
  }
  protocol_version_ =
      static_cast<int>(std::min<std::int64_t>(*version, state_->options.max_protocol_version));
  if (token && protocol_version_ < 3) {
    ++state_->failed_logins;
    return respond(bad_request("Invalid login request command: loginToken"));
  }
  token_login_ = token;
  phase_ = phase::awaiting_login;
  auto send_key = [this](std::optional<exasol::codec::rsa_key_pair> key) {
    if (!key)
      return respond(bad_request("login: RSA key generation failed"));
    key_ = std::move(key);
    phase_ = phase::awaiting_credentials;
    json::object response = ok_response();
    response["responseData"] = json::object{{"publicKeyPem", key_->public_pem()},
                                            {"publicKeyModulus", key_->modulus_hex()},
                                            {"publicKeyExponent", key_->exponent_hex()}};
    respond(std::move(response));
  };
  if (!state_->options.fresh_rsa_key_per_session && state_->shared_key)
    return send_key(state_->shared_key);
  on_worker(
      []() -> std::optional<exasol::codec::rsa_key_pair> {
        try {
          return exasol::codec::rsa_key_pair::generate(1024);
        } catch (const std::exception&) {
          return std::nullopt;
        }
      },
      send_key);
}

void session_core::handle_credentials(const json::object& request) {
  begin_request();
  phase_ = phase::logging_in;
  login_request login;
  bool readable = true; // a password that does not decrypt is a wrong one
  if (token_login_) {
    login.token = true;
    login.user = text_field(request, "username");
    login.access_token = text_field(request, "accessToken");
    login.refresh_token = text_field(request, "refreshToken");
  } else {
    auto username = string_field(request, "username");
    auto password = string_field(request, "password");
    readable = username && password && key_;
    if (readable) {
      login.user = std::string(*username);
      try {
        login.password = key_->decrypt_base64(std::string(*password));
      } catch (const exasol::codec::codec_error&) {
        readable = false;
      }
    }
  }
  auto delay =
      milliseconds(std::clamp<std::int64_t>(state_->login_latency_ms.load(), 0, max_latency_ms));
  latency_timer_.expires_after(delay);
  latency_timer_.async_wait([self = shared_from_this(), readable, login = std::move(login),
                             request](boost::system::error_code ec) mutable {
    if (ec || self->closed_)
      return;
    self->finish_login(readable, std::move(login), request);
  });
}

void session_core::finish_login(bool readable, login_request login, json::object request) {
  auto connection = connection_.lock();
  if (!connection)
    return;
  if (!readable || state_->refuse_logins || state_->stopping)
    return fail_login({"08004", authentication_failed});
  if (auto requested = request.if_contains("attributes"); requested && requested->is_object())
    if (auto error = attributes_.apply(requested->get_object()))
      return fail_login({"08004", "login: " + *error});
  if (auto limit = state_->max_sessions.load(); limit != 0 && state_->active_sessions() >= limit)
    return fail_login({"08004", session_limit_text(limit)}); // before the engine does work
  auto& row = login.identity;
  row.status = "IDLE";
  row.client = text_field(request, "clientName");
  row.driver = text_field(request, "driverName");
  row.os_user = text_field(request, "clientOsUsername");
  row.os_name = text_field(request, "clientOs");
  row.host = connection->peer_address();
  row.encrypted = connection->encrypted();
  row.current_schema = attributes_.current_schema();
  row.login_time = std::chrono::system_clock::now();
  row.session_id = login.session_id = state_->next_session_id();
  login.protocol_version = protocol_version_;
  // The Go driver asks for compression with attributes.compressionEnabled only.
  bool compress = true_field(request, "useCompression");
  if (auto requested = request.if_contains("attributes"); requested && requested->is_object())
    compress = compress || true_field(requested->get_object(), "compressionEnabled");
  compression_requested_ = compress;
  state_->db_engine->open_session(
      std::move(login), on_strand<login_outcome>([this, row](login_outcome outcome) mutable {
        on_session_opened(std::move(row), std::move(outcome));
      }));
}

void session_core::on_session_opened(session_row row, login_outcome outcome) {
  if (auto refused = std::get_if<sql_error>(&outcome))
    return fail_login(*refused);
  auto& accepted = std::get<login_accepted>(outcome);
  row.user_name = accepted.user_name;
  if (!state_->register_session(row, weak_from_this())) // max_sessions, reached meanwhile
    return fail_login({"08004", session_limit_text(state_->max_sessions.load())});
  session_id_ = row.session_id;
  {
    std::lock_guard lock(engine_mutex_);
    engine_ = std::move(accepted.session);
  }
  json::object response = ok_response();
  response["responseData"] = json::object{{"sessionId", session_id_},
                                          {"protocolVersion", protocol_version_},
                                          {"releaseVersion", accepted.release_version},
                                          {"databaseName", accepted.database_name},
                                          {"productName", "EXASolution"},
                                          {"maxDataMessageSize", 67108864},
                                          {"maxIdentifierLength", 128},
                                          {"maxVarcharLength", 2000000},
                                          {"identifierQuoteString", "\""},
                                          {"timeZone", "UNIVERSAL"},
                                          {"timeZoneBehavior", "INVALID SHIFT AMBIGUOUS ST"}};
  respond(std::move(response)); // the whole login exchange is uncompressed
  phase_ = phase::logged_in;
  login_timer_.cancel();
  key_.reset();
  compression_ = compression_requested_;
  attributes_.set_compression_enabled(compression_);
}

void session_core::fail_login(const sql_error& refusal) {
  ++state_->failed_logins;
  phase_ = phase::awaiting_login;
  key_.reset();
  respond(error_response(refusal));
}

// ---- commands ----------------------------------------------------------------------------

void session_core::cmd_execute(const json::object& request) {
  auto sql = string_field(request, "sqlText");
  if (!sql)
    return respond(bad_request("execute: sqlText must be a string"));
  run_query([sql = std::string(*sql)](engine_session& e, attribute_set& a,
                                      done<execution> d) { e.execute({sql}, a, std::move(d)); },
            [this](execution result) { respond_execution(std::move(result)); });
}

void session_core::cmd_execute_batch(const json::object& request) {
  auto texts = request.if_contains("sqlTexts");
  if (!texts || !texts->is_array())
    return respond(bad_request("executeBatch: sqlTexts must be an array of strings"));
  std::vector<std::string> statements;
  for (const auto& t : texts->get_array()) {
    if (!t.is_string())
      return respond(bad_request("executeBatch: sqlTexts must be an array of strings"));
    statements.emplace_back(t.get_string());
  }
  run_query([statements](engine_session& e, attribute_set& a,
                         done<execution> d) { e.execute(statements, a, std::move(d)); },
            [this](execution result) { respond_execution(std::move(result)); });
}

void session_core::cmd_fetch(const json::object& request) {
  auto handle = integer_field(request, "resultSetHandle");
  auto start = integer_field(request, "startPosition");
  auto budget = integer_field(request, "numBytes");
  if (!handle)
    return respond(bad_request("fetch: resultSetHandle must be an integer"));
  if (!start || *start < 0)
    return respond(bad_request("fetch: startPosition must be a non-negative integer"));
  if (request.contains("numBytes") && (!budget || *budget <= 0))
    return respond(bad_request("fetch: numBytes must be a positive integer"));
  auto bytes = std::min<std::int64_t>(budget.value_or(5 << 20), max_fetch_bytes);
  std::string text = R"({"status":"ok","responseData":)";
  if (!results_.fetch(*handle, static_cast<std::uint64_t>(*start),
                      static_cast<std::uint64_t>(bytes), text))
    return respond(
        bad_request("fetch: result set handle " + std::to_string(*handle) + " is not open"));
  // The chunk is JSON text already: only the attributes the request changed join it.
  if (auto changed = finish_request(); !changed.empty())
    text += ",\"attributes\":" + json::serialize(changed);
  text += '}';
  send_text(std::move(text));
  send_deferred();
}

void session_core::cmd_close_result_set(const json::object& request) {
  auto handles = request.if_contains("resultSetHandles");
  if (!handles || !handles->is_array())
    return respond(bad_request("closeResultSet: resultSetHandles must be an array of integers"));
  for (const auto& h : handles->get_array()) {
    if (!h.is_int64() && !h.is_uint64())
      return respond(bad_request("closeResultSet: resultSetHandles must be an array of integers"));
  }
  std::vector<std::shared_ptr<const result_set>> closed;
  for (const auto& h : handles->get_array())
    if (auto rows = results_.close(h.is_int64() ? h.get_int64()
                                                : static_cast<std::int64_t>(h.get_uint64())))
      closed.push_back(std::move(rows));
  release_rows(std::move(closed));
  respond(ok_response());
}

void session_core::cmd_result_set_header(const json::object& request) {
  auto handles = request.if_contains("resultSetHandles");
  if (!handles || !handles->is_array())
    return respond(
        bad_request("getResultSetHeader: resultSetHandles must be an array of integers"));
  json::array results;
  for (const auto& h : handles->get_array()) {
    std::optional<json::object> header;
    if (h.is_int64())
      header = results_.header(h.get_int64());
    if (!header)
      return respond(bad_request("getResultSetHeader: " + json::serialize(h) +
                                 " is not an open result set handle"));
    results.push_back(std::move(*header));
  }
  json::object response = ok_response();
  response["responseData"] =
      json::object{{"numResults", results.size()}, {"results", std::move(results)}};
  respond(std::move(response));
}

void session_core::cmd_create_prepared(const json::object& request) {
  auto sql = string_field(request, "sqlText");
  if (!sql)
    return respond(bad_request("createPreparedStatement: sqlText must be a string"));
  engine_->prepare(
      std::string(*sql), attributes_,
      on_strand<std::variant<prepared_statement_info, sql_error>>([this](auto prepared) {
        if (auto error = std::get_if<sql_error>(&prepared))
          return respond(error_response(*error));
        auto& info = std::get<prepared_statement_info>(prepared);
        json::object data{{"statementHandle", info.handle}, {"numResults", 1}};
        if (!info.parameters.empty())
          data["parameterData"] = json::object{{"numColumns", info.parameters.size()},
                                               {"columns", columns_json(info.parameters)}};
        json::object result{{"resultType", "rowCount"}, {"rowCount", 0}};
        if (info.result_columns)
          result = json::object{
              {"resultType", "resultSet"},
              {"resultSet", json::object{{"numColumns", info.result_columns->columns.size()},
                                         {"numRows", 0},
                                         {"numRowsInMessage", 0},
                                         {"columns", columns_json(info.result_columns->columns)}}}};
        data["results"] = json::array{std::move(result)};
        json::object response = ok_response();
        response["responseData"] = std::move(data);
        respond(std::move(response));
      }));
}

void session_core::cmd_execute_prepared(const json::object& request) {
  auto handle = integer_field(request, "statementHandle");
  if (!handle)
    return respond(bad_request("executePreparedStatement: statementHandle must be an integer"));
  auto rows = integer_field(request, "numRows");
  if (request.contains("numRows") && (!rows || *rows < 0))
    return respond(bad_request("executePreparedStatement: numRows must be a non-negative integer"));
  json::array data;
  if (auto d = request.if_contains("data"); d && !d->is_null()) {
    if (!d->is_array())
      return respond(bad_request("executePreparedStatement: data must be an array of columns"));
    data = d->get_array();
  }
  auto num_rows = static_cast<std::size_t>(rows.value_or(0));
  run_query([h = *handle, data = std::move(data), num_rows](
                engine_session& e, attribute_set& a,
                done<execution> d) { e.execute_prepared(h, data, num_rows, a, std::move(d)); },
            [this](execution result) { respond_execution(std::move(result)); });
}

void session_core::cmd_close_prepared(const json::object& request) {
  auto handle = integer_field(request, "statementHandle");
  if (!handle)
    return respond(bad_request("closePreparedStatement: statementHandle must be an integer"));
  engine_->close_prepared(*handle, on_strand<bool>([this, h = *handle](bool closed) {
    if (!closed)
      return respond(bad_request("closePreparedStatement: statement handle " + std::to_string(h) +
                                 " is not open"));
    respond(ok_response());
  }));
}

void session_core::cmd_set_attributes(const json::object& request) {
  json::object requested;
  if (auto a = request.if_contains("attributes"); a && a->is_object())
    requested = a->get_object();
  engine_->sync_attributes(
      attributes_, on_strand<std::optional<sql_error>>([this, requested](auto error) {
        if (error)
          return respond(error_response(*error));
        json::object response = ok_response();
        json::object echoed;
        for (const auto& [name, value] : requested) // what was asked, as it is now
          if (auto now = attributes_.all().if_contains(name))
            echoed[name] = *now;
        response["attributes"] = std::move(echoed);
        respond(std::move(response));
      }));
}

// ---- queries: latency, timeout, abort, heartbeat -------------------------------------------

void session_core::run_query(engine_job job, execution_handler done) {
  std::uint64_t query = ++query_;
  running_ = true;
  in_engine_ = aborted_ = timed_out_ = false;
  state_->set_status(session_id_, "EXECUTE SQL");
  arm_timeout(query);
  arm_heartbeat(query);
  auto latency = std::min(state_->next_query_latency_ms(), max_latency_ms);
  if (latency <= 0)
    return start_engine_job(query, std::move(job), std::move(done));
  // The latency is the "running" phase of the query: abortQuery and queryTimeout end it.
  latency_timer_.expires_after(milliseconds(latency));
  latency_timer_.async_wait([self = shared_from_this(), query, job = std::move(job),
                             done = std::move(done)](boost::system::error_code ec) mutable {
    if (ec || self->closed_ || !self->running_ || self->query_ != query)
      return;
    self->start_engine_job(query, std::move(job), std::move(done));
  });
}

void session_core::start_engine_job(std::uint64_t query, engine_job job, execution_handler done) {
  in_engine_ = true;
  job(*engine_, attributes_,
      on_strand<execution>([this, query, done = std::move(done)](execution result) {
        if (query_ != query || !running_)
          return;
        running_ = in_engine_ = false;
        latency_timer_.cancel();
        timeout_timer_.cancel();
        heartbeat_timer_.cancel();
        state_->set_status(session_id_, "IDLE");
        if (result.error && result.error->sql_code == "R0003" && timed_out_)
          result.error = sql_error{"R0001", timeout_text + suffix()};
        done(std::move(result));
      }));
}

void session_core::end_query_early(std::uint64_t query, const char* sql_code, const char* text) {
  if (query_ != query || !running_)
    return;
  running_ = false;
  latency_timer_.cancel();
  timeout_timer_.cancel();
  heartbeat_timer_.cancel();
  state_->set_status(session_id_, "IDLE");
  respond(error_response(sql_code, text + suffix()));
}

void session_core::abort_running(bool timeout) {
  if (!running_)
    return; // abortQuery while idle is ignored
  (timeout ? timed_out_ : aborted_) = true;
  if (in_engine_)
    interrupt_engine(); // the statement ends with SQLITE_INTERRUPT -> R0003 (R0001)
  else
    end_query_early(query_, timeout ? "R0001" : "R0003", timeout ? timeout_text : aborted_text);
}

void session_core::arm_timeout(std::uint64_t query) {
  // Clamped again here: a deadline of now + 9.3e9 s overflows the clock's nanoseconds and
  // would lie in the past, ending every query at once.
  auto limit = std::min(attributes_.query_timeout_seconds(), max_attribute_seconds);
  if (limit <= 0)
    return;
  timeout_timer_.expires_after(seconds(limit));
  timeout_timer_.async_wait([self = shared_from_this(), query](boost::system::error_code ec) {
    if (ec || self->query_ != query || !self->running_)
      return;
    self->abort_running(true);
  });
}

void session_core::arm_heartbeat(std::uint64_t query) {
  auto interval = std::min(attributes_.feedback_interval_seconds(), max_attribute_seconds);
  if (interval <= 0)
    return;
  heartbeat_timer_.expires_after(seconds(interval));
  heartbeat_timer_.async_wait([self = shared_from_this(), query](boost::system::error_code ec) {
    if (ec || self->query_ != query || !self->running_ || self->closed_)
      return;
    if (auto connection = self->connection_.lock())
      connection->send_pong();
    self->arm_heartbeat(query);
  });
}

void session_core::respond_execution(execution result) {
  if (result.error)
    return respond(error_response(*result.error));
  json::object response = ok_response();
  response["responseData"] =
      encode_results(std::move(result.results), results_, attributes_.result_set_max_rows());
  respond(std::move(response));
}

// ---- plumbing ----------------------------------------------------------------------------

void session_core::release_rows(std::vector<std::shared_ptr<const result_set>> rows) {
  if (rows.empty())
    return;
  // Freeing millions of JSON values takes a while: not on the I/O thread.
  boost::asio::post(state_->workers, [rows = std::move(rows)]() mutable { rows.clear(); });
}

template <class Work, class Done> void session_core::on_worker(Work work, Done done) {
  auto self = shared_from_this();
  boost::asio::post(
      state_->workers, [self, work = std::move(work), done = std::move(done)]() mutable {
        auto result = work();
        boost::asio::post(self->strand_,
                          [self, result = std::move(result), done = std::move(done)]() mutable {
                            if (!self->closed_)
                              done(std::move(result));
                          });
      });
}

template <class T> done<T> session_core::on_strand(std::function<void(T)> then) {
  return [self = shared_from_this(), then = std::move(then)](T result) {
    boost::asio::post(self->strand_, [self, then, result = std::move(result)]() mutable {
      if (!self->closed_)
        then(std::move(result));
    });
  };
}

void session_core::begin_request() {
  busy_ = true;
  attributes_before_ = attributes_;
}

json::object session_core::finish_request() {
  json::object changed;
  if (phase_ == phase::logged_in) {
    if (attributes_before_)
      changed = attributes_.changed_since(*attributes_before_);
    if (session_id_ != 0) {
      state_->set_current_schema(session_id_, attributes_.current_schema());
      state_->set_query_timeout(session_id_, attributes_.query_timeout_seconds());
    }
  }
  attributes_before_.reset();
  busy_ = false;
  return changed;
}

void session_core::respond(json::object response) {
  if (auto changed = finish_request(); !changed.empty()) {
    auto& reported = response["attributes"];
    if (!reported.is_object())
      reported = json::object();
    for (auto& [name, value] : changed)
      reported.get_object()[name] = value;
  }
  send(response);
  send_deferred();
}

void session_core::send_deferred() {
  for (const auto& answer : deferred_)
    send(answer);
  deferred_.clear();
}

void session_core::send(const json::object& message) {
  if (!closed_)
    send_text(json::serialize(message));
}

void session_core::send_text(std::string text) {
  if (closed_)
    return;
  auto connection = connection_.lock();
  if (!connection)
    return;
  if (compression_)
    connection->send(exasol::codec::zlib_compress(text), true);
  else
    connection->send(std::move(text), false);
}

void session_core::protocol_violation(const std::string& text) {
  ++state_->protocol_violations;
  if (busy_) {
    deferred_.push_back(bad_request(text)); // answered after the request in flight
    return;
  }
  begin_request();
  respond(bad_request(text));
}

std::string session_core::suffix() const {
  return " (Session: " + std::to_string(session_id_) + ")";
}

} // namespace exafront

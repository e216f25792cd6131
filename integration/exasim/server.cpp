#include "integration/exasim/server.hpp"

#include "integration/exasim/blocking_engine.hpp"
#include "integration/exasim/sqlite_engine.hpp"
#include "integration/front/front_server.hpp"
#include "integration/front/front_state.hpp"
#include "integration/front/listener.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace exasim {

using exafront::front_state;

struct server::impl {
  server_options options;
  std::shared_ptr<front_state> state;
  exafront::front_server net; // certificate, listener, I/O threads
  std::string temp_dir;       // the private database's directory, removed with the server
  std::string database;       // the SQLite file, kept across restarts
  counters retired;           // totals of the states of earlier runs (before a restart)
  double spike_probability = 0;
  std::chrono::milliseconds spike{0};

  void start();
  void stop();
  std::string make_temp_database();
};

std::string server::impl::make_temp_database() {
  std::string pattern = (std::filesystem::temp_directory_path() / "exasim-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("exasim: cannot create a temporary directory for the database");
  temp_dir = pattern;
  return temp_dir + "/exasim.db";
}

namespace {

// Adds the cumulative counters of `s` (not the "now" ones: sessions, connections, results).
void counters_add(counters& total, const front_state& s) {
  total.sessions_opened += s.sessions_opened;
  total.sessions_closed += s.sessions_closed;
  total.failed_logins += s.failed_logins;
  total.requests += s.requests;
  total.protocol_violations += s.protocol_violations;
  total.accepts += s.accepts;
  total.accept_errors += s.accept_errors;
  total.login_timeouts += s.login_timeouts;
  total.latency_spikes += s.latency_spikes;
}

exafront::front_options front_options_of(const server_options& o) {
  exafront::front_options f;
  f.name = "exasim";
  f.host = o.host;
  f.require_tls = o.require_tls;
  f.max_protocol_version = o.max_protocol_version;
  f.max_message_bytes = o.max_message_bytes;
  f.login_timeout = o.login_timeout;
  f.fresh_rsa_key_per_session = o.fresh_rsa_key_per_session;
  f.worker_threads = o.engine_threads; // SQLite's calls run there too (blocking_engine)
  f.login_latency = o.login_latency;
  f.query_latency = o.query_latency;
  f.max_sessions = o.max_sessions;
  f.refuse_logins = o.refuse_logins;
  f.chaos_seed = o.chaos_seed;
  return f;
}

} // namespace

void server::impl::start() {
  if (net.running())
    return;
  // A restart keeps what clients know: the certificate (pinned by fingerprint), the port and
  // the data.
  bool restart = state != nullptr;
  net.prepare_tls(options.cert_file, options.key_file);
  std::uint64_t first_session = 0;
  if (restart) {
    counters_add(retired, *state);
    first_session = state->session_counter();
  }
  state = std::make_shared<front_state>(front_options_of(options), first_session);
  state->set_latency_spikes(spike_probability, spike.count());
  if (database.empty())
    database = options.database_file.empty() ? make_temp_database() : options.database_file;
  try {
    state->db_engine = std::make_unique<blocking_engine>(
        std::make_unique<sqlite_engine>(database, *state, options.lock_wait_timeout),
        credential_store{options.users, options.access_tokens, options.refresh_tokens},
        state->workers);
    if (!options.fresh_rsa_key_per_session)
      state->shared_key = exasol::codec::rsa_key_pair::generate(1024);
  } catch (...) {
    state->workers.join();
    state->db_engine.reset();
    throw;
  }
  net.start(state, options.port, options.threads);
}

// front_server::stop's order: every session ends (closing its SQLite connection) before the
// engine. The database stays for a restart; the destructor removes a temporary one.
void server::impl::stop() {
  net.stop();
}

server::server(server_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
}

server::~server() {
  stop();
  if (!impl_->temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(impl_->temp_dir, ec);
  }
}

void server::start() {
  impl_->start();
}
void server::stop() {
  impl_->stop();
}

std::uint16_t server::port() const {
  return impl_->net.port();
}
const std::string& server::fingerprint() const {
  return impl_->net.fingerprint();
}

std::string server::dsn() const {
  return impl_->options.host + "/" + fingerprint() + ":" + std::to_string(port());
}

counters server::stats() const {
  counters c = impl_->retired;
  if (!impl_->state)
    return c;
  auto& s = *impl_->state;
  counters_add(c, s);
  c.active_sessions = s.active_sessions();
  c.connections = s.connections;
  c.result_rows = s.results->rows;
  c.result_bytes = s.results->bytes;
  return c;
}

std::vector<std::uint64_t> server::session_ids() const {
  return impl_->state ? impl_->state->session_ids() : std::vector<std::uint64_t>{};
}

void server::set_login_latency(std::chrono::milliseconds latency) {
  impl_->options.login_latency = latency;
  if (impl_->state)
    impl_->state->login_latency_ms = latency.count();
}

void server::set_query_latency(std::chrono::milliseconds latency) {
  impl_->options.query_latency = latency;
  if (impl_->state)
    impl_->state->query_latency_ms = latency.count();
}

void server::set_max_sessions(std::size_t max_sessions) {
  impl_->options.max_sessions = max_sessions;
  if (impl_->state)
    impl_->state->max_sessions = max_sessions;
}

void server::set_refuse_logins(bool refuse) {
  impl_->options.refuse_logins = refuse;
  if (impl_->state)
    impl_->state->refuse_logins = refuse;
}

bool server::drop_session(std::uint64_t session_id) {
  return impl_->state && impl_->state->kill_session(session_id);
}

std::optional<std::uint64_t> server::drop_any_session(std::uint64_t pick) {
  // A session may end between listing and dropping; then try the others.
  for (auto ids = session_ids(); !ids.empty(); ids = session_ids()) {
    auto id = ids[pick % ids.size()];
    if (drop_session(id))
      return id;
  }
  return std::nullopt;
}

void server::set_latency_spikes(double probability, std::chrono::milliseconds spike) {
  impl_->spike_probability = probability;
  impl_->spike = spike;
  if (impl_->state)
    impl_->state->set_latency_spikes(probability, spike.count());
}

void server::set_accepting(bool accepting) {
  if (!impl_->net.running())
    throw std::logic_error("exasim: set_accepting needs a running server");
  impl_->net.accept().set_accepting(accepting);
}

} // namespace exasim

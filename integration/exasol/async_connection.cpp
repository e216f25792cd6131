// The socket side of the client: TCP, TLS, WebSocket, and the one exchange loop that runs the
// protocol commands of protocol.hpp (login, queries, ...) over them, all asynchronous on the
// connection's strand. Deadlines keep the synchronous client's meaning:
// - connecting: connect_timeout per address (TCP + TLS + WebSocket handshake) as the
//   tcp_stream's expiry, and for the DNS of the whole DSN;
// - login_timeout bounds every exchange of the login;
// - socket_timeout is a hard deadline per write and per plain reply, and the longest silence
//   while a query runs (Pongs count as life there);
// - query_timeout sends abortQuery, then abort_grace waits for the server's R0003.
// One steady_timer per connection enforces the exchange deadlines; on expiry it closes the
// socket, which completes the pending operation with an error, and the connection counts as
// broken. The WebSocket's own timeout stays off: its idle pings would let heartbeats extend a
// deadline.
#include "integration/exasol/async_connection.hpp"

#include "integration/exasol/codec.hpp"
#include "integration/exasol/dsn.hpp"
#include "integration/exasol/protocol.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <tuple>

namespace exasol {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

// Printable ASCII only: a byte count alone would let one multi-byte character pass.
bool valid_numeric_characters(const std::string& c) {
  auto ascii = [](char x) { return x >= 0x20 && x < 0x7f; };
  return c.size() == 2 && ascii(c[0]) && ascii(c[1]) && c[0] != c[1];
}

namespace {

using strand_type = net::strand<net::any_io_executor>;
using plain_ws = websocket::stream<beast::tcp_stream>;
using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// A deadline `span` from now; zero means "no limit" (one year is forever for a socket).
steady::time_point after(std::chrono::milliseconds span) {
  return steady::now() + (span.count() > 0 ? span : std::chrono::hours(24 * 365));
}

std::string millis(std::chrono::milliseconds span) {
  return std::to_string(span.count()) + " ms";
}

// TLS client contexts are shared by all connections of the process, not made per connection:
// a context that verifies certificates loads the whole system CA store (about 0.5 MB and a few
// milliseconds each time), and an SSL_CTX serves any number of connections on any threads once
// it is set up (what differs per connection, the verify mode and the expected host, is set on
// its SSL object). A connection that pins a fingerprint (or checks nothing) verifies no chain,
// so it gets a bare context without a CA store. A context lives only while a connection uses
// it, so a CA file replaced on disk is read again once the connections of the old one are gone.
struct tls_context_key {
  bool verifies = false;
  std::string ca_file; // empty: the system's store (when verifying)
  bool operator<(const tls_context_key& o) const {
    return std::tie(verifies, ca_file) < std::tie(o.verifies, o.ca_file);
  }
};

std::shared_ptr<ssl::context> make_tls_context(const tls_context_key& key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (!key.verifies)
    return ctx;
  if (!key.ca_file.empty()) {
    beast::error_code ec;
    ctx->load_verify_file(key.ca_file, ec);
    if (ec)
      throw error(error_kind::config, "cannot read CA file '" + key.ca_file + "': " + ec.message());
  } else {
    beast::error_code ignored; // no system store: verification fails later, clearly
    ctx->set_default_verify_paths(ignored);
  }
  return ctx;
}

std::shared_ptr<ssl::context> client_tls_context(const tls_context_key& key) {
  static std::mutex guard;
  static std::map<tls_context_key, std::weak_ptr<ssl::context>> contexts;
  std::lock_guard<std::mutex> lock(guard);
  for (auto i = contexts.begin(); i != contexts.end();)
    i = i->second.expired() ? contexts.erase(i) : std::next(i);
  if (auto found = contexts.find(key); found != contexts.end())
    if (auto ctx = found->second.lock()) // the last user may have just let go
      return ctx;
  auto ctx = make_tls_context(key);
  contexts[key] = ctx;
  return ctx;
}

error_kind classify(const beast::error_code& ec) {
  if (ec == net::error::connection_refused)
    return error_kind::refused;
  if (ec == net::error::timed_out || ec == beast::error::timeout)
    return error_kind::timeout;
  if (ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
      ec == net::error::not_connected || ec == net::error::bad_descriptor ||
      ec == websocket::error::closed || ec == ssl::error::stream_truncated)
    return error_kind::reset;
  if (ec == websocket::error::message_too_big || ec == websocket::condition::protocol_violation ||
      ec == websocket::condition::handshake_failed)
    return error_kind::protocol;
  if (ec.category() == net::error::get_ssl_category())
    return error_kind::tls;
  return error_kind::network;
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  auto address = ep.address().to_string();
  if (ep.address().is_v6())
    address = "[" + address + "]";
  return address + ":" + std::to_string(ep.port());
}

// One address to try: the DSN host it came from and one resolved endpoint.
struct target {
  dsn_host host;
  tcp::endpoint endpoint;
  std::string describe() const { return endpoint_text(endpoint) + " (" + host.host + ")"; }
};

struct attempt_failure {
  std::string where;
  error_kind kind;
  std::string why;
};

// When every address failed, the error takes the most telling kind among the failures.
error_kind overall_kind(const std::vector<attempt_failure>& failures) {
  for (auto kind :
       {error_kind::fingerprint_mismatch, error_kind::tls, error_kind::protocol,
        error_kind::timeout, error_kind::refused, error_kind::reset, error_kind::network})
    for (const auto& f : failures)
      if (f.kind == kind)
        return kind;
  return error_kind::dns;
}

std::exception_ptr make_error(error_kind kind, const std::string& text) {
  return std::make_exception_ptr(error(kind, text));
}

// The configured attributes a server would refuse, or that would break the connection, fail
// here rather than in a login or a long query.
void check_attributes(const connection_options& o) {
  if (o.numeric_characters && !valid_numeric_characters(*o.numeric_characters))
    throw error(error_kind::config, "numericCharacters must be two distinct ASCII characters, "
                                    "the decimal and the group separator (e.g. \".,\"), not \"" +
                                        *o.numeric_characters + "\"");
  if (!o.feedback_interval_s)
    return;
  if (*o.feedback_interval_s <= 0)
    throw error(error_kind::config, "feedbackInterval must be at least 1 second");
  // The server's heartbeats are all a running query sends: socket_timeout must outlast them.
  if (o.socket_timeout.count() > 0 &&
      std::chrono::seconds(*o.feedback_interval_s) >= o.socket_timeout)
    throw error(error_kind::config, "feedbackInterval (" + std::to_string(*o.feedback_interval_s) +
                                        " s) must be shorter than the socket timeout");
}

} // namespace

struct async_connection::impl : std::enable_shared_from_this<impl> {
  impl(net::any_io_executor ex, connection_options o);

  // --- connecting ---
  void open(done_handler h);
  void do_resolve(std::size_t host, bool v4_only);
  void on_resolve(std::size_t host, bool v4_only, std::uint64_t gen, beast::error_code ec,
                  const tcp::resolver::results_type& results);
  void do_connect(std::size_t index);
  void on_connect(beast::error_code ec);
  void on_tls_handshake(beast::error_code ec);
  void do_ws_handshake();
  void on_ws_handshake(beast::error_code ec);
  void attempt_failed(error_kind kind, const std::string& why);
  void connect_failed();
  void configure_tls(const target& t);
  // Pinning replaces CA and host checks; insecure mode checks nothing.
  bool verifies(const target& t) const {
    return t.host.fingerprint.empty() && !t.host.no_cert_check && !opts.insecure;
  }
  std::shared_ptr<ssl::context> tls_context_for(const target& t) const;
  void check_fingerprint(const target& t);
  void configure_websocket();
  void start_login();

  // --- the exchange loop ---
  void run(std::shared_ptr<protocol::command> cmd, done_handler h);
  void advance(protocol::step next);
  void do_write(std::string payload);
  void on_write(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec);
  std::string decode();
  protocol::step answer(std::string_view text);
  void finish(std::exception_ptr e);

  // --- deadlines and aborts ---
  void arm(steady::time_point deadline);
  void disarm();
  void on_deadline();
  void check_query();
  void give_up(const std::string& what);
  void fail_io(const beast::error_code& ec, const std::string& what);
  void protocol_failure(const std::string& what);
  steady::time_point exchange_deadline() const;
  steady::time_point silence_deadline() const;
  std::string exchange_timeout_text(const std::string& what) const;
  void start_abort();
  void on_abort_written();

  // --- goodbye ---
  void disconnect(done_handler h);
  void on_disconnect_sent(std::exception_ptr e, done_handler h);
  void on_close_frame(done_handler h);
  void close_socket() noexcept;
  void mark_broken(const std::string& why) noexcept;
  std::exception_ptr unusable() const;

  template <class F> decltype(auto) with_ws(F&& f) { return tls ? f(*tls) : f(*plain); }
  std::string with_peer(const std::string& text) const {
    return text + (peer.empty() ? "" : " (" + peer + ")");
  }

  connection_options opts;
  strand_type strand;
  // Shared with other connections (client_tls_context): the one `tls` uses, which must
  // outlive it, and the one with the CA file, if one is given.
  std::shared_ptr<ssl::context> ssl_ctx, ca_file_ctx;
  std::vector<dsn_host> hosts;
  tcp::resolver resolver;
  net::steady_timer timer;
  std::unique_ptr<plain_ws> plain;
  std::unique_ptr<tls_ws> tls;
  beast::flat_buffer buffer;
  std::string out_payload, abort_payload, pending_write;

  protocol::session_state state;
  std::string peer;
  bool is_open = false, broken = false;
  std::string broken_reason;
  // close() ran: an open still connecting stops instead of making a new socket.
  bool closed_by_owner = false;

  // Connecting: the resolved targets, the one being tried and why the others failed.
  std::vector<target> targets;
  std::vector<attempt_failure> failures;
  std::size_t current = 0;
  std::uint64_t resolve_gen = 0; // a late resolve (getaddrinfo cannot be interrupted) is stale
  steady::time_point resolve_deadline;

  // The operation now running: its command and handler, how the reply is awaited, and the
  // error a deadline decided on (delivered once the pending operation completes).
  std::shared_ptr<protocol::command> cmd;
  done_handler done;
  protocol::wait how = protocol::wait::reply;
  enum class phase { idle, drain, write, read, close_frame } now = phase::idle;
  std::exception_ptr deadline_error;
  std::uint64_t timer_gen = 0; // a timer handler already queued when re-armed is stale

  // Query and abort bookkeeping. running_query is read by abort_query() on other threads;
  // everything else is touched only on the strand.
  std::atomic<std::uint64_t> running_query{0};
  std::uint64_t query_counter = 0;
  bool query_timed_out = false;
  steady::time_point query_deadline = steady::time_point::max();
  steady::time_point abort_deadline = steady::time_point::max(); // once abortQuery is sent
  bool writing = false, abort_wanted = false, abort_write_done = true;
  steady::time_point last_activity;
  // While logging in: the end of the login_timeout, which bounds every exchange of the login.
  steady::time_point login_deadline = steady::time_point::max();
};

// ------------------------------------------------------------------ connecting

async_connection::impl::impl(net::any_io_executor ex, connection_options o)
    : opts(std::move(o)), strand(net::make_strand(ex)), resolver(strand), timer(strand) {
  state.configured_autocommit = opts.autocommit;
  bool token = !opts.access_token.empty() || !opts.refresh_token.empty();
  if (token && !opts.tls)
    throw error(error_kind::config, "token login (loginToken) needs an encrypted connection");
  if (!token && opts.user.empty())
    throw error(error_kind::config, "no user name given");
  if (opts.protocol_version < 1)
    throw error(error_kind::config, "protocol version must be 1 or higher");
  check_attributes(opts);
  hosts = parse_dsn(opts.dsn, opts.tls);
  if (!opts.tls)
    return;
  if (!opts.ca_file.empty()) // a CA file that cannot be read fails here, not in a handler
    ca_file_ctx = client_tls_context({true, opts.ca_file});
}

// Never throws: only a CA file can fail to load, and the constructor loaded that one.
std::shared_ptr<ssl::context> async_connection::impl::tls_context_for(const target& t) const {
  if (!verifies(t))
    return client_tls_context({});
  return ca_file_ctx ? ca_file_ctx : client_tls_context({true, ""});
}

void async_connection::impl::open(done_handler h) {
  done = std::move(h);
  resolve_deadline = after(opts.connect_timeout);
  do_resolve(0, true);
}

// IPv4 addresses of a name, as pyexasol does; any family for literals such as ::1. The timer
// bounds the DNS of the whole DSN; on expiry the remaining hosts count as timed out.
void async_connection::impl::do_resolve(std::size_t host, bool v4_only) {
  if (host == hosts.size()) {
    disarm();
    if (opts.shuffle_hosts)
      std::shuffle(targets.begin(), targets.end(), std::mt19937(std::random_device{}()));
    return do_connect(0);
  }
  if (steady::now() >= resolve_deadline) {
    failures.push_back({hosts[host].host, error_kind::dns, "name resolution timed out"});
    return do_resolve(host + 1, true);
  }
  auto gen = ++resolve_gen;
  auto service = std::to_string(hosts[host].port);
  auto on = [self = shared_from_this(), host, v4_only, gen](beast::error_code ec,
                                                            tcp::resolver::results_type r) {
    self->on_resolve(host, v4_only, gen, ec, r);
  };
  if (v4_only)
    resolver.async_resolve(tcp::v4(), hosts[host].host, service, tcp::resolver::numeric_service,
                           on);
  else
    resolver.async_resolve(hosts[host].host, service, tcp::resolver::numeric_service, on);
  timer.expires_at(resolve_deadline);
  timer.async_wait([self = shared_from_this(), host, gen](beast::error_code ec) {
    if (ec || gen != self->resolve_gen)
      return;
    ++self->resolve_gen; // the late answer is dropped
    self->resolver.cancel();
    self->failures.push_back(
        {self->hosts[host].host, error_kind::dns, "name resolution timed out"});
    self->do_resolve(host + 1, true);
  });
}

void async_connection::impl::on_resolve(std::size_t host, bool v4_only, std::uint64_t gen,
                                        beast::error_code ec,
                                        const tcp::resolver::results_type& results) {
  if (gen != resolve_gen)
    return;
  ++resolve_gen; // the timer of this resolve is stale now
  if (!ec && !results.empty()) {
    for (const auto& entry : results) {
      target t{hosts[host], entry.endpoint()};
      bool seen = std::any_of(targets.begin(), targets.end(), [&](const target& x) {
        return x.endpoint == t.endpoint && x.host.host == t.host.host;
      });
      if (!seen)
        targets.push_back(std::move(t));
    }
    return do_resolve(host + 1, true);
  }
  if (v4_only)
    return do_resolve(host, false);
  failures.push_back({hosts[host].host, error_kind::dns, "cannot resolve: " + ec.message()});
  do_resolve(host + 1, true);
}

// One address: TCP, TLS with SNI and verification, the pin, the WebSocket handshake; the
// tcp_stream's expiry bounds all of it (beast::error::timeout).
void async_connection::impl::do_connect(std::size_t index) {
  current = index;
  if (closed_by_owner)
    return finish(make_error(error_kind::broken, "the connection was closed while it opened"));
  if (index == targets.size())
    return connect_failed();
  if (opts.tls) {
    tls.reset(); // it refers to the context about to be replaced
    ssl_ctx = tls_context_for(targets[index]);
    tls = std::make_unique<tls_ws>(strand, *ssl_ctx);
  } else
    plain = std::make_unique<plain_ws>(strand);
  with_ws([&](auto& ws) {
    auto& tcp_layer = beast::get_lowest_layer(ws);
    if (opts.connect_timeout.count() > 0)
      tcp_layer.expires_after(opts.connect_timeout);
    tcp_layer.async_connect(
        targets[index].endpoint,
        [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
  });
}

void async_connection::impl::on_connect(beast::error_code ec) {
  if (ec == beast::error::timeout)
    return attempt_failed(error_kind::timeout,
                          "connecting timed out after " + millis(opts.connect_timeout));
  if (ec)
    return attempt_failed(classify(ec), ec.message());
  if (!tls)
    return do_ws_handshake();
  try {
    configure_tls(targets[current]);
  } catch (const error& e) {
    return attempt_failed(e.kind(), e.what());
  }
  tls->next_layer().async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](beast::error_code ec) { self->on_tls_handshake(ec); });
}

void async_connection::impl::on_tls_handshake(beast::error_code ec) {
  if (ec == beast::error::timeout)
    return attempt_failed(error_kind::timeout,
                          "the TLS handshake timed out after " + millis(opts.connect_timeout));
  if (ec) {
    long verify = SSL_get_verify_result(tls->next_layer().native_handle());
    std::string why = "TLS handshake failed: " + ec.message();
    if (verify != X509_V_OK)
      why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
    return attempt_failed(classify(ec) == error_kind::reset ? error_kind::reset : error_kind::tls,
                          why);
  }
  try {
    check_fingerprint(targets[current]);
  } catch (const error& e) {
    return attempt_failed(e.kind(), e.what());
  }
  do_ws_handshake();
}

void async_connection::impl::do_ws_handshake() {
  configure_websocket();
  const auto& t = targets[current];
  bool v6_literal = t.host.host.find(':') != std::string::npos;
  std::string host_header = v6_literal ? "[" + t.host.host + "]" : t.host.host;
  host_header += ":" + std::to_string(t.endpoint.port());
  with_ws([&](auto& ws) {
    ws.async_handshake(host_header, "/", [self = shared_from_this()](beast::error_code ec) {
      self->on_ws_handshake(ec);
    });
  });
}

void async_connection::impl::on_ws_handshake(beast::error_code ec) {
  if (ec == beast::error::timeout)
    return attempt_failed(error_kind::timeout, "the WebSocket handshake timed out after " +
                                                   millis(opts.connect_timeout));
  if (ec)
    return attempt_failed(classify(ec), "WebSocket handshake failed: " + ec.message());
  with_ws([](auto& ws) {
    beast::get_lowest_layer(ws).expires_never(); // exchanges have their own deadlines
    ws.text(true);
  });
  peer = targets[current].describe();
  start_login();
}

void async_connection::impl::attempt_failed(error_kind kind, const std::string& why) {
  failures.push_back({targets[current].describe(), kind, why});
  close_socket();
  // Posted: the stream is dropped outside its own completion handler.
  net::post(strand, [self = shared_from_this()] {
    self->tls.reset();
    self->plain.reset();
    self->do_connect(self->current + 1);
  });
}

void async_connection::impl::connect_failed() {
  if (failures.size() == 1)
    return finish(make_error(failures.front().kind, "cannot connect to " + failures.front().where +
                                                        ": " + failures.front().why));
  std::string text =
      "cannot connect to any of the " + std::to_string(failures.size()) + " addresses of the DSN:";
  for (const auto& f : failures)
    text += "\n  " + f.where + ": " + f.why;
  finish(make_error(overall_kind(failures), text));
}

void async_connection::impl::configure_tls(const target& t) {
  SSL* s = tls->next_layer().native_handle();
  // Asio's engine asks OpenSSL to free its record buffers whenever they are empty: every
  // reply then mallocs and frees about 17 KB again (2% of the client's CPU per statement, in
  // malloc's heap growth and consolidation). A pooled connection keeps them instead.
  SSL_clear_mode(s, SSL_MODE_RELEASE_BUFFERS);
  bool ip = is_ip_literal(t.host.host);
  // SNI carries the DSN's host name even though we connect to a resolved address.
  if (!ip && SSL_set_tlsext_host_name(s, t.host.host.c_str()) != 1)
    throw error(error_kind::tls, "cannot set the TLS server name");
  if (!verifies(t)) { // pinning replaces CA and host checks; insecure mode checks nothing
    tls->next_layer().set_verify_mode(ssl::verify_none);
    return;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(s);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, t.host.host.c_str())
              : X509_VERIFY_PARAM_set1_host(param, t.host.host.c_str(), 0);
  if (ok != 1)
    throw error(error_kind::tls, "cannot set the expected TLS host name");
  tls->next_layer().set_verify_mode(ssl::verify_peer);
}

void async_connection::impl::check_fingerprint(const target& t) {
  if (t.host.fingerprint.empty())
    return;
  X509* cert = SSL_get1_peer_certificate(tls->next_layer().native_handle());
  if (cert == nullptr)
    throw error(error_kind::fingerprint_mismatch, "the server presented no certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  X509_free(cert);
  if (len <= 0)
    throw error(error_kind::tls, "cannot encode the server certificate");
  std::string actual =
      codec::sha256_hex(std::string_view(reinterpret_cast<const char*>(der), std::size_t(len)));
  OPENSSL_free(der);
  if (!codec::fingerprints_equal(actual, t.host.fingerprint))
    throw error(error_kind::fingerprint_mismatch, "server certificate fingerprint " + actual +
                                                      " does not match the pinned " +
                                                      t.host.fingerprint);
}

void async_connection::impl::configure_websocket() {
  with_ws([this](auto& ws) {
    // Off explicitly: the stream's idle timer counts Pings and Pongs as life.
    ws.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                  websocket::stream_base::none(), false});
    ws.auto_fragment(false);
    // Headroom for zlib's worst-case expansion of an incompressible message.
    ws.read_message_max(opts.max_message_bytes + opts.max_message_bytes / 64 + 1024);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "exapool-exasol-cpp");
    }));
    // Exasol sends unsolicited Pongs while a query runs: they prove the server is alive. The
    // stream outlives no impl, so a raw pointer is safe here.
    ws.control_callback(
        [this](websocket::frame_type, beast::string_view) { last_activity = steady::now(); });
  });
}

// The socket is up; from here failures mark the connection broken. One deadline for the whole
// login: a server that trickles heartbeats or answers each step just in time cannot stretch it.
void async_connection::impl::start_login() {
  is_open = true;
  login_deadline = after(opts.login_timeout);
  auto h = std::move(done);
  run(std::make_shared<protocol::login_command>(opts),
      [self = shared_from_this(), h](std::exception_ptr e) {
        self->login_deadline = steady::time_point::max();
        if (e)
          self->close_socket();
        h(e);
      });
}

// ------------------------------------------------------------------ the exchange loop

// Runs a protocol command to its end: each request it asks for is written, its reply read (a
// query's under the query deadlines) and handed back to the command. Each write checks that the
// connection is usable; a command that sends nothing needs no connection.
void async_connection::impl::run(std::shared_ptr<protocol::command> c, done_handler h) {
  cmd = std::move(c);
  done = std::move(h);
  protocol::step first;
  try {
    first = cmd->start(state);
  } catch (...) {
    return finish(std::current_exception());
  }
  advance(std::move(first));
}

void async_connection::impl::advance(protocol::step next) {
  if (next.done)
    return finish(nullptr);
  if (auto e = unusable())
    return finish(e);
  how = next.how;
  if (how == protocol::wait::query) {
    running_query = ++query_counter;
    query_timed_out = false;
    abort_deadline = steady::time_point::max();
  }
  do_write(std::move(next.request));
}

// Beast allows one write next to the pending read: a request waits for an abortQuery still
// being written (within the socket timeout).
void async_connection::impl::do_write(std::string payload) {
  if (!abort_write_done) {
    pending_write = std::move(payload);
    now = phase::drain;
    return arm(after(opts.socket_timeout));
  }
  out_payload = state.compressed ? codec::zlib_compress(payload) : std::move(payload);
  writing = true;
  now = phase::write;
  arm(exchange_deadline());
  with_ws([&](auto& ws) {
    ws.binary(state.compressed); // compressed frames are binary, from the end of the login on
    ws.async_write(
        net::buffer(out_payload),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  });
}

void async_connection::impl::on_write(beast::error_code ec) {
  writing = false;
  disarm();
  if (deadline_error)
    return finish(deadline_error);
  if (abort_wanted) { // abort_query() arrived while the request was still being written
    abort_wanted = false;
    start_abort();
  }
  if (ec)
    return fail_io(ec, "writing a request");
  do_read();
}

// A reply other than a query's has a hard deadline (exchange_deadline). A query's: the socket
// timeout bounds each silence (Pongs count as life); the query timeout bounds the whole
// execute and then sends abortQuery, leaving abort_grace for the server's R0003.
void async_connection::impl::do_read() {
  buffer.clear();
  last_activity = steady::now();
  now = phase::read;
  if (how == protocol::wait::reply) {
    arm(exchange_deadline());
  } else {
    query_deadline = opts.query_timeout.count() > 0 ? steady::now() + opts.query_timeout
                                                    : steady::time_point::max();
    check_query();
  }
  with_ws([&](auto& ws) {
    ws.async_read(buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  });
}

void async_connection::impl::on_read(beast::error_code ec) {
  disarm();
  if (deadline_error)
    return finish(deadline_error);
  if (ec)
    return fail_io(ec, "reading a response");
  running_query = 0;
  std::string text;
  try {
    text = decode();
  } catch (...) {
    return finish(std::current_exception());
  }
  protocol::step next;
  try {
    next = answer(text);
  } catch (...) {
    return finish(std::current_exception());
  }
  advance(std::move(next));
}

std::string async_connection::impl::decode() {
  std::string text = beast::buffers_to_string(buffer.data());
  buffer.clear();
  if (!state.compressed) {
    // The WebSocket limit leaves headroom for compression; a plain message gets none.
    if (text.size() > opts.max_message_bytes)
      protocol_failure("a message of " + std::to_string(text.size()) +
                       " bytes, above max_message_bytes (" +
                       std::to_string(opts.max_message_bytes) + ")");
    return text;
  }
  try {
    return codec::zlib_decompress(text, opts.max_message_bytes);
  } catch (const codec::codec_error& e) {
    protocol_failure(std::string("undecodable compressed message: ") + e.what());
  }
  return {};
}

// A protocol error leaves the stream at an unknown place: the connection breaks. A server error
// answering a query that timed out is the server confirming the abort (R0003): a timeout.
protocol::step async_connection::impl::answer(std::string_view text) {
  try {
    return cmd->on_response(state, text);
  } catch (const protocol::violation& e) {
    mark_broken(e.reason());
    close_socket();
    throw;
  } catch (const error& e) {
    if (e.kind() == error_kind::protocol) {
      mark_broken(e.what());
      close_socket();
    }
    if (how == protocol::wait::query && query_timed_out && e.kind() == error_kind::server)
      throw error(error_kind::timeout,
                  "the query exceeded its timeout of " + millis(opts.query_timeout) +
                      " and was aborted: " + e.what(),
                  e.sql_code());
    throw;
  }
}

// Ends the operation now running; its handler may start the next one.
void async_connection::impl::finish(std::exception_ptr e) {
  running_query = 0;
  now = phase::idle;
  deadline_error = nullptr;
  auto h = std::move(done);
  done = nullptr;
  cmd.reset();
  if (h)
    h(e);
}

// ------------------------------------------------------------------ deadlines and aborts

void async_connection::impl::arm(steady::time_point deadline) {
  auto gen = ++timer_gen;
  timer.expires_at(deadline);
  timer.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
    if (!ec && gen == self->timer_gen)
      self->on_deadline();
  });
}

void async_connection::impl::disarm() {
  ++timer_gen;
  timer.cancel();
}

void async_connection::impl::on_deadline() {
  switch (now) {
  case phase::drain:
    mark_broken("writing abortQuery timed out");
    close_socket();
    return finish(make_error(error_kind::timeout, "writing abortQuery timed out (" + peer + ")"));
  case phase::write:
    return give_up(exchange_timeout_text("writing a request"));
  case phase::read:
    if (how == protocol::wait::reply)
      return give_up(exchange_timeout_text("waiting for a response"));
    return check_query();
  case phase::close_frame:
    return close_socket(); // the close completes with an error; the goodbye is done anyway
  case phase::idle:
    return;
  }
}

// The query deadlines, checked when the read starts, when the timer fires and when an abort
// moves abort_deadline; then the timer waits for the earliest of them again.
void async_connection::impl::check_query() {
  auto t = steady::now();
  if (t >= abort_deadline)
    return give_up(query_timed_out
                       ? "the query exceeded its timeout of " + millis(opts.query_timeout) +
                             " and the server did not confirm abortQuery"
                       : "the server did not confirm abortQuery within the abort grace of " +
                             millis(opts.abort_grace));
  if (t >= query_deadline) {
    query_timed_out = true;
    query_deadline = steady::time_point::max();
    abort_deadline = std::min(abort_deadline, t + opts.abort_grace);
    start_abort(); // re-arms through check_query
    return check_query();
  }
  if (opts.socket_timeout.count() > 0 && t - last_activity >= opts.socket_timeout)
    return give_up("no message from the server within the socket timeout of " +
                   millis(opts.socket_timeout));
  arm(std::min({query_deadline, abort_deadline, silence_deadline()}));
}

// Closes the socket, which completes the pending operation with operation_aborted; its handler
// then reports this timeout.
void async_connection::impl::give_up(const std::string& what) {
  ++timer_gen;
  mark_broken(what);
  deadline_error = make_error(error_kind::timeout, with_peer(what));
  close_socket();
}

void async_connection::impl::fail_io(const beast::error_code& ec, const std::string& what) {
  auto kind = classify(ec);
  std::string text = what + ": " + ec.message();
  if (kind == error_kind::reset)
    text += " (connection closed by the server)";
  mark_broken(text);
  close_socket();
  finish(make_error(kind, with_peer(text)));
}

void async_connection::impl::protocol_failure(const std::string& what) {
  mark_broken(what);
  close_socket();
  throw error(error_kind::protocol, "protocol error: " + what);
}

// A write or a reply other than a query's: the socket timeout from now, and never past the
// login deadline. Fixed when the wait starts, so no frame from the server extends it.
steady::time_point async_connection::impl::exchange_deadline() const {
  return std::min(after(opts.socket_timeout), login_deadline);
}

steady::time_point async_connection::impl::silence_deadline() const {
  return last_activity + (opts.socket_timeout.count() > 0
                              ? opts.socket_timeout
                              : std::chrono::milliseconds(std::chrono::hours(24 * 365)));
}

std::string async_connection::impl::exchange_timeout_text(const std::string& what) const {
  if (steady::now() >= login_deadline)
    return "the login did not finish within the login timeout of " + millis(opts.login_timeout) +
           " (" + what + ")";
  return what + " timed out after the socket timeout of " + millis(opts.socket_timeout);
}

// On the strand (posted by abort_query() or called by the query timeout). Beast allows one
// write next to the pending read, so the abort waits for a request write.
void async_connection::impl::start_abort() {
  if (!is_open || !abort_write_done)
    return;
  if (writing) {
    abort_wanted = true;
    return;
  }
  // Whoever asked, the query now ends within the grace: answered, or the connection broken.
  if (running_query.load() != 0) {
    abort_deadline = std::min(abort_deadline, steady::now() + opts.abort_grace);
    if (now == phase::read && how == protocol::wait::query)
      arm(std::min({query_deadline, abort_deadline, silence_deadline()}));
  }
  std::string msg = request::abort_query();
  abort_payload = state.compressed ? codec::zlib_compress(msg) : msg;
  abort_write_done = false;
  with_ws([&](auto& ws) {
    // A failed write surfaces on the pending read; nothing to do here.
    ws.async_write(
        net::buffer(abort_payload),
        [self = shared_from_this()](beast::error_code, std::size_t) { self->on_abort_written(); });
  });
}

void async_connection::impl::on_abort_written() {
  abort_write_done = true;
  if (now != phase::drain)
    return;
  disarm();
  do_write(std::move(pending_write));
}

// ------------------------------------------------------------------ goodbye

void async_connection::impl::disconnect(done_handler h) {
  if (!is_open) { // closed or broken: nothing to say goodbye to
    close_socket();
    return h(nullptr);
  }
  run(std::make_shared<protocol::exchange_command>(protocol::disconnect()),
      [self = shared_from_this(), h](std::exception_ptr e) { self->on_disconnect_sent(e, h); });
}

// EOF instead of the reply is a normal goodbye; then a polite close frame, briefly (the
// session is already gone).
void async_connection::impl::on_disconnect_sent(std::exception_ptr e, done_handler h) {
  if (e) {
    try {
      std::rethrow_exception(e);
    } catch (const error& err) {
      if (err.kind() != error_kind::reset) {
        is_open = false;
        close_socket();
        return h(e);
      }
    } catch (...) {
      is_open = false;
      close_socket();
      return h(e);
    }
  }
  if (!is_open)
    return on_close_frame(h);
  done = std::move(h);
  now = phase::close_frame;
  // Briefly: a second at most, also when socket_timeout is off (zero).
  constexpr std::chrono::milliseconds close_frame_limit{1000};
  arm(after(opts.socket_timeout.count() > 0 ? std::min(opts.socket_timeout, close_frame_limit)
                                            : close_frame_limit));
  with_ws([&](auto& ws) {
    ws.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
      self->disarm();
      auto h = std::move(self->done);
      self->now = phase::idle;
      self->on_close_frame(h);
    });
  });
}

void async_connection::impl::on_close_frame(done_handler h) {
  broken = false;
  is_open = false;
  close_socket();
  h(nullptr);
}

void async_connection::impl::close_socket() noexcept {
  if (tls || plain)
    with_ws([](auto& ws) { beast::get_lowest_layer(ws).close(); });
}

void async_connection::impl::mark_broken(const std::string& why) noexcept {
  if (is_open)
    broken = true;
  is_open = false;
  if (broken_reason.empty())
    broken_reason = why;
}

std::exception_ptr async_connection::impl::unusable() const {
  if (broken)
    return make_error(error_kind::broken, "the connection is broken: " + broken_reason);
  if (!is_open)
    return make_error(error_kind::broken, "the connection is closed");
  return nullptr;
}

// ------------------------------------------------------------------ public API

namespace {

// Runs `f` on the connection's strand with the impl alive until it ran.
template <class F> void on_strand(const std::shared_ptr<async_connection::impl>& p, F&& f) {
  net::dispatch(p->strand, [p, f = std::forward<F>(f)]() mutable { f(*p); });
}

// A query command made on the strand after the usability check (a closed or broken connection
// says so before the parameters are checked), its results handed to `h`.
template <class Make>
void run_query(const std::shared_ptr<async_connection::impl>& p, Make make,
               async_connection::handler<std::vector<result>> h) {
  on_strand(p, [make = std::move(make), h = std::move(h)](async_connection::impl& c) mutable {
    std::shared_ptr<protocol::query_command> cmd;
    try {
      if (auto e = c.unusable())
        std::rethrow_exception(e);
      cmd = std::make_shared<protocol::query_command>(make(protocol::result_limits::of(c.opts)));
    } catch (...) {
      return h(std::current_exception(), {});
    }
    c.run(cmd, [cmd, h](std::exception_ptr e) {
      h(e, e ? std::vector<result>{} : cmd->take_results());
    });
  });
}

} // namespace

async_connection::async_connection(net::any_io_executor ex, connection_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options))) {}

async_connection::~async_connection() {
  close();
}

void async_connection::async_open(done_handler h) {
  on_strand(impl_, [h = std::move(h)](impl& c) mutable { c.open(std::move(h)); });
}

void async_connection::async_run(std::shared_ptr<protocol::command> cmd, done_handler h) {
  on_strand(impl_, [cmd = std::move(cmd), h = std::move(h)](impl& c) mutable {
    c.run(std::move(cmd), std::move(h));
  });
}

void async_connection::async_execute(std::string sql, handler<std::vector<result>> h) {
  run_query(
      impl_,
      [sql = std::move(sql)](const protocol::result_limits& l) {
        return protocol::query_command::execute(sql, l);
      },
      std::move(h));
}

void async_connection::async_execute_batch(std::vector<std::string> sql_texts,
                                           handler<std::vector<result>> h) {
  run_query(
      impl_,
      [texts = std::move(sql_texts)](const protocol::result_limits& l) {
        return protocol::query_command::batch(texts, l);
      },
      std::move(h));
}

void async_connection::async_execute_prepared(prepared_statement statement,
                                              std::vector<std::vector<value>> rows,
                                              handler<std::vector<result>> h) {
  run_query(
      impl_,
      [st = std::move(statement), rows = std::move(rows)](const protocol::result_limits& l) {
        return protocol::query_command::prepared(st, rows, l);
      },
      std::move(h));
}

void async_connection::async_execute_prepared_raw(std::int64_t handle,
                                                  std::string parameter_columns_json,
                                                  std::string data_json, std::uint64_t num_rows,
                                                  handler<std::vector<result>> h) {
  run_query(
      impl_,
      [=, p = std::move(parameter_columns_json),
       d = std::move(data_json)](const protocol::result_limits& l) {
        return protocol::query_command::prepared_raw(handle, p, d, num_rows, l);
      },
      std::move(h));
}

void async_connection::async_prepare(std::string sql, handler<prepared_statement> h) {
  auto cmd = std::make_shared<protocol::prepare_command>(sql);
  async_run(cmd, [cmd, h = std::move(h)](std::exception_ptr e) {
    h(e, e ? prepared_statement{} : cmd->take_statement());
  });
}

void async_connection::async_close_prepared(std::int64_t handle, done_handler h) {
  async_run(std::make_shared<protocol::exchange_command>(protocol::close_prepared(handle)),
            std::move(h));
}

void async_connection::async_get_attributes(handler<exasol::attributes> h) {
  auto p = impl_;
  async_run(std::make_shared<protocol::exchange_command>(protocol::get_attributes()),
            [p, h = std::move(h)](std::exception_ptr e) {
              h(e, e ? exasol::attributes{} : p->state.attrs);
            });
}

void async_connection::async_set_attributes(exasol::attributes attrs, done_handler h) {
  async_run(std::make_shared<protocol::exchange_command>(protocol::set_attributes(attrs)),
            std::move(h));
}

void async_connection::async_close_leftovers(done_handler h) {
  async_run(std::make_shared<protocol::close_leftovers_command>(), std::move(h));
}

void async_connection::async_disconnect(done_handler h) {
  on_strand(impl_, [h = std::move(h)](impl& c) mutable { c.disconnect(std::move(h)); });
}

// The id check drops an abort that arrives after its query ended, so it cannot hit the next.
void async_connection::abort_query() {
  auto id = impl_->running_query.load();
  if (id == 0)
    return;
  net::post(impl_->strand, [p = impl_, id] {
    if (p->running_query.load() == id)
      p->start_abort();
  });
}

void async_connection::close() {
  close(nullptr);
}

void async_connection::close(done_handler h) {
  net::post(impl_->strand, [p = impl_, h = std::move(h)] {
    p->closed_by_owner = true;
    p->is_open = false;
    p->close_socket();
    if (h)
      h(nullptr);
  });
}

const session_info& async_connection::session() const {
  return impl_->state.info;
}
const std::string& async_connection::peer_address() const {
  return impl_->peer;
}
const protocol::session_state& async_connection::state() const {
  return impl_->state;
}
bool async_connection::is_open() const {
  return impl_->is_open && !impl_->broken;
}
bool async_connection::is_broken() const {
  return impl_->broken;
}

} // namespace exasol

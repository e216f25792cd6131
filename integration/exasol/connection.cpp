// The socket side of the client: TCP, TLS, WebSocket, and the driver that runs the protocol
// commands of protocol.hpp (login, queries, ...) over them, one round trip at a time.
// Every asynchronous operation is started on a private io_context and driven by the caller's
// thread with run_one_until(deadline); when a deadline passes the socket is closed, which
// completes the operation with an error, and the connection counts as broken. The one
// exception is the query timeout: it first sends abortQuery and waits a short grace for R0003.
// Deadlines are fixed when a wait starts: frames from the server (Pings, Pongs) only count as
// life while a query runs, and then never past query_timeout + abort_grace.
#include "integration/exasol/connection.hpp"

#include "integration/exasol/codec.hpp"
#include "integration/exasol/dsn.hpp"
#include "integration/exasol/protocol.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <random>

namespace exasol {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

using plain_ws = websocket::stream<beast::tcp_stream>;
using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// The completion of one asynchronous operation. Shared with its handler so that the handler
// never touches a dead stack frame, whatever path the caller leaves by.
struct op_state {
  bool done = false;
  beast::error_code ec;
};

// A deadline `span` from now; zero means "no limit" (one year is forever for a socket).
steady::time_point after(std::chrono::milliseconds span) {
  return steady::now() + (span.count() > 0 ? span : std::chrono::hours(24 * 365));
}

std::string millis(std::chrono::milliseconds span) {
  return std::to_string(span.count()) + " ms";
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

} // namespace

struct connection::impl {
  explicit impl(connection_options o);

  // --- driving the io_context ---
  bool run_until(const bool& done, steady::time_point deadline);
  void wait(const std::shared_ptr<op_state>& op, steady::time_point deadline,
            const std::string& what);
  [[noreturn]] void give_up(const std::shared_ptr<op_state>& op, error_kind kind,
                            const std::string& what);
  [[noreturn]] void fail_io(const beast::error_code& ec, const std::string& what);
  [[noreturn]] void protocol_failure(const std::string& what);
  steady::time_point silence_deadline() const;
  steady::time_point exchange_deadline() const;
  std::string exchange_timeout_text(const std::string& what) const;
  template <class F> decltype(auto) with_ws(F&& f) { return tls ? f(*tls) : f(*plain); }
  void close_socket() noexcept;
  void mark_broken(const std::string& why) noexcept;

  // --- connecting ---
  std::vector<target> resolve(const std::vector<dsn_host>& hosts,
                              std::vector<attempt_failure>& failures);
  void connect_any(const std::vector<dsn_host>& hosts);
  void connect_one(const target& t);
  void configure_tls(const target& t);
  void check_fingerprint(const target& t);
  void configure_websocket();
  void login();

  // --- messages ---
  void write_message(std::string payload);
  std::string read_message(bool query);
  std::string round_trip(std::string request);
  void start_abort();
  void drain_abort_write();
  void ensure_usable() const;

  // --- commands ---
  void drive(protocol::command& cmd);
  std::string exchange(std::string request, protocol::wait how);
  protocol::step answer(protocol::command& cmd, protocol::wait how, std::string_view text);

  connection_options opts;
  net::io_context ioc;
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::unique_ptr<plain_ws> plain;
  std::unique_ptr<tls_ws> tls;
  beast::flat_buffer buffer;
  std::string out_payload, abort_payload;

  protocol::session_state state; // what the protocol commands know and update
  std::string peer;
  bool open = false, broken = false;
  std::string broken_reason;

  // Query and abort bookkeeping. running_query is read by abort_query() on other threads;
  // everything else is touched only by the thread driving the io_context.
  std::atomic<std::uint64_t> running_query{0};
  std::uint64_t query_counter = 0;
  bool query_timed_out = false;
  steady::time_point abort_deadline = steady::time_point::max(); // once abortQuery is sent
  bool writing = false, abort_wanted = false, abort_write_done = true;
  steady::time_point last_activity;
  // While logging in: the end of the login_timeout, which bounds every exchange of the login.
  steady::time_point login_deadline = steady::time_point::max();
};

// ------------------------------------------------------------------ driving the io_context

bool connection::impl::run_until(const bool& done, steady::time_point deadline) {
  while (!done) {
    if (ioc.stopped())
      ioc.restart();
    if (steady::now() >= deadline)
      return false;
    ioc.run_one_until(deadline);
  }
  return true;
}

void connection::impl::wait(const std::shared_ptr<op_state>& op, steady::time_point deadline,
                            const std::string& what) {
  if (!run_until(op->done, deadline))
    give_up(op, error_kind::timeout, exchange_timeout_text(what));
}

void connection::impl::give_up(const std::shared_ptr<op_state>& op, error_kind kind,
                               const std::string& what) {
  close_socket(); // completes the pending operation with operation_aborted
  run_until(op->done, steady::now() + std::chrono::seconds(5));
  mark_broken(what);
  throw error(kind, what + (peer.empty() ? "" : " (" + peer + ")"));
}

void connection::impl::fail_io(const beast::error_code& ec, const std::string& what) {
  auto kind = classify(ec);
  std::string text = what + ": " + ec.message();
  if (kind == error_kind::reset)
    text += " (connection closed by the server)";
  mark_broken(text);
  close_socket();
  throw error(kind, text + (peer.empty() ? "" : " (" + peer + ")"));
}

void connection::impl::protocol_failure(const std::string& what) {
  mark_broken(what);
  close_socket();
  throw error(error_kind::protocol, "protocol error: " + what);
}

// A write or a reply other than a query's: the socket timeout from now, and never past the
// login deadline. Fixed when the wait starts, so no frame from the server extends it.
steady::time_point connection::impl::exchange_deadline() const {
  return std::min(after(opts.socket_timeout), login_deadline);
}

std::string connection::impl::exchange_timeout_text(const std::string& what) const {
  if (steady::now() >= login_deadline)
    return "the login did not finish within the login timeout of " + millis(opts.login_timeout) +
           " (" + what + ")";
  return what + " timed out after the socket timeout of " + millis(opts.socket_timeout);
}

steady::time_point connection::impl::silence_deadline() const {
  return last_activity + (opts.socket_timeout.count() > 0
                              ? opts.socket_timeout
                              : std::chrono::milliseconds(std::chrono::hours(24 * 365)));
}

void connection::impl::close_socket() noexcept {
  if (tls || plain)
    with_ws([](auto& ws) { beast::get_lowest_layer(ws).close(); });
}

void connection::impl::mark_broken(const std::string& why) noexcept {
  if (open)
    broken = true;
  open = false;
  if (broken_reason.empty())
    broken_reason = why;
}

// ------------------------------------------------------------------ connecting

connection::impl::impl(connection_options o) : opts(std::move(o)) {
  state.configured_autocommit = opts.autocommit;
  bool token = !opts.access_token.empty() || !opts.refresh_token.empty();
  if (token && !opts.tls)
    throw error(error_kind::config, "token login (loginToken) needs an encrypted connection");
  if (!token && opts.user.empty())
    throw error(error_kind::config, "no user name given");
  if (opts.protocol_version < 1)
    throw error(error_kind::config, "protocol version must be 1 or higher");
  auto hosts = parse_dsn(opts.dsn, opts.tls);
  if (opts.tls) {
    if (!opts.ca_file.empty()) {
      beast::error_code ec;
      ssl_ctx.load_verify_file(opts.ca_file, ec);
      if (ec)
        throw error(error_kind::config,
                    "cannot read CA file '" + opts.ca_file + "': " + ec.message());
    } else {
      beast::error_code ignored; // no system store: verification fails later, clearly
      ssl_ctx.set_default_verify_paths(ignored);
    }
  }
  connect_any(hosts);
  try {
    login();
  } catch (...) {
    close_socket();
    throw;
  }
}

std::vector<target> connection::impl::resolve(const std::vector<dsn_host>& hosts,
                                              std::vector<attempt_failure>& failures) {
  std::vector<target> targets;
  tcp::resolver resolver(ioc);
  auto deadline = after(opts.connect_timeout);
  for (const auto& host : hosts) {
    // IPv4 addresses of a name, as pyexasol does; any family for literals such as ::1.
    for (bool v4_only : {true, false}) {
      // Shared with the handler: getaddrinfo cannot be interrupted, so after a timeout the
      // handler may still run during a later call, long after this frame is gone.
      struct resolve_state : op_state {
        tcp::resolver::results_type results;
      };
      auto op = std::make_shared<resolve_state>();
      auto on_resolve = [op](beast::error_code ec, tcp::resolver::results_type r) {
        op->ec = ec;
        op->results = std::move(r);
        op->done = true;
      };
      auto service = std::to_string(host.port);
      if (v4_only)
        resolver.async_resolve(tcp::v4(), host.host, service, tcp::resolver::numeric_service,
                               on_resolve);
      else
        resolver.async_resolve(host.host, service, tcp::resolver::numeric_service, on_resolve);
      if (!run_until(op->done, deadline)) {
        resolver.cancel();
        run_until(op->done, steady::now() + std::chrono::seconds(5));
        failures.push_back({host.host, error_kind::dns, "name resolution timed out"});
        break;
      }
      if (!op->ec && !op->results.empty()) {
        for (const auto& entry : op->results) {
          target t{host, entry.endpoint()};
          bool seen = std::any_of(targets.begin(), targets.end(), [&](const target& x) {
            return x.endpoint == t.endpoint && x.host.host == t.host.host;
          });
          if (!seen)
            targets.push_back(std::move(t));
        }
        break;
      }
      if (!v4_only)
        failures.push_back({host.host, error_kind::dns, "cannot resolve: " + op->ec.message()});
    }
  }
  return targets;
}

void connection::impl::connect_any(const std::vector<dsn_host>& hosts) {
  std::vector<attempt_failure> failures;
  auto targets = resolve(hosts, failures);
  if (opts.shuffle_hosts)
    std::shuffle(targets.begin(), targets.end(), std::mt19937(std::random_device{}()));
  for (const auto& t : targets) {
    try {
      connect_one(t);
      peer = t.describe();
      return;
    } catch (const error& e) {
      failures.push_back({t.describe(), e.kind(), e.what()});
      close_socket();
      tls.reset();
      plain.reset();
    }
  }
  if (failures.size() == 1)
    throw error(failures.front().kind,
                "cannot connect to " + failures.front().where + ": " + failures.front().why);
  std::string text =
      "cannot connect to any of the " + std::to_string(failures.size()) + " addresses of the DSN:";
  for (const auto& f : failures)
    text += "\n  " + f.where + ": " + f.why;
  throw error(overall_kind(failures), text);
}

void connection::impl::configure_tls(const target& t) {
  SSL* s = tls->next_layer().native_handle();
  bool ip = is_ip_literal(t.host.host);
  // SNI carries the DSN's host name even though we connect to a resolved address.
  if (!ip && SSL_set_tlsext_host_name(s, t.host.host.c_str()) != 1)
    throw error(error_kind::tls, "cannot set the TLS server name");
  bool verify = t.host.fingerprint.empty() && !t.host.no_cert_check && !opts.insecure;
  if (!verify) { // pinning replaces CA and host checks; insecure mode checks nothing
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

void connection::impl::check_fingerprint(const target& t) {
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

void connection::impl::configure_websocket() {
  with_ws([this](auto& ws) {
    ws.auto_fragment(false);
    // Headroom for zlib's worst-case expansion of an incompressible message.
    ws.read_message_max(opts.max_message_bytes + opts.max_message_bytes / 64 + 1024);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "exapool-exasol-cpp");
    }));
    // Exasol sends unsolicited Pongs while a query runs: they prove the server is alive.
    ws.control_callback(
        [this](websocket::frame_type, beast::string_view) { last_activity = steady::now(); });
  });
}

void connection::impl::connect_one(const target& t) {
  auto deadline = after(opts.connect_timeout);
  if (opts.tls)
    tls = std::make_unique<tls_ws>(ioc, ssl_ctx);
  else
    plain = std::make_unique<plain_ws>(ioc);
  auto step = [&](auto&& start, const std::string& what) {
    auto op = std::make_shared<op_state>();
    start([op](beast::error_code ec, auto&&...) {
      op->ec = ec;
      op->done = true;
    });
    if (!run_until(op->done, deadline)) {
      close_socket();
      run_until(op->done, steady::now() + std::chrono::seconds(5));
      throw error(error_kind::timeout, what + " timed out after " + millis(opts.connect_timeout));
    }
    return op->ec;
  };

  auto ec = step(
      [&](auto h) {
        with_ws([&](auto& ws) { beast::get_lowest_layer(ws).async_connect(t.endpoint, h); });
      },
      "connecting");
  if (ec)
    throw error(classify(ec), ec.message());
  if (tls) {
    configure_tls(t);
    ec = step([&](auto h) { tls->next_layer().async_handshake(ssl::stream_base::client, h); },
              "the TLS handshake");
    if (ec) {
      long verify = SSL_get_verify_result(tls->next_layer().native_handle());
      std::string why = "TLS handshake failed: " + ec.message();
      if (verify != X509_V_OK)
        why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
      throw error(classify(ec) == error_kind::reset ? error_kind::reset : error_kind::tls, why);
    }
    check_fingerprint(t);
  }
  configure_websocket();
  bool v6_literal = t.host.host.find(':') != std::string::npos;
  std::string host_header = v6_literal ? "[" + t.host.host + "]" : t.host.host;
  host_header += ":" + std::to_string(t.endpoint.port());
  ec = step([&](auto h) { with_ws([&](auto& ws) { ws.async_handshake(host_header, "/", h); }); },
            "the WebSocket handshake");
  if (ec)
    throw error(classify(ec), "WebSocket handshake failed: " + ec.message());
  with_ws([](auto& ws) { ws.text(true); });
}

void connection::impl::login() {
  open = true; // the socket is up; from here failures mark the connection broken
  // One deadline for the whole exchange: a server that trickles heartbeats or answers each
  // step just in time cannot stretch a login past login_timeout.
  login_deadline = after(opts.login_timeout);
  struct end_of_login {
    steady::time_point& deadline;
    ~end_of_login() { deadline = steady::time_point::max(); }
  } end{login_deadline};
  protocol::login_command cmd(opts);
  drive(cmd);
}

// ------------------------------------------------------------------ messages

void connection::impl::ensure_usable() const {
  if (broken)
    throw error(error_kind::broken, "the connection is broken: " + broken_reason);
  if (!open)
    throw error(error_kind::broken, "the connection is closed");
}

void connection::impl::drain_abort_write() {
  if (abort_write_done)
    return;
  if (!run_until(abort_write_done, after(opts.socket_timeout))) {
    close_socket();
    run_until(abort_write_done, steady::now() + std::chrono::seconds(5));
    mark_broken("writing abortQuery timed out");
    throw error(error_kind::timeout, "writing abortQuery timed out (" + peer + ")");
  }
}

void connection::impl::write_message(std::string payload) {
  drain_abort_write();
  out_payload = state.compressed ? codec::zlib_compress(payload) : std::move(payload);
  auto op = std::make_shared<op_state>();
  writing = true;
  with_ws([&](auto& ws) {
    ws.binary(state.compressed); // compressed frames are binary, from the end of the login on
    ws.async_write(net::buffer(out_payload), [this, op](beast::error_code ec, std::size_t) {
      op->ec = ec;
      op->done = true;
      writing = false;
      if (abort_wanted) { // abort_query() arrived while the request was still being written
        abort_wanted = false;
        start_abort();
      }
    });
  });
  wait(op, exchange_deadline(), "writing a request");
  if (op->ec)
    fail_io(op->ec, "writing a request");
}

// A reply other than a query's has a hard deadline (exchange_deadline). A query's: the socket
// timeout bounds each silence (Pongs count as life); the query timeout bounds the whole
// execute and then sends abortQuery, leaving abort_grace for the server's R0003.
std::string connection::impl::read_message(bool query) {
  buffer.clear();
  auto op = std::make_shared<op_state>();
  with_ws([&](auto& ws) {
    ws.async_read(buffer, [op](beast::error_code ec, std::size_t) {
      op->ec = ec;
      op->done = true;
    });
  });
  last_activity = steady::now();
  if (!query && !run_until(op->done, exchange_deadline()))
    give_up(op, error_kind::timeout, exchange_timeout_text("waiting for a response"));
  auto query_deadline = query && opts.query_timeout.count() > 0 ? steady::now() + opts.query_timeout
                                                                : steady::time_point::max();
  // One handler at a time, so that a Pong (life) or a posted abort_query (a new deadline) is
  // seen as soon as it happens.
  while (!op->done) {
    auto now = steady::now();
    if (now >= abort_deadline) {
      give_up(op, error_kind::timeout,
              query_timed_out ? "the query exceeded its timeout of " + millis(opts.query_timeout) +
                                    " and the server did not confirm abortQuery"
                              : "the server did not confirm abortQuery within the abort grace of " +
                                    millis(opts.abort_grace));
    } else if (now >= query_deadline) {
      query_timed_out = true;
      query_deadline = steady::time_point::max();
      abort_deadline = std::min(abort_deadline, now + opts.abort_grace);
      start_abort();
    } else if (opts.socket_timeout.count() > 0 && now - last_activity >= opts.socket_timeout) {
      give_up(op, error_kind::timeout,
              "no message from the server within the socket timeout of " +
                  millis(opts.socket_timeout));
    } else {
      if (ioc.stopped())
        ioc.restart();
      ioc.run_one_until(std::min({query_deadline, abort_deadline, silence_deadline()}));
    }
  }
  if (op->ec)
    fail_io(op->ec, "reading a response");
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
}

std::string connection::impl::round_trip(std::string request) {
  ensure_usable();
  write_message(std::move(request));
  return read_message(false);
}

// Runs on the io_context's thread (posted by abort_query() or called by the query timeout).
// Beast allows one write next to the pending read, so the abort waits for a request write.
void connection::impl::start_abort() {
  if (!open || !abort_write_done)
    return;
  if (writing) {
    abort_wanted = true;
    return;
  }
  // Whoever asked, the query now ends within the grace: answered, or the connection broken.
  if (running_query.load() != 0)
    abort_deadline = std::min(abort_deadline, steady::now() + opts.abort_grace);
  std::string msg = request::abort_query();
  abort_payload = state.compressed ? codec::zlib_compress(msg) : msg;
  abort_write_done = false;
  with_ws([&](auto& ws) {
    // A failed write surfaces on the pending read; nothing to do here.
    ws.async_write(net::buffer(abort_payload),
                   [this](beast::error_code, std::size_t) { abort_write_done = true; });
  });
}

// ------------------------------------------------------------------ commands

// Runs a protocol command to its end over this socket: each request it asks for is written, its
// reply read (a query's under the query deadlines) and handed back to the command. Each write
// checks that the connection is usable; a command that sends nothing needs no connection.
void connection::impl::drive(protocol::command& cmd) {
  auto next = cmd.start(state);
  while (!next.done) {
    auto how = next.how;
    next = answer(cmd, how, exchange(std::move(next.request), how));
  }
}

std::string connection::impl::exchange(std::string request, protocol::wait how) {
  if (how == protocol::wait::reply)
    return round_trip(std::move(request));
  ensure_usable();
  running_query = ++query_counter;
  query_timed_out = false;
  abort_deadline = steady::time_point::max();
  std::string text;
  try {
    write_message(std::move(request));
    text = read_message(true);
  } catch (...) {
    running_query = 0;
    throw;
  }
  running_query = 0;
  return text;
}

// A protocol error leaves the stream at an unknown place: the connection breaks. A server error
// answering a query that timed out is the server confirming the abort (R0003): a timeout.
protocol::step connection::impl::answer(protocol::command& cmd, protocol::wait how,
                                        std::string_view text) {
  try {
    return cmd.on_response(state, text);
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

// ------------------------------------------------------------------ public API

connection::connection(connection_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

connection::~connection() {
  close();
}

const session_info& connection::session() const {
  return impl_->state.info;
}
const std::string& connection::peer_address() const {
  return impl_->peer;
}

std::vector<result> connection::execute(std::string_view sql) {
  impl_->ensure_usable();
  auto cmd = protocol::query_command::execute(sql, protocol::result_limits::of(impl_->opts));
  impl_->drive(cmd);
  return cmd.take_results();
}

result_set connection::query(std::string_view sql) {
  auto results = execute(sql);
  if (results.empty() || !results.front().is_result_set())
    throw error(error_kind::config, "the statement returned a row count, not a result set");
  return std::move(results.front().rows);
}

std::vector<result> connection::execute_batch(const std::vector<std::string>& sql_texts) {
  impl_->ensure_usable();
  auto cmd = protocol::query_command::batch(sql_texts, protocol::result_limits::of(impl_->opts));
  impl_->drive(cmd);
  return cmd.take_results();
}

prepared_statement connection::prepare(std::string_view sql) {
  protocol::prepare_command cmd(sql);
  impl_->drive(cmd);
  return cmd.take_statement();
}

// A closed or broken connection says so before the parameters are checked.
std::vector<result> connection::execute_prepared(const prepared_statement& statement,
                                                 const std::vector<std::vector<value>>& rows) {
  impl_->ensure_usable();
  auto cmd =
      protocol::query_command::prepared(statement, rows, protocol::result_limits::of(impl_->opts));
  impl_->drive(cmd);
  return cmd.take_results();
}

std::vector<result> connection::execute_prepared_raw(std::int64_t handle,
                                                     std::string_view parameter_columns_json,
                                                     std::string_view data_json,
                                                     std::uint64_t num_rows) {
  impl_->ensure_usable();
  auto cmd =
      protocol::query_command::prepared_raw(handle, parameter_columns_json, data_json, num_rows,
                                            protocol::result_limits::of(impl_->opts));
  impl_->drive(cmd);
  return cmd.take_results();
}

void connection::close_prepared(prepared_statement& statement) {
  if (statement.handle <= 0)
    return;
  auto cmd = protocol::close_prepared(statement.handle);
  impl_->drive(cmd);
  statement.handle = 0;
}

const exasol::attributes& connection::get_attributes() {
  auto cmd = protocol::get_attributes();
  impl_->drive(cmd);
  return impl_->state.attrs;
}

void connection::set_attributes(const exasol::attributes& attrs) {
  auto cmd = protocol::set_attributes(attrs);
  impl_->drive(cmd);
}

void connection::abort_query() {
  impl* self = impl_.get();
  auto id = self->running_query.load();
  if (id == 0)
    return;
  // io_context::post is thread-safe; the handler runs on the thread driving the query. The id
  // check drops an abort that arrives after its query ended, so it cannot hit the next one.
  net::post(self->ioc, [self, id] {
    if (self->running_query.load() == id)
      self->start_abort();
  });
}

void connection::disconnect() {
  if (!impl_->open) { // closed or broken: nothing to say goodbye to
    close();
    return;
  }
  try {
    auto cmd = protocol::disconnect();
    impl_->drive(cmd);
  } catch (const error& e) {
    if (e.kind() != error_kind::reset) { // EOF instead of the reply is a normal goodbye
      close();
      throw;
    }
  }
  if (impl_->open) { // a polite close frame, briefly; the session is already gone
    auto op = std::make_shared<op_state>();
    impl_->with_ws([&](auto& ws) {
      ws.async_close(websocket::close_code::normal, [op](beast::error_code ec) {
        op->ec = ec;
        op->done = true;
      });
    });
    if (!impl_->run_until(op->done, after(std::min(impl_->opts.socket_timeout,
                                                   std::chrono::milliseconds(1000))))) {
      impl_->close_socket();
      impl_->run_until(op->done, steady::now() + std::chrono::seconds(5));
    }
  }
  impl_->broken = false;
  close();
}

void connection::close() noexcept {
  impl_->open = false;
  impl_->close_socket();
}

bool connection::is_open() const {
  return impl_->open && !impl_->broken;
}
bool connection::is_broken() const {
  return impl_->broken;
}
const exasol::attributes& connection::attributes() const {
  return impl_->state.attrs;
}
bool connection::autocommit() const {
  return impl_->state.autocommit();
}
std::string connection::current_schema() const {
  return impl_->state.current_schema();
}
bool connection::transaction_may_be_open() const {
  return impl_->state.transaction_may_be_open();
}

void connection::close_leftovers() {
  protocol::close_leftovers_command cmd;
  impl_->drive(cmd);
}

std::size_t connection::open_result_sets() const {
  return impl_->state.open_handles.size();
}
std::size_t connection::open_prepared_statements() const {
  return impl_->state.open_statements.size();
}

} // namespace exasol

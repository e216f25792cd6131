// The client against a server that misbehaves on purpose (tests/support/hostile_server.hpp):
// malformed, truncated, oversized and lying messages give protocol errors and a broken
// connection, never a crash; heartbeats never stretch a deadline; oversized results stop at
// the client's limit. Socket timeouts are hang guards only, and elapsed times are checked only
// against generous "did not hang" bounds.
#include "integration/exasol/codec.hpp"
#include "integration/exasol/connection.hpp"
#include "tests/support/client_errors.hpp"
#include "tests/support/hostile_server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace exasol;
using namespace exapool::testing;
using namespace std::chrono_literals;
using exasol::testing::error_of;
using steady = std::chrono::steady_clock;

namespace {

connection_options options(const hostile_server& s) {
  connection_options o;
  o.dsn = s.dsn();
  o.tls = false;
  o.user = "sys";
  o.password = "pw";
  o.connect_timeout = 10s;
  o.socket_timeout = 10s; // hang guard
  return o;
}

std::vector<step> login_steps() {
  return {reply_with(responses::public_key()), reply_with(responses::session()),
          reply_with(responses::attributes())};
}

std::vector<step> with_login(std::vector<step> after) {
  auto steps = login_steps();
  steps.insert(steps.end(), after.begin(), after.end());
  return steps;
}

std::size_t count_of(const std::vector<std::string>& requests, std::string_view command) {
  auto needle = R"("command":")" + std::string(command) + "\"";
  return static_cast<std::size_t>(
      std::count_if(requests.begin(), requests.end(),
                    [&](const std::string& r) { return r.find(needle) != std::string::npos; }));
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

bool mentions(const error& e, std::string_view text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

} // namespace

// ------------------------------------------------------------------ login phase

TEST_CASE("client hostile server: garbage during login is a protocol error", "[client]") {
  hostile_server s(scenarios::garbage_during_login());
  auto e = error_of([&] { connection c(options(s)); });
  CHECK(e.kind() == error_kind::protocol);
}

TEST_CASE("client hostile server: a public key that is no key is a protocol error", "[client]") {
  hostile_server s(scenarios::wrong_public_key());
  auto e = error_of([&] { connection c(options(s)); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(s.stats().messages == 1); // no credentials were sent
}

TEST_CASE("client hostile server: a hang-up during login is a reset", "[client]") {
  hostile_server s(scripted({reply_with(responses::public_key()), hang_up_step()}));
  auto e = error_of([&] { connection c(options(s)); });
  CHECK(e.kind() == error_kind::reset);
}

TEST_CASE("client hostile server: a hang-up in the middle of the login response is a reset",
          "[client]") {
  hostile_server s(scenarios::close_mid_login());
  auto e = error_of([&] { connection c(options(s)); });
  CHECK(e.kind() == error_kind::reset);
}

TEST_CASE("client hostile server: a silent server fails the login at the login timeout",
          "[client]") {
  hostile_server s(scenarios::silent_after_upgrade());
  auto o = options(s);
  o.login_timeout = 300ms;
  auto e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::timeout);
  CHECK(mentions(e, "login timeout of 300 ms"));
}

// Issue 8, defect 4: heartbeats during login used to count as life, so a server that sent them
// and never answered held the constructor for ever.
TEST_CASE("client hostile server: heartbeats during login do not extend the login timeout",
          "[client]") {
  // Heartbeats for 30 s (not for ever, so that the code before the fix ends the test too).
  hostile_server s(scenarios::heartbeats_during_login(20ms, 30s));
  auto o = options(s);
  o.socket_timeout = 10s;
  o.login_timeout = 500ms;
  auto start = steady::now();
  auto e = error_of([&] { connection c(o); });
  INFO("failed after " << seconds_since(start) << " s: " << e.what());
  CHECK(e.kind() == error_kind::timeout);
  CHECK(mentions(e, "login timeout of 500 ms"));
  CHECK(seconds_since(start) < 10.0); // did not hang (the heartbeats go on for 30 s)
}

TEST_CASE("client hostile server: heartbeats do not extend the socket timeout of a login step",
          "[client]") {
  hostile_server s(scenarios::heartbeats_during_login(20ms, 30s));
  auto o = options(s);
  o.socket_timeout = 500ms;
  o.login_timeout = 0ms; // none: the hard socket timeout of each step must still end it
  auto start = steady::now();
  auto e = error_of([&] { connection c(o); });
  INFO("failed after " << seconds_since(start) << " s: " << e.what());
  CHECK(e.kind() == error_kind::timeout);
  CHECK(mentions(e, "socket timeout of 500 ms"));
  CHECK(seconds_since(start) < 10.0); // did not hang
}

TEST_CASE("client hostile server: the password is encrypted for the server's key", "[client]") {
  hostile_server s(scripted(login_steps()));
  {
    connection c(options(s));
    CHECK(c.session().session_id == 9007199254740993ULL);
  }
  auto requests = s.requests();
  REQUIRE(requests.size() >= 2);
  CHECK(requests[1].find("\"pw\"") == std::string::npos);
  auto at = requests[1].find("\"password\":\"") + 12;
  auto ciphertext = requests[1].substr(at, requests[1].find('"', at) - at);
  CHECK(decrypt_password(ciphertext) == "pw");
}

// ------------------------------------------------------------------ TLS refusals

TEST_CASE("client hostile server: a wrong fingerprint fails before any login byte is sent",
          "[client]") {
  hostile_server s(scenarios::never_answers(), {true});
  auto o = options(s);
  o.tls = true;
  o.dsn = "127.0.0.1/" + std::string(64, '0') + ":" + std::to_string(s.port());
  auto e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::fingerprint_mismatch);
  REQUIRE(s.wait_finished(1, 10s));
  CHECK(s.stats().connections == 1);
  CHECK(s.stats().upgrades == 0);
  CHECK(s.stats().messages == 0);
  CHECK(s.stats().logins == 0);
}

TEST_CASE("client hostile server: an untrusted certificate fails before any login byte is sent",
          "[client]") {
  hostile_server s(scenarios::never_answers(), {true});
  auto o = options(s);
  o.tls = true; // default checks: the fixture's self-signed certificate is not trusted
  auto e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::tls);
  REQUIRE(s.wait_finished(1, 10s));
  CHECK(s.stats().connections == 1);
  CHECK(s.stats().messages == 0);
  CHECK(s.stats().logins == 0);
}

TEST_CASE("client hostile server: the pinned certificate logs in over wss (the counts see it)",
          "[client]") {
  hostile_server s(scenarios::answers(responses::inline_rows({5})), {true});
  auto o = options(s);
  o.tls = true;
  o.dsn = s.pinned_dsn();
  {
    connection c(o);
    CHECK(std::get<std::int64_t>(c.query("SELECT 5").at(0, 0)) == 5);
  }
  CHECK(s.stats().tls_handshakes == 1);
  CHECK(s.stats().logins == 1);
}

// ------------------------------------------------------------------ execute phase

TEST_CASE("client hostile server: a truncated response breaks the connection", "[client]") {
  hostile_server s(scripted(with_login(
      {reply_with(R"({"status":"ok","responseData":{"numResults":1,"results":[{"resu)")})));
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(c.is_broken());
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::broken);
}

TEST_CASE("client hostile server: a hang-up in the middle of a message is a reset", "[client]") {
  hostile_server s(scenarios::close_mid_message());
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::reset);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: an unexpected response shape is a protocol error", "[client]") {
  hostile_server s(scripted(with_login(
      {reply_with(R"({"status":"ok","responseData":{"numRows":3,"data":[[1,2,3]]}})")})));
  connection c(options(s));
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: an empty fetch chunk cannot loop for ever", "[client]") {
  hostile_server s(scripted(with_login({reply_with(responses::result_set(4, "2000", "0", "")),
                                        reply_with(responses::fetch_chunk(0))})));
  connection c(options(s));
  CHECK(error_of([&] { c.execute("SELECT x"); }).kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

// Issue 8, defect 5: the client reserved room for the rows a header announced, so a header
// claiming 4e9 rows threw std::bad_alloc (the CLI died with exit 134).
TEST_CASE("client hostile server: a header claiming 4e9 rows with little data is a protocol "
          "error, not a crash",
          "[client]") {
  // Two rows inline, then every fetch gets an empty chunk: the lie shows, nothing is reserved.
  hostile_server s(scenarios::streams_rows("4000000000", 0));
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT x"); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: lying counts and types are protocol errors", "[client]") {
  auto lie =
      GENERATE(responses::result_set(0, "3", "3", "[[1,2]]"),             // fewer rows than numRows
               responses::result_set(0, "-1", "-1", "[[]]"),              // negative
               responses::result_set(7, "1e30", "0", ""),                 // beyond any integer
               responses::result_set(7, "18446744073709551616", "0", ""), // overflows 64 bits
               responses::result_set(7, "\"many\"", "0", ""),             // not a number
               responses::result_set(7, "5", "9", ""),              // more in message than all
               responses::result_set(0, "1", "1", "[[1]]", 1, "2"), // numColumns 2, 1 column
               responses::result_set(0, "1", "1", "[[1],[2]]", 1),  // 2 data columns for 1
               responses::result_set(0, "1", "1", "[[\"x\"]]"),     // text in a DECIMAL column
               std::string(5000, '[') + std::string(5000, ']'));    // nested beyond any sense
  hostile_server s(scenarios::answers(lie));
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT x"); });
  INFO(lie.substr(0, 200) << " -> " << e.what());
  CHECK(e.kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: a message above max_message_bytes is a protocol error",
          "[client]") {
  // 1,500 bytes for a limit of 1,000: within the WebSocket headroom kept for compression, so
  // only the client's own check can refuse it; and one far beyond, refused by the WebSocket.
  auto size = GENERATE(std::size_t(1500), std::size_t(100000));
  std::string big = responses::inline_rows({1});
  big.insert(big.size() - 1, std::string(",\"padding\":\"") + std::string(size, 'x') + "\"");
  hostile_server s(scenarios::answers(big));
  auto o = options(s);
  o.max_message_bytes = 1000;
  connection c(o);
  auto e = error_of([&] { c.execute("SELECT x"); });
  INFO(e.what());
  CHECK(e.kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: a zlib bomb stops at max_message_bytes", "[client]") {
  hostile_server s([](hostile_peer& p) {
    p.login();
    p.read();
    // 64 MB of spaces compress to ~64 KB: the client must stop inflating at its limit.
    p.reply_binary(codec::zlib_compress(std::string(std::size_t(64) << 20, ' ')));
    p.stall();
  });
  auto o = options(s);
  o.compression = true;
  o.max_message_bytes = std::size_t(1) << 20;
  connection c(o);
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(mentions(e, "exceeds"));
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: unsolicited pongs and pings are ignored", "[client]") {
  hostile_server s(scripted(with_login({[](hostile_peer& p, const std::string&) {
    p.pong();
    p.ping();
    p.pong();
    p.reply(responses::inline_rows({7}));
  }})));
  connection c(options(s));
  auto rs = c.query("SELECT 7");
  CHECK(std::get<std::int64_t>(rs.at(0, 0)) == 7);
  CHECK(c.is_open());
}

TEST_CASE("client hostile server: corrupt compressed data is a protocol error", "[client]") {
  hostile_server s([](hostile_peer& p) {
    p.login();
    REQUIRE(p.compressed()); // the getAttributes after login arrived compressed
    p.read();
    p.reply_binary(std::string("\x78\x9c garbage, not deflate"));
    p.stall();
  });
  auto o = options(s);
  o.compression = true;
  connection c(o);
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::protocol);
  CHECK(c.is_broken());
  CHECK(s.requests().at(2).find("getAttributes") != std::string::npos);
}

TEST_CASE("client hostile server: disconnect tolerates a hang-up instead of the reply",
          "[client]") {
  hostile_server s(scripted(with_login({hang_up_step()})));
  connection c(options(s));
  c.disconnect();
  CHECK_FALSE(c.is_open());
  CHECK_FALSE(c.is_broken());
}

TEST_CASE("client hostile server: a silent server hits the socket timeout", "[client]") {
  hostile_server s(scenarios::never_answers());
  auto o = options(s);
  o.socket_timeout = 300ms;
  connection c(o);
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::timeout);
  CHECK(c.is_broken());
}

TEST_CASE("client hostile server: an ignored abortQuery after the query timeout breaks the "
          "connection",
          "[client]") {
  hostile_server s(scenarios::never_answers());
  auto o = options(s);
  o.query_timeout = 100ms;
  o.abort_grace = 100ms;
  {
    connection c(o);
    auto e = error_of([&] { c.execute("SELECT 1"); });
    CHECK(e.kind() == error_kind::timeout);
    CHECK(c.is_broken());
  }
  REQUIRE(s.wait_finished(1, 10s));
  auto requests = s.requests();
  REQUIRE(requests.size() >= 5);
  CHECK(requests[4] == R"({"command":"abortQuery"})");
}

TEST_CASE("client hostile server: a heartbeat flood keeps a query alive only up to its timeout "
          "plus the abort grace",
          "[client]") {
  hostile_server s(scenarios::heartbeats_during_execute(1ms, 30s));
  auto o = options(s);
  o.query_timeout = 300ms;
  o.abort_grace = 300ms;
  connection c(o);
  auto start = steady::now();
  auto e = error_of([&] { c.execute("SELECT 1"); });
  INFO("failed after " << seconds_since(start) << " s: " << e.what());
  CHECK(e.kind() == error_kind::timeout);
  CHECK(mentions(e, "did not confirm abortQuery"));
  CHECK(c.is_broken());
  CHECK(seconds_since(start) < 10.0); // did not hang (the heartbeats go on for 30 s)
}

// A query without a query timeout lives as long as heartbeats come; once abort_query() is
// called (a borrower gave up), the server has abort_grace to confirm, heartbeats or not.
TEST_CASE("client hostile server: abort_query bounds a query without timeout that heartbeats "
          "keep alive",
          "[client]") {
  hostile_server s(scenarios::heartbeats_during_execute(20ms, 30s));
  auto o = options(s);
  o.socket_timeout = 10s;
  o.abort_grace = 300ms;
  connection c(o);
  std::thread borrower_gives_up([&] {
    std::this_thread::sleep_for(300ms);
    c.abort_query();
  });
  auto start = steady::now();
  auto e = error_of([&] { c.execute("SELECT 1"); });
  borrower_gives_up.join();
  INFO("failed after " << seconds_since(start) << " s: " << e.what());
  CHECK(e.kind() == error_kind::timeout);
  CHECK(mentions(e, "abort grace of 300 ms"));
  CHECK(c.is_broken());
  CHECK(seconds_since(start) < 10.0); // did not hang (the heartbeats go on for 30 s)
}

// ------------------------------------------------------------------ result size limits

TEST_CASE("client hostile server: a streamed result beyond max_result_bytes stops, closes its "
          "handle and keeps the connection",
          "[client]") {
  // 10^12 rows announced, 1,000 per fetch for ever: memory must stop at the limit.
  hostile_server s(scenarios::streams_rows("1000000000000", 1000));
  auto o = options(s);
  o.max_result_bytes = 256 * 1024;
  connection c(o);
  auto e = error_of([&] { c.execute("SELECT x"); });
  INFO(e.what());
  CHECK(e.kind() == error_kind::result_too_large);
  CHECK(mentions(e, "max_result_bytes (262144)"));
  CHECK(c.is_open());
  CHECK(c.open_result_sets() == 0);
  auto requests = s.requests();
  CHECK(count_of(requests, "closeResultSet") == 1);
  // 40-byte values: about 7 fetches of 1,000 rows reach 256 KiB; far fewer than 10^9.
  auto fetches = count_of(requests, "fetch");
  CHECK(fetches >= 1);
  CHECK(fetches <= 20);
}

TEST_CASE("client hostile server: a result announced beyond max_result_rows fails before any "
          "fetch",
          "[client]") {
  hostile_server s(scenarios::streams_rows("1000000000000", 1000));
  auto o = options(s);
  o.max_result_rows = 10000;
  connection c(o);
  auto e = error_of([&] { c.execute("SELECT x"); });
  CHECK(e.kind() == error_kind::result_too_large);
  CHECK(mentions(e, "max_result_rows (10000)"));
  CHECK(c.is_open());
  CHECK(c.open_result_sets() == 0);
  auto requests = s.requests();
  CHECK(count_of(requests, "fetch") == 0);
  CHECK(count_of(requests, "closeResultSet") == 1);
  // The session goes on: the same statement again fails the same way, nothing leaks.
  CHECK(error_of([&] { c.execute("SELECT x"); }).kind() == error_kind::result_too_large);
  CHECK(c.open_result_sets() == 0);
}

TEST_CASE("client hostile server: a result within the limits is fetched completely", "[client]") {
  hostile_server s(scenarios::streams_rows("2002", 1000));
  auto o = options(s);
  o.max_result_rows = 2002;
  o.max_result_bytes = 1 << 20;
  connection c(o);
  auto rs = c.query("SELECT x");
  CHECK(rs.row_count() == 2002);
  CHECK(c.open_result_sets() == 0);
  CHECK(count_of(s.requests(), "fetch") == 2);
}

// ------------------------------------------------------------------ session bookkeeping

TEST_CASE("client hostile server: a failed fetch leaves the handle counted as open", "[client]") {
  hostile_server s(scripted(with_login(
      {reply_with(responses::result_set(4, "2000", "0", "")),
       reply_with(R"({"status":"error","exception":{"text":"handle gone","sqlCode":"00000"}})"),
       reply_with(R"({"status":"ok","attributes":{"autocommit":false}})")})));
  connection c(options(s));
  auto e = error_of([&] { c.execute("SELECT x"); });
  CHECK(e.kind() == error_kind::server);
  CHECK_FALSE(c.is_broken());
  CHECK(c.open_result_sets() == 1); // the pool must reset this session
  c.set_attributes({{"autocommit", false}});
  CHECK_FALSE(c.autocommit());
}

TEST_CASE("client hostile server: close_leftovers closes what a failure left open", "[client]") {
  hostile_server s(scripted(with_login(
      {reply_with(responses::result_set(4, "2000", "0", "")),
       reply_with(R"({"status":"error","exception":{"text":"handle gone","sqlCode":"00000"}})"),
       reply_with(responses::ok())})));
  {
    connection c(options(s));
    CHECK(error_of([&] { c.execute("SELECT x"); }).kind() == error_kind::server);
    REQUIRE(c.open_result_sets() == 1);
    c.close_leftovers();
    CHECK(c.open_result_sets() == 0);
    CHECK(c.is_open());
  }
  auto requests = s.requests();
  REQUIRE(requests.size() >= 6);
  CHECK(requests[5] == R"({"command":"closeResultSet","resultSetHandles":[4]})");
}

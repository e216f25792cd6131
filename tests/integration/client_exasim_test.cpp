// The C++ client against exasim started in-process: the scenario list of issue 2 over ws and
// wss. Timeouts here are hang guards, never timed assertions.
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "tests/support/client_errors.hpp"
#include "tests/support/temp_certificate.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

using namespace exasol;
using namespace std::chrono_literals;

namespace {

const std::string password = "exasol";

connection_options ws_options(const exasim::server& s) {
  connection_options o;
  o.dsn = "127.0.0.1:" + std::to_string(s.port());
  o.tls = false;
  o.user = "sys";
  o.password = password;
  o.connect_timeout = 20s;
  o.socket_timeout = 30s;
  o.identity.client_name = "exapool-client-test";
  return o;
}

connection_options wss_options(const exasim::server& s) {
  auto o = ws_options(s);
  o.tls = true;
  o.dsn = s.dsn(); // fingerprint pinned
  return o;
}

using exasol::testing::error_of;

std::int64_t as_int(const value& v) {
  return std::get<std::int64_t>(v);
}

// A loopback port nobody listens on, and a listener that never answers.
std::uint16_t bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int loopback_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  return fd;
}

std::uint16_t dead_port() {
  int fd = loopback_socket();
  auto port = bound_port(fd);
  ::close(fd);
  return port;
}

std::string rows_query(int n) {
  return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " +
         std::to_string(n) + ") SELECT x AS N, 'row-' || x AS LABEL FROM c";
}

} // namespace

TEST_CASE("client logs in over ws and runs SELECT 1", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  CHECK(c.is_open());
  CHECK(c.session().session_id > (std::uint64_t(1) << 53));
  CHECK(c.session().protocol_version == 3);
  auto rs = c.query("SELECT 1");
  REQUIRE(rs.row_count() == 1);
  REQUIRE(rs.column_count() == 1);
  CHECK(as_int(rs.at(0, 0)) == 1);
  CHECK(c.peer_address().find(std::to_string(s.port())) != std::string::npos);
  // The identification fields reach the server's session view.
  auto sessions = c.query("SELECT CLIENT FROM EXA_ALL_SESSIONS WHERE SESSION_ID = " +
                          std::to_string(c.session().session_id));
  REQUIRE(sessions.row_count() == 1);
  CHECK(std::get<std::string>(sessions.at(0, 0)).find("exapool-client-test") != std::string::npos);
  c.disconnect();
  CHECK_FALSE(c.is_open());
  CHECK_FALSE(c.is_broken());
}

TEST_CASE("client logs in over wss with a pinned fingerprint", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(wss_options(s));
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);
  // Upper case works too: fingerprints compare case-insensitively.
  auto o = wss_options(s);
  std::string upper = s.fingerprint();
  for (auto& ch : upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  o.dsn = "127.0.0.1/" + upper + ":" + std::to_string(s.port());
  connection c2(o);
  CHECK(c2.is_open());
}

TEST_CASE("client rejects a wrong fingerprint before login", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = wss_options(s);
  o.dsn = "127.0.0.1/" + std::string(64, 'a') + ":" + std::to_string(s.port());
  auto e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::fingerprint_mismatch);
  CHECK(std::string(e.what()).find(s.fingerprint()) != std::string::npos);
  CHECK(s.stats().failed_logins == 0);
  CHECK(s.stats().sessions_opened == 0);
}

TEST_CASE("client verifies certificates by default and fails on a self-signed one",
          "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = wss_options(s);
  o.dsn = "localhost:" + std::to_string(s.port()); // no pin: CA and host name checks
  auto e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::tls);
  CHECK(std::string(e.what()).find("certificate") != std::string::npos);
}

TEST_CASE("client skips certificate checks only when asked", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = wss_options(s);
  o.dsn = "localhost/NoCertCheck:" + std::to_string(s.port());
  connection c(o);
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);
  o.dsn = "127.0.0.1:" + std::to_string(s.port());
  o.insecure = true;
  connection c2(o);
  CHECK(c2.is_open());
}

TEST_CASE("client reads a SELECT of every type", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(wss_options(s));
  c.execute("CREATE TABLE client_types (c_int DECIMAL(9,0), c_big DECIMAL(20,0), "
            "c_dec DECIMAL(12,3), c_dbl DOUBLE, c_vc VARCHAR(20), c_ch CHAR(5), "
            "c_bool BOOLEAN, c_date DATE, c_ts TIMESTAMP)");
  c.execute("INSERT INTO client_types VALUES (42, '1234567890123456789', '12345.678', -1e10, "
            "'äöü', 'ab', TRUE, '2024-02-29', '2024-02-29 13:14:15.123000')");
  c.execute("INSERT INTO client_types VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "NULL)");
  auto rs = c.query("SELECT * FROM client_types ORDER BY c_int NULLS LAST");
  REQUIRE(rs.column_count() == 9);
  REQUIRE(rs.row_count() == 2);
  CHECK(rs.columns[0].name == "C_INT");
  CHECK(rs.columns[0].type == "DECIMAL");
  CHECK(rs.columns[0].precision == 9);
  CHECK(as_int(rs.at(0, 0)) == 42);
  CHECK(std::get<decimal>(rs.at(0, 1)).text == "1234567890123456789");
  CHECK(std::get<decimal>(rs.at(0, 2)).text == "12345.678");
  CHECK(rs.columns[2].scale == 3);
  CHECK(std::get<double>(rs.at(0, 3)) == -1e10);
  CHECK(std::get<std::string>(rs.at(0, 4)) == "äöü");
  CHECK(rs.columns[4].size == 20);
  CHECK(std::get<std::string>(rs.at(0, 5)) == "ab   ");
  CHECK(std::get<bool>(rs.at(0, 6)) == true);
  CHECK(std::get<std::string>(rs.at(0, 7)) == "2024-02-29");
  CHECK(std::get<std::string>(rs.at(0, 8)) == "2024-02-29 13:14:15.123000");
  for (std::size_t col = 0; col < 9; ++col)
    CHECK(is_null(rs.at(1, col)));
}

TEST_CASE("client fetches a 5000-row result through its handle", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = wss_options(s);
  o.fetch_bytes = 16 * 1024; // several fetch round trips
  connection c(o);
  auto before = s.stats().requests;
  auto rs = c.query(rows_query(5000));
  REQUIRE(rs.row_count() == 5000);
  CHECK(rs.total_rows == 5000);
  CHECK(rs.handle > 0);
  bool ordered = true;
  for (std::size_t r = 0; r < rs.row_count(); ++r)
    ordered = ordered && as_int(rs.at(r, 0)) == std::int64_t(r + 1) &&
              std::get<std::string>(rs.at(r, 1)) == "row-" + std::to_string(r + 1);
  CHECK(ordered);
  CHECK(c.open_result_sets() == 0);       // closed after reading
  CHECK(s.stats().requests - before > 3); // execute, several fetches, closeResultSet
}

TEST_CASE("client reads results of 999, 1000 and 0 rows", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  auto small = c.query(rows_query(999));
  CHECK(small.row_count() == 999);
  CHECK(small.handle == 0);
  auto edge = c.query(rows_query(1000));
  CHECK(edge.row_count() == 1000);
  CHECK(edge.handle > 0);
  CHECK(as_int(edge.at(999, 0)) == 1000);
  auto none = c.query(rows_query(10) + " WHERE x > 100");
  CHECK(none.row_count() == 0);
  CHECK(none.column_count() == 2);
  CHECK(c.open_result_sets() == 0);
}

TEST_CASE("client reports a server error with its sqlCode and stays usable", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  auto e = error_of([&] { c.execute("SELECT * FROM client_missing_table"); });
  CHECK(e.kind() == error_kind::server);
  CHECK(e.sql_code() == "42000");
  e = error_of([&] { c.execute("SELEC 1"); });
  CHECK(e.sql_code() == "42000");
  CHECK(c.is_open());
  CHECK_FALSE(c.is_broken());
  CHECK(as_int(c.query("SELECT 2").at(0, 0)) == 2);
}

TEST_CASE("client runs a prepared statement", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(wss_options(s));
  c.execute("CREATE TABLE client_rows (id DECIMAL(9,0), label VARCHAR(40))");
  auto insert = c.prepare("INSERT INTO client_rows VALUES (?, ?)");
  CHECK(insert.parameters.size() == 2);
  CHECK(c.open_prepared_statements() == 1);
  std::vector<std::vector<value>> rows;
  for (int i = 0; i < 3000; ++i)
    rows.push_back({std::int64_t(i), std::string("row-" + std::to_string(i))});
  rows.push_back({std::int64_t(3000), std::monostate{}});
  auto inserted = c.execute_prepared(insert, rows);
  REQUIRE(inserted.size() == 1);
  CHECK(inserted[0].row_count == 3001);
  c.close_prepared(insert);
  CHECK(c.open_prepared_statements() == 0);

  auto select = c.prepare("SELECT id, label FROM client_rows WHERE id = ? OR id = ? ORDER BY id");
  auto found = c.execute_prepared(select, {{std::int64_t(7), std::int64_t(3000)}});
  REQUIRE(found.size() == 1);
  REQUIRE(found[0].is_result_set());
  const auto& rs = found[0].rows;
  REQUIRE(rs.row_count() == 2);
  CHECK(as_int(rs.at(0, 0)) == 7);
  CHECK(std::get<std::string>(rs.at(0, 1)) == "row-7");
  CHECK(is_null(rs.at(1, 1)));
  c.close_prepared(select);
}

TEST_CASE("client runs executeBatch", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  c.execute("CREATE TABLE client_batch (x DECIMAL(9,0))");
  auto results =
      c.execute_batch({"INSERT INTO client_batch VALUES (1)", "INSERT INTO client_batch VALUES (2)",
                       "UPDATE client_batch SET x = x + 10"});
  REQUIRE(results.size() == 3);
  CHECK(results[0].row_count == 1);
  CHECK(results[1].row_count == 1);
  CHECK(results[2].row_count == 2);
  CHECK(as_int(c.query("SELECT SUM(x) FROM client_batch").at(0, 0)) == 23);
}

TEST_CASE("client wrong password is an auth error without the password", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = wss_options(s);
  o.password = "Wr0ng-Secret-Value";
  auto e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::auth);
  CHECK(e.sql_code() == "08004");
  CHECK(std::string(e.what()).find(o.password) == std::string::npos);
  CHECK(s.stats().failed_logins == 1);

  o.password = std::string(200, 'p') + "Secret"; // beyond the 117 bytes of a 1024-bit key
  e = error_of([&] { connection c(o); });
  CHECK(e.kind() == error_kind::config);
  CHECK(std::string(e.what()).find("117") != std::string::npos);
  CHECK(std::string(e.what()).find("Secret") == std::string::npos);
}

TEST_CASE("client disconnects and refuses use afterwards", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  CHECK(s.stats().active_sessions == 1);
  c.disconnect();
  CHECK_FALSE(c.is_open());
  CHECK(error_of([&] { c.execute("SELECT 1"); }).kind() == error_kind::broken);
  for (int i = 0; i < 200 && s.stats().active_sessions != 0; ++i)
    std::this_thread::sleep_for(10ms); // the server notices the close asynchronously
  CHECK(s.stats().active_sessions == 0);
  CHECK(s.stats().sessions_closed == 1);
  c.disconnect(); // idempotent
}

TEST_CASE("client works with compression on", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = wss_options(s);
  o.compression = true;
  connection c(o);
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);
  auto rs = c.query(rows_query(3000));
  CHECK(rs.row_count() == 3000);
  auto e = error_of([&] { c.execute("SELECT * FROM client_missing_table"); });
  CHECK(e.sql_code() == "42000");
  c.disconnect();
}

TEST_CASE("client tracks session attributes", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  CHECK(c.autocommit());
  CHECK_FALSE(c.transaction_may_be_open());
  const auto& all = c.get_attributes();
  CHECK(all.count("autocommit") == 1);
  CHECK(all.count("queryTimeout") == 1);

  c.set_attributes({{"autocommit", false}});
  CHECK_FALSE(c.autocommit());
  c.execute("CREATE TABLE client_tx (x DECIMAL(9,0))");
  c.execute("INSERT INTO client_tx VALUES (1)");
  CHECK(c.transaction_may_be_open());
  c.execute("COMMIT");
  CHECK_FALSE(c.transaction_may_be_open());
  c.execute_batch({"INSERT INTO client_tx VALUES (2)", "commit"});
  CHECK_FALSE(c.transaction_may_be_open());
  c.execute_batch({"ROLLBACK", "INSERT INTO client_tx VALUES (3)"});
  CHECK(c.transaction_may_be_open());
  CHECK_THROWS_AS(c.execute("INSERT INTO client_tx_missing VALUES (1)"), error);
  CHECK(c.transaction_may_be_open());
  c.execute("  rollback");
  CHECK_FALSE(c.transaction_may_be_open());
  c.set_attributes({{"autocommit", true}});
  CHECK(c.autocommit());

  c.execute("CREATE SCHEMA client_s");
  c.execute("OPEN SCHEMA client_s");
  CHECK(c.current_schema() == "CLIENT_S");
  c.get_attributes();
  CHECK(c.current_schema() == "CLIENT_S");
}

TEST_CASE("client aborts a slow query from another thread", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  s.set_query_latency(20s);
  std::atomic<bool> finished{false};
  // abort_query() is a no-op while no query runs, so keep asking until the query ended.
  std::thread aborter([&] {
    while (!finished) {
      std::this_thread::sleep_for(50ms);
      c.abort_query();
    }
  });
  auto e = error_of([&] { c.execute("SELECT 1"); });
  finished = true;
  aborter.join();
  CHECK(e.kind() == error_kind::server);
  CHECK(e.sql_code() == "R0003");
  CHECK(c.is_open());
  s.set_query_latency(0ms);
  CHECK(as_int(c.query("SELECT 3").at(0, 0)) == 3);
}

TEST_CASE("client query timeout aborts the query and keeps the session", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = ws_options(s);
  o.query_timeout = 200ms;
  o.abort_grace = 10s; // hang guard
  connection c(o);
  s.set_query_latency(20s);
  auto e = error_of([&] { c.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::timeout);
  CHECK(e.sql_code() == "R0003");
  CHECK_FALSE(c.is_broken());
  s.set_query_latency(0ms);
  CHECK(as_int(c.query("SELECT 4").at(0, 0)) == 4);
}

TEST_CASE("client connect timeout names the silent address", "[client][exasim]") {
  int fd = loopback_socket();
  ::listen(fd, 4); // accepts TCP in the backlog, never speaks
  auto port = bound_port(fd);
  connection_options o;
  o.dsn = "127.0.0.1:" + std::to_string(port);
  o.tls = false;
  o.user = "sys";
  o.password = password;
  o.connect_timeout = 300ms;
  auto e = error_of([&] { connection c(o); });
  ::close(fd);
  CHECK(e.kind() == error_kind::timeout);
  CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("client fails over from a dead host to a live one", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = ws_options(s);
  auto dead = dead_port();
  o.dsn = "127.0.0.1:" + std::to_string(dead) + ",localhost:" + std::to_string(s.port());
  o.shuffle_hosts = false; // the dead one first, for sure
  connection c(o);
  CHECK(c.peer_address().find(std::to_string(s.port())) != std::string::npos);
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);
  o.shuffle_hosts = true;
  connection c2(o);
  CHECK(c2.is_open());
}

TEST_CASE("client sees a killed session as reset and broken", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection victim(ws_options(s));
  connection killer(ws_options(s));
  killer.execute("KILL SESSION " + std::to_string(victim.session().session_id));
  auto e = error_of([&] { victim.execute("SELECT 1"); });
  CHECK(e.kind() == error_kind::reset);
  CHECK(victim.is_broken());
  CHECK_FALSE(victim.is_open());
  CHECK(error_of([&] { victim.execute("SELECT 1"); }).kind() == error_kind::broken);
  victim.disconnect(); // closing a broken connection does not throw

  connection second(wss_options(s));
  REQUIRE(s.drop_session(second.session().session_id));
  CHECK(error_of([&] { second.execute("SELECT 1"); }).kind() == error_kind::reset);
  CHECK(second.is_broken());
  CHECK(as_int(killer.query("SELECT 1").at(0, 0)) == 1);
}

TEST_CASE("client treats an oversize message as a protocol error", "[client][exasim]") {
  exasim::server s;
  s.start();
  auto o = ws_options(s);
  o.max_message_bytes = 4096;
  connection c(o);
  auto e = error_of([&] { c.query(rows_query(900)); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(c.is_broken());
}

TEST_CASE("client logs in with an access token and downgrades the protocol version",
          "[client][exasim]") {
  exasim::server_options so;
  so.access_tokens = {"client-token-123"};
  exasim::server s(so);
  s.start();
  auto o = wss_options(s);
  o.user.clear();
  o.password.clear();
  o.access_token = "client-token-123";
  connection c(o);
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);

  o.access_token = "wrong-token-456";
  auto e = error_of([&] { connection bad(o); });
  CHECK(e.kind() == error_kind::auth);
  CHECK(std::string(e.what()).find("wrong-token-456") == std::string::npos);

  auto p = wss_options(s);
  p.protocol_version = 5;
  connection v(p);
  CHECK(v.session().protocol_version == 3);
}

using exapool::testing::temp_certificate;

TEST_CASE("client verifies the chain and host name against a CA file", "[client][exasim]") {
  temp_certificate good("DNS:localhost,IP:127.0.0.1");
  exasim::server_options so;
  so.cert_file = good.cert;
  so.key_file = good.key;
  exasim::server s(so);
  s.start();
  auto o = wss_options(s);
  o.ca_file = good.cert;
  o.dsn = "localhost:" + std::to_string(s.port());
  connection by_name(o);
  CHECK(as_int(by_name.query("SELECT 1").at(0, 0)) == 1);
  o.dsn = "127.0.0.1:" + std::to_string(s.port());
  connection by_ip(o);
  CHECK(by_ip.is_open());

  temp_certificate other("DNS:other.example");
  exasim::server_options so2;
  so2.cert_file = other.cert;
  so2.key_file = other.key;
  exasim::server s2(so2);
  s2.start();
  auto o2 = wss_options(s2);
  o2.ca_file = other.cert; // the chain is trusted, the host name is not in the certificate
  o2.dsn = "localhost:" + std::to_string(s2.port());
  auto e = error_of([&] { connection c(o2); });
  CHECK(e.kind() == error_kind::tls);
}

TEST_CASE("client connections run side by side on several threads", "[client][exasim]") {
  exasim::server s;
  s.start();
  constexpr int threads = 4, queries = 50;
  std::atomic<int> correct{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      auto o = t % 2 == 0 ? wss_options(s) : ws_options(s);
      o.compression = t >= 2;
      connection c(o);
      for (int q = 0; q < queries; ++q)
        if (as_int(c.query("SELECT " + std::to_string(t * 1000 + q)).at(0, 0)) == t * 1000 + q)
          ++correct;
      c.disconnect();
    });
  for (auto& w : workers)
    w.join();
  CHECK(correct == threads * queries);
  CHECK(s.stats().sessions_opened == threads);
}

TEST_CASE("client close_leftovers closes forgotten prepared statements", "[client][exasim]") {
  exasim::server s;
  s.start();
  connection c(ws_options(s));
  auto a = c.prepare("SELECT ?");
  auto b = c.prepare("SELECT ?, ?");
  CHECK(c.open_prepared_statements() == 2);
  c.close_leftovers();
  CHECK(c.open_prepared_statements() == 0);
  CHECK(c.is_open());
  // The server forgot them: executing one now is a server error, not a broken session.
  CHECK(error_of([&] { c.execute_prepared(a, {{std::int64_t(1)}}); }).kind() == error_kind::server);
  CHECK(c.is_open());
}

TEST_CASE("client connects to an IPv6 address in brackets", "[client][exasim]") {
  exasim::server_options so;
  so.host = "::1";
  exasim::server s(so);
  try {
    s.start();
  } catch (const std::exception& e) {
    WARN("no IPv6 loopback here, skipped: " << e.what());
    return;
  }
  auto o = wss_options(s);
  o.dsn = "[::1]/" + s.fingerprint() + ":" + std::to_string(s.port());
  connection c(o);
  CHECK(c.peer_address() == "[::1]:" + std::to_string(s.port()) + " (::1)");
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);
}

TEST_CASE("client logs in with a UTF-8 password and protocol version 1", "[client][exasim]") {
  exasim::server_options so;
  so.users = {{"sys", "exasol"}, {"anna", "pässwörd€😀"}};
  exasim::server s(so);
  s.start();
  auto o = wss_options(s);
  o.user = "anna";
  o.password = "pässwörd€😀";
  o.protocol_version = 1;
  connection c(o);
  CHECK(c.session().protocol_version == 1);
  CHECK(as_int(c.query("SELECT 1").at(0, 0)) == 1);
  o.password = "passwörd€😀";
  auto e = error_of([&] { connection bad(o); });
  CHECK(e.kind() == error_kind::auth);
  CHECK(std::string(e.what()).find("passwörd") == std::string::npos);
}

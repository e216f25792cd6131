// Client behaviour that needs no server: option checks, refused connections, error texts.
#include "integration/exasol/connection.hpp"
#include "integration/exasol/format.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <tuple>

using namespace exasol;

namespace {

const std::string secret = "Sup3r-Secret-Pa55word";

// A loopback port that nothing listens on (bound once, then released).
std::uint16_t dead_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

error connect_error(connection_options opts) {
  try {
    connection c(std::move(opts));
  } catch (const error& e) {
    return e;
  }
  FAIL("connected unexpectedly");
  return error(error_kind::server, "");
}

} // namespace

TEST_CASE("client refuses bad options with config errors", "[client]") {
  connection_options opts;
  opts.dsn = "127.0.0.1:1";
  opts.password = secret;
  CHECK(connect_error(opts).kind() == error_kind::config); // no user

  opts.user = "sys";
  opts.dsn = "a3..1";
  auto e = connect_error(opts);
  CHECK(e.kind() == error_kind::config);
  CHECK(std::string(e.what()).find(secret) == std::string::npos);

  opts.dsn = "127.0.0.1:1";
  opts.tls = false;
  opts.access_token = secret;
  e = connect_error(opts);
  CHECK(e.kind() == error_kind::config);
  CHECK(std::string(e.what()).find(secret) == std::string::npos);

  opts.access_token.clear();
  opts.tls = true;
  opts.ca_file = "/nonexistent/ca.pem";
  CHECK(connect_error(opts).kind() == error_kind::config);
}

TEST_CASE("client refuses session attributes a server would refuse or outwait", "[client]") {
  connection_options opts;
  opts.dsn = "127.0.0.1:" + std::to_string(dead_port()); // a config error comes before any connect
  opts.tls = false;
  opts.user = "sys";
  auto refused = [&](connection_options o, const std::string& named) {
    auto e = connect_error(std::move(o));
    CHECK(e.kind() == error_kind::config);
    CHECK_THAT(std::string(e.what()), Catch::Contains(named));
  };
  for (std::string chars : {"", ".", "..", ".,;", "\xc3\xa9"}) {
    INFO("numericCharacters '" << chars << "'");
    auto o = opts;
    o.numeric_characters = chars;
    refused(o, "numericCharacters");
  }
  auto o = opts;
  o.feedback_interval_s = 0;
  refused(o, "feedbackInterval");
  o.socket_timeout = std::chrono::seconds(10);
  o.feedback_interval_s = 10; // heartbeats as far apart as the silence the client allows
  refused(o, "feedbackInterval");
  // Valid values pass the checks: the failure is the refused connection.
  o.feedback_interval_s = 9;
  o.numeric_characters = ",.";
  CHECK(connect_error(o).kind() != error_kind::config);
}

TEST_CASE("client names a refused address and hides the password", "[client]") {
  connection_options opts;
  auto port = dead_port();
  opts.dsn = "127.0.0.1:" + std::to_string(port);
  opts.user = "sys";
  opts.password = secret;
  opts.tls = false;
  opts.connect_timeout = std::chrono::seconds(20); // hang guard only
  auto e = connect_error(opts);
  CHECK(e.kind() == error_kind::refused);
  std::string text = e.what();
  CHECK(text.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(text.find(secret) == std::string::npos);
}

TEST_CASE("client lists every failed address when all fail", "[client]") {
  connection_options opts;
  auto p1 = dead_port(), p2 = dead_port();
  opts.dsn = "127.0.0.1:" + std::to_string(p1) + ",localhost:" + std::to_string(p2) +
             ",no-such-host.invalid:1";
  opts.user = "sys";
  opts.password = secret;
  opts.tls = false;
  auto e = connect_error(opts);
  std::string text = e.what();
  CHECK(e.kind() == error_kind::refused);
  CHECK(text.find("127.0.0.1:" + std::to_string(p1)) != std::string::npos);
  CHECK(text.find("127.0.0.1:" + std::to_string(p2) + " (localhost)") != std::string::npos);
  CHECK(text.find("no-such-host.invalid") != std::string::npos);
  CHECK(text.find(secret) == std::string::npos);

  opts.dsn = "no-such-host.invalid";
  CHECK(connect_error(opts).kind() == error_kind::dns);
}

TEST_CASE("client format prints an aligned table", "[client]") {
  result_set rs;
  rs.columns.resize(2);
  rs.columns[0].name = "ID";
  rs.columns[0].type = "DECIMAL";
  rs.columns[0].precision = 18;
  rs.columns[1].name = "NAME";
  rs.columns[1].type = "VARCHAR";
  rs.data = {{std::int64_t(1), std::int64_t(100)}, {std::string("äb"), std::monostate{}}};
  rs.total_rows = 2;
  std::ostringstream out;
  print_table(out, rs);
  CHECK(out.str() == " ID | NAME\n"
                     "----+-----\n"
                     "  1 | äb  \n"
                     "100 | NULL\n"
                     "(2 rows)\n");
  std::ostringstream count;
  result r;
  r.row_count = 3;
  print_result(count, r);
  CHECK(count.str() == "3 rows affected\n");
}

TEST_CASE("client results print as CSV and as one JSON line", "[client][format]") {
  result_set rs;
  rs.columns.resize(3);
  for (auto [i, name, type] : {std::tuple{0, "ID", "DECIMAL"}, std::tuple{1, "NOTE", "VARCHAR"},
                               std::tuple{2, "X", "DECIMAL"}}) {
    rs.columns[i].name = name;
    rs.columns[i].type = type;
  }
  rs.data = {{std::int64_t(1), std::int64_t(2)},
             {std::string("a,\"b\""), std::monostate{}},
             {decimal{"12345678901234567890.5"}, 0.5}};
  std::ostringstream csv;
  print_csv(csv, rs);
  CHECK(csv.str() == "ID,NOTE,X\r\n1,\"a,\"\"b\"\"\",12345678901234567890.5\r\n2,,0.5\r\n");
  result set;
  set.type = result::kind::result_set;
  set.rows = rs;
  result count;
  count.row_count = 4;
  std::ostringstream json;
  print_json(json, {set, count});
  CHECK(json.str() ==
        "{\"results\":[{\"columns\":[\"ID\",\"NOTE\",\"X\"],\"rows\":[[1,\"a,\\\"b\\\"\","
        "\"12345678901234567890.5\"],[2,null,5E-1]]},{\"rowCount\":4}]}\n");
}

TEST_CASE("client scripts split at semicolons outside quotes and comments", "[client][format]") {
  CHECK(split_statements("") == std::vector<std::string>{});
  CHECK(split_statements(" SELECT 1 ; ;\n SELECT 2") ==
        std::vector<std::string>{"SELECT 1", "SELECT 2"});
  CHECK(split_statements("SELECT 'a;b', \"c;d\" FROM t; SELECT 'it''s;'") ==
        std::vector<std::string>{"SELECT 'a;b', \"c;d\" FROM t", "SELECT 'it''s;'"});
  CHECK(split_statements("SELECT 1 -- one; two\n; /* ; */ SELECT 2") ==
        std::vector<std::string>{"SELECT 1 -- one; two", "/* ; */ SELECT 2"});
  CHECK(split_statements("SELECT 'unterminated;") ==
        std::vector<std::string>{"SELECT 'unterminated;"});
}

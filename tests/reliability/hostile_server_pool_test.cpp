// A server that lies, against the whole runtime: the pool's borrower gets a named error, the
// process neither crashes nor hangs, and the pool stays usable for the next statement.
#include "tests/reliability/reliability_support.hpp"
#include "tests/support/hostile_server.hpp"

using namespace exapool;
using namespace exapool::reliability;
using namespace exapool::testing;

TEST_CASE("hostile server: a result header claiming 4e9 rows fails the statement, not the pool",
          "[reliability]") {
  hostile_server liar(scenarios::answers(responses::result_set(0, "4000000000", "1", "[[1]]")));
  credentials creds;
  creds.dsn = liar.dsn();
  creds.tls = false;
  creds.user = "sys";
  creds.password.value = "hostile-secret-77";
  creds.connect_timeout = 2s;
  creds.socket_timeout = 2s;
  auto config = fault_config(2);
  runtime rt{config};

  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      rt.query(creds, "SELECT 1");
      FAIL("a lying result header was accepted");
    } catch (const runtime_error& e) {
      std::string text = e.what();
      INFO(text);
      CHECK(e.code() == pool_errc::connection_lost);
      CHECK(text.find("hostile-secret-77") == std::string::npos);
      CHECK(!text.empty());
    }
  }
  auto s = rt.stats(creds);
  std::cout << "hostile server (4e9 rows claimed): " << s.opened << " sessions opened, "
            << liar.stats().logins << " logins, " << s.closed << " closed" << std::endl;
  CHECK(s.leased == 0);
  CHECK(s.total <= config.pool.max_size);
  rt.shutdown();
  // Every connection the pool opened to the liar was closed.
  CHECK(liar.wait_finished(liar.stats().connections, std::chrono::milliseconds(10000)));
}

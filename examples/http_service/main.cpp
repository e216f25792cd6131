// examples/http_service: an HTTP service that runs SQL through exapool's session actors.
//   EXAPOOL_DSN='host/<sha256>:8563' EXAPOOL_USER=sys EXAPOOL_PASSWORD=... http_service
//   curl --data-binary 'SELECT 42 AS answer' http://127.0.0.1:8080/query
// See README.md for the API, the options and how to run it against exasim.
#include "http_server.hpp"
#include "query.hpp"

#include <exapool/runtime.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

namespace net = boost::asio;

namespace {

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080; // 0: a free port, printed at start
  std::chrono::seconds timeout{60};
  std::chrono::seconds acquire_timeout{30}; // the pool's longest wait for a connection
  http_service::limits limits;
  std::string dsn, user;
};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

unsigned long to_number(const std::string& text, unsigned long min, unsigned long max) {
  std::size_t used = 0;
  auto n = std::stoul(text, &used);
  if (used != text.size() || n < min || n > max || text[0] == '-')
    throw std::out_of_range(text);
  return n;
}

// One --name=value; false for an unknown name or a bad value.
bool apply(const std::string& arg, options& o) {
  auto eq = arg.find('=');
  if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
    return false;
  auto name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
  try {
    if (name == "host")
      o.host = value;
    else if (name == "port")
      o.port = static_cast<unsigned short>(to_number(value, 0, 65535));
    else if (name == "timeout")
      o.timeout = std::chrono::seconds(to_number(value, 1, 24 * 3600));
    else if (name == "acquire-timeout")
      o.acquire_timeout = std::chrono::seconds(to_number(value, 1, 3600));
    else if (name == "max-body")
      o.limits.max_body = to_number(value, 1, 1UL << 30);
    else if (name == "max-connections")
      o.limits.max_connections = to_number(value, 1, 100000);
    else if (name == "dsn")
      o.dsn = value;
    else if (name == "user")
      o.user = value;
    else
      return false;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::optional<options> parse(int argc, char** argv) {
  options o;
  o.dsn = env_or("EXAPOOL_DSN", "");
  o.user = env_or("EXAPOOL_USER", "");
  for (int i = 1; i < argc; ++i)
    if (!apply(argv[i], o)) {
      std::cerr << "http_service: bad option '" << argv[i] << "'\n";
      return std::nullopt;
    }
  if (o.dsn.empty() || o.user.empty()) {
    std::cerr << "http_service: --dsn and --user (or EXAPOOL_DSN and EXAPOOL_USER) are needed\n";
    return std::nullopt;
  }
  return o;
}

exapool::credentials credentials_of(const options& o) {
  exapool::credentials creds;
  creds.dsn = o.dsn;
  creds.user = o.user;
  // From the environment only: a command line is visible to every user of the machine.
  creds.password.value = env_or("EXAPOOL_PASSWORD", "");
  creds.client_name = "exapool http_service"; // how its sessions show in EXA_ALL_SESSIONS
  // Each answer is built in memory as one JSON body: a result beyond this fails its statement
  // (result_too_large, 422) instead of growing the process.
  creds.max_result_bytes = 64 * 1024 * 1024;
  return creds;
}

int serve(const options& o, net::io_context& ioc, net::signal_set& signals) {
  auto config = exapool::runtime_config::from_environment(); // pool size: EXAPOOL_POOL_SIZE
  config.pool.acquire_timeout = o.acquire_timeout;
  exapool::runtime rt{config};
  auto creds = credentials_of(o);
  // Opens the pool's connections now, so a wrong password or an unreachable database stops the
  // service at start (runtime_error naming the cause) instead of failing every request.
  rt.prewarm(creds);
  auto query = [&rt, creds, timeout = o.timeout](std::string sql, auto done) {
    http_service::run_query(rt, creds, std::move(sql), timeout, std::move(done));
  };
  auto server = std::make_shared<http_service::listener>(
      ioc, net::ip::tcp::endpoint{net::ip::make_address(o.host), o.port}, o.limits, query);
  server->run();
  signals.async_wait([server](boost::system::error_code, int) {
    auto in_flight = server->stop();
    std::cout << "http_service stopping: " << in_flight << " request(s) in flight" << std::endl;
  });
  std::cout << "http_service listening on http://" << o.host << ":" << server->port() << "/query"
            << std::endl;
  ioc.run();     // returns once the listener is closed and every connection is done
  rt.shutdown(); // drains the pool: every server session is closed
  std::cout << "http_service stopped" << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse(argc, argv);
  if (!opts) {
    std::cerr << "usage: http_service [--host=127.0.0.1] [--port=8080] [--timeout=60] "
                 "[--acquire-timeout=30] [--max-body=65536] [--max-connections=256] [--dsn=...] "
                 "[--user=...]\n";
    return 2;
  }
  net::io_context ioc{1};
  // Registered before anything runs: a SIGTERM during start-up waits here, it does not kill.
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  try {
    return serve(*opts, ioc, signals);
  } catch (const std::exception& e) { // exapool::runtime_error: never holds the password
    std::cerr << "http_service: " << e.what() << "\n";
    return 1;
  }
}

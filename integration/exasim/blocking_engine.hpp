// The front's asynchronous engine over exasim's blocking one: every call runs on a worker
// thread and completes from there, so a slow statement (or one waiting for a lock) holds a
// worker, never an I/O thread. It also checks the credentials exasim knows (users and
// OpenID tokens) before a session opens.
#pragma once

#include "integration/exasim/sync_engine.hpp"

#include <boost/asio/thread_pool.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace exasim {

struct credential_store {
  std::map<std::string, std::string> users; // name -> password; names compare upper-cased
  std::vector<std::string> access_tokens, refresh_tokens;
};

// `workers` must outlive the engine and be joined before the engine and its sessions go
// (exasim passes the front's own workers, so one pool runs engine calls and key generation).
class blocking_engine : public exafront::engine {
public:
  blocking_engine(std::unique_ptr<sync_engine> engine, credential_store credentials,
                  boost::asio::thread_pool& workers);

  void open_session(exafront::login_request request,
                    exafront::done<exafront::login_outcome> completion) override;

private:
  // The upper-cased user name when the credentials are known, else nothing.
  std::optional<std::string> authenticate(const exafront::login_request& request) const;

  std::unique_ptr<sync_engine> engine_;
  credential_store credentials_;
  boost::asio::thread_pool& workers_;
};

} // namespace exasim

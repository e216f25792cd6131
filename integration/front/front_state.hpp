// What every part of a running protocol front shares: options, knobs, counters, the live
// sessions (the directory behind EXA_ALL_SESSIONS and KILL SESSION, and the front's session
// ids), the engine, and the worker threads that generate RSA keys and free big results off the
// I/O threads.
#pragma once

#include "integration/exasol/codec.hpp"
#include "integration/front/engine.hpp"
#include "integration/front/protocol.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

namespace exafront {

class session_core;

// What a front is told at start. exasim and exapool proxy fill it from their own options.
struct front_options {
  std::string name = "exasim";    // the WebSocket Server header, and the prefix of start errors
  std::string host = "127.0.0.1"; // getHosts answers it (the socket's address when 0.0.0.0)
  bool require_tls = false;       // plain ws logins fail with 08004
  int max_protocol_version = 3;   // higher requests are downgraded to this
  std::size_t max_message_bytes = 80u << 20;
  // A connection that has not logged in this long after it was accepted is dropped; 0: never.
  std::chrono::milliseconds login_timeout{30000};
  // false: one RSA key, generated at start, for every connection (benchmarks of many logins).
  bool fresh_rsa_key_per_session = true;
  int worker_threads = 2; // RSA key generation and freeing big results
  // Client connections beyond this many (logged in or not) are closed at once; 0: no limit.
  std::size_t max_connections = 0;
  // Test knobs (exasim), also adjustable while running; all off by default.
  std::chrono::milliseconds login_latency{0}; // added before the login response
  std::chrono::milliseconds query_latency{0}; // added before each execute-type response
  std::size_t max_sessions = 0;               // 0: unlimited; beyond it login fails
  bool refuse_logins = false;                 // every login fails with 08004
  std::uint64_t chaos_seed = 1;               // seeds the latency spikes
  // Session ids are this plus a counter: above 2^53, as Exasol's are, so clients are tested on
  // 64-bit parsing. A proxy takes another range than its upstream, so ids never look alike.
  std::uint64_t session_id_base = 1750902846820319232ULL;
};

class front_state : public engine_host {
public:
  // Session ids continue after `first_session_counter` (a restarted server hands out new ids).
  explicit front_state(front_options options, std::uint64_t first_session_counter = 0);

  const front_options options; // the start-time values; the knobs below override them

  std::atomic<std::int64_t> login_latency_ms, query_latency_ms;
  std::atomic<std::size_t> max_sessions;
  std::atomic<bool> refuse_logins;
  std::atomic<bool> stopping{false};

  std::atomic<std::uint64_t> sessions_opened{0}, sessions_closed{0}, failed_logins{0}, requests{0},
      protocol_violations{0};
  // Accepted TCP connections now open (logged in or not), accept() outcomes, logins timed out.
  std::atomic<std::uint64_t> connections{0}, accepts{0}, accept_errors{0}, login_timeouts{0};
  std::atomic<std::uint64_t> refused_connections{0}; // closed for max_connections
  std::atomic<std::uint64_t> latency_spikes{0};      // queries that drew a latency spike
  // Rows and approximate JSON bytes held by open result sets of every session.
  std::shared_ptr<result_memory> results = std::make_shared<result_memory>();

  // The query latency for the next execute-type request: the knob, plus a spike with the
  // spike probability.
  std::int64_t next_query_latency_ms();
  void set_latency_spikes(double probability, std::int64_t spike_ms);

  std::unique_ptr<engine> db_engine;
  std::optional<exasol::codec::rsa_key_pair> shared_key; // when not fresh_rsa_key_per_session
  boost::asio::thread_pool workers;

  // A new session id, for a login about to ask the engine (a refused login wastes its id).
  std::uint64_t next_session_id();
  // Registers a logged-in session (row.session_id from next_session_id()) unless max_sessions
  // is reached; false then.
  bool register_session(session_row row, std::weak_ptr<session_core> core);
  void unregister_session(std::uint64_t id);
  void set_status(std::uint64_t id, const char* status);
  void set_current_schema(std::uint64_t id, const std::string& schema);
  void set_query_timeout(std::uint64_t id, std::int64_t seconds);
  std::size_t active_sessions() const;
  std::vector<std::uint64_t> session_ids() const;
  std::vector<std::shared_ptr<session_core>> live_cores() const;
  std::uint64_t session_counter() const;

  // engine_host
  std::vector<session_row> sessions() const override;
  bool kill_session(std::uint64_t session_id) override;
  bool abort_statement(std::uint64_t session_id) override;

private:
  struct entry {
    session_row row;
    std::weak_ptr<session_core> core;
  };
  std::shared_ptr<session_core> find(std::uint64_t id) const;

  mutable std::mutex mutex_;
  std::map<std::uint64_t, entry> live_;
  std::uint64_t session_counter_ = 0;

  std::mutex chaos_mutex_; // guards the generator and the spike settings
  std::mt19937_64 chaos_random_;
  double spike_probability_ = 0;
  std::int64_t spike_ms_ = 0;
};

} // namespace exafront

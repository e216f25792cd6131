// A lock-based connection pool (std::mutex + std::condition_variable) over the real Exasol C++
// client: the peer exapool is measured against in B1 (issue 4), so that the comparison isolates
// actors against locks. Two policies:
//
//  - seed:  the dbt-exasol adapter's design (/work/shared/seed/tasks-add-connection-pooling.md)
//           ported as it ran after its first fix: idle connections in a list per credential key
//           under one global lock, `SELECT 1` on EVERY reuse (run while holding that lock), a
//           new connection whenever no idle one is there (checked-out connections are not
//           bounded), the size capping only the idle list and the prewarm.
//  - tuned: exapool's validation policy (pool_config): `SELECT 1` only for a connection idle
//           for at least the bypass window (500 ms), idle + leased + opening bounded by
//           max_size, waiters served first come first served by direct handoff, an acquire
//           timeout. No network round trip runs under the lock.
//
// Both count connections opened and validations. A connection that broke while leased is
// dropped on release; one that fails validation is closed and replaced.
#pragma once

#include "integration/exasol/connection.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace exapool::bench {

enum class lock_pool_policy { seed, tuned };

// "seed" or "tuned"; throws std::invalid_argument naming the bad text.
lock_pool_policy lock_pool_policy_from(const std::string& text);
const char* to_string(lock_pool_policy policy);

struct lock_pool_config {
  lock_pool_policy policy = lock_pool_policy::tuned;
  // tuned: bound on idle + leased + opening. seed: prewarm count and cap of the idle list.
  std::size_t max_size = 8;
  // tuned only: a connection used more recently than this is handed out without SELECT 1.
  std::chrono::milliseconds validation_bypass{500};
  // tuned only: the longest wait for a connection when max_size are in use.
  std::chrono::milliseconds acquire_timeout{30000};
};

struct lock_pool_counters {
  std::uint64_t opened = 0;      // connections opened (prewarm included)
  std::uint64_t closed = 0;      // closed by the pool (invalid, broken, over the idle cap, drain)
  std::uint64_t validations = 0; // SELECT 1 checks
  std::uint64_t invalid = 0;     // checks that failed (the connection was replaced)
  std::uint64_t acquired = 0;
};

// An acquire that found no connection within the acquire timeout (tuned policy).
class lock_pool_timeout : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class lock_pool {
public:
  lock_pool(exasol::connection_options options, lock_pool_config config);
  ~lock_pool(); // closes every idle connection; leases must be released before
  lock_pool(const lock_pool&) = delete;
  lock_pool& operator=(const lock_pool&) = delete;

  // A borrowed connection; goes back to the pool when destroyed.
  class lease {
  public:
    lease() = default;
    lease(lease&& other) noexcept;
    lease& operator=(lease&& other) noexcept;
    ~lease();
    exasol::connection& operator*() const { return *conn_; }
    exasol::connection* operator->() const { return conn_.get(); }
    void release(); // back to the pool now

  private:
    friend class lock_pool;
    lease(lock_pool* pool, std::unique_ptr<exasol::connection> conn);
    lock_pool* pool_ = nullptr;
    std::unique_ptr<exasol::connection> conn_;
  };

  // Throws exasol::error when a needed connect fails, lock_pool_timeout (tuned) when none
  // became free in time.
  lease acquire();
  // Opens connections until the pool holds `n` (the seed's initialize_pool; tuned: at most
  // max_size). Returns how many it opened.
  std::size_t prewarm(std::size_t n);
  void close_idle(); // the seed's cleanup_pool
  lock_pool_counters counters() const;
  std::size_t idle_count() const;
  // tuned: idle + leased + opening now; seed: idle + leased now.
  std::size_t total_count() const;
  // The most connections the pool held at one moment (idle + leased + opening).
  std::size_t peak_total() const;

private:
  struct idle_connection {
    std::unique_ptr<exasol::connection> conn;
    std::chrono::steady_clock::time_point last_used;
  };
  // A tuned-policy acquirer waiting for a connection, served in arrival order.
  struct waiter {
    std::condition_variable ready;
    std::unique_ptr<exasol::connection> handed; // a connection handed over directly
    bool may_open = false;                      // a slot freed: open a connection yourself
  };

  lease acquire_seed();
  lease acquire_tuned();
  lease open_new();
  lease open_in_slot(); // tuned: the slot is counted already; gives it up when connect fails
  bool validate(exasol::connection& conn);
  void give_back(std::unique_ptr<exasol::connection> conn);
  void give_back_seed(std::unique_ptr<exasol::connection> conn);
  void give_back_tuned(std::unique_ptr<exasol::connection> conn);
  void free_slot(); // tuned, lock held: a slot is given up (to the first waiter, if any)
  void note_total(std::size_t total);
  void close_quietly(std::unique_ptr<exasol::connection> conn);
  std::string counts_text() const; // for timeout errors; caller holds the lock

  exasol::connection_options options_;
  lock_pool_config config_;
  std::string key_; // the seed keyed its pools by a hash of the credentials

  mutable std::mutex mutex_;
  // seed: idle connections per key (the seed's class-level dict); tuned uses idle_.
  std::map<std::string, std::vector<idle_connection>> seed_pools_;
  std::deque<idle_connection> idle_; // tuned: most recently returned at the back
  std::deque<waiter*> waiters_;      // tuned: first come first served
  std::size_t total_ = 0;            // idle + leased (+ opening, tuned)
  std::size_t peak_ = 0;

  std::atomic<std::uint64_t> opened_{0}, closed_{0}, validations_{0}, invalid_{0}, acquired_{0};
};

} // namespace exapool::bench

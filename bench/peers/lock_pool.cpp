#include "bench/peers/lock_pool.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace exapool::bench {

namespace {

using clock_type = std::chrono::steady_clock;

// What the seed hashed into its pool key (dsn, user, database/schema). It used sha256 from
// hashlib; std::hash costs the same order (well under a microsecond) next to a round trip.
std::string seed_key_of(const exasol::connection_options& o) {
  return std::to_string(std::hash<std::string>{}(o.dsn + '\n' + o.user + '\n' + o.schema));
}

} // namespace

lock_pool_policy lock_pool_policy_from(const std::string& text) {
  if (text == "seed")
    return lock_pool_policy::seed;
  if (text == "tuned")
    return lock_pool_policy::tuned;
  throw std::invalid_argument("unknown lock pool policy '" + text + "' (seed or tuned)");
}

const char* to_string(lock_pool_policy policy) {
  return policy == lock_pool_policy::seed ? "seed" : "tuned";
}

// --- lease ----------------------------------------------------------------------------------

lock_pool::lease::lease(lock_pool* pool, std::unique_ptr<exasol::connection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

lock_pool::lease::lease(lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}

lock_pool::lease& lock_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

lock_pool::lease::~lease() {
  release();
}

void lock_pool::lease::release() {
  if (pool_ != nullptr && conn_)
    pool_->give_back(std::move(conn_));
  pool_ = nullptr;
}

// --- pool -----------------------------------------------------------------------------------

lock_pool::lock_pool(exasol::connection_options options, lock_pool_config config)
    : options_(std::move(options)), config_(config), key_(seed_key_of(options_)) {
  if (config_.max_size == 0)
    throw std::invalid_argument("lock pool: max_size must be at least 1");
}

lock_pool::~lock_pool() {
  close_idle();
}

lock_pool::lease lock_pool::acquire() {
  ++acquired_;
  return config_.policy == lock_pool_policy::seed ? acquire_seed() : acquire_tuned();
}

// The seed's open(): under the one lock, take a pooled connection and check it with SELECT 1
// (the round trip runs while the lock is held, so every other thread's open and close waits
// for it); an invalid one is closed and the next tried; with none left, a new connection is
// opened outside the lock, with no bound on how many are checked out.
lock_pool::lease lock_pool::acquire_seed() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto& idle = seed_pools_[key_];
  while (!idle.empty()) {
    auto candidate = std::move(idle.back());
    idle.pop_back();
    if (validate(*candidate.conn))
      return lease(this, std::move(candidate.conn));
    --total_;
    close_quietly(std::move(candidate.conn)); // also under the lock, as the seed did
  }
  lock.unlock();
  return open_new();
}

// Tuned: an idle connection (validated only when idle past the bypass window), else a new one
// while under max_size, else a place at the back of the queue until a release hands one over
// (or frees a slot) or the acquire timeout passes. Arrivals never overtake waiters.
lock_pool::lease lock_pool::acquire_tuned() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (waiters_.empty() && !idle_.empty()) {
    auto candidate = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (clock_type::now() - candidate.last_used < config_.validation_bypass ||
        validate(*candidate.conn))
      return lease(this, std::move(candidate.conn));
    close_quietly(std::move(candidate.conn));
    return open_in_slot(); // the slot of the invalid connection goes to its replacement
  }
  if (waiters_.empty() && total_ < config_.max_size) {
    note_total(++total_);
    lock.unlock();
    return open_in_slot();
  }
  waiter me;
  waiters_.push_back(&me);
  auto deadline = clock_type::now() + config_.acquire_timeout;
  if (!me.ready.wait_until(lock, deadline, [&] { return me.handed || me.may_open; })) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
    throw lock_pool_timeout("lock pool: no connection within " +
                            std::to_string(config_.acquire_timeout.count()) + " ms (" +
                            counts_text() + ")");
  }
  lock.unlock();
  if (me.handed) // straight from a release: used just now, so no validation
    return lease(this, std::move(me.handed));
  return open_in_slot();
}

lock_pool::lease lock_pool::open_new() {
  auto conn = std::make_unique<exasol::connection>(options_);
  ++opened_;
  std::lock_guard<std::mutex> lock(mutex_);
  note_total(++total_);
  return lease(this, std::move(conn));
}

lock_pool::lease lock_pool::open_in_slot() {
  try {
    auto conn = std::make_unique<exasol::connection>(options_);
    ++opened_;
    return lease(this, std::move(conn));
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_slot();
    throw;
  }
}

bool lock_pool::validate(exasol::connection& conn) {
  ++validations_;
  try {
    conn.execute("SELECT 1");
    if (conn.is_open())
      return true;
  } catch (const std::exception&) {
  }
  ++invalid_;
  return false;
}

void lock_pool::give_back(std::unique_ptr<exasol::connection> conn) {
  if (config_.policy == lock_pool_policy::seed)
    give_back_seed(std::move(conn));
  else
    give_back_tuned(std::move(conn));
}

// The seed's _close_handle: back into the key's list under the lock; beyond the size cap (its
// later fix) the connection is closed, also under the lock.
void lock_pool::give_back_seed(std::unique_ptr<exasol::connection> conn) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& idle = seed_pools_[key_];
  if (conn->is_open() && idle.size() < config_.max_size) {
    idle.push_back({std::move(conn), clock_type::now()});
    return;
  }
  --total_;
  close_quietly(std::move(conn));
}

void lock_pool::give_back_tuned(std::unique_ptr<exasol::connection> conn) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!conn->is_open()) { // broke while leased
    free_slot();
    lock.unlock();
    close_quietly(std::move(conn));
    return;
  }
  if (!waiters_.empty()) {
    waiters_.front()->handed = std::move(conn);
    waiters_.front()->ready.notify_one();
    waiters_.pop_front();
    return;
  }
  idle_.push_back({std::move(conn), clock_type::now()});
}

std::size_t lock_pool::prewarm(std::size_t n) {
  std::size_t opened = 0;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bool full = config_.policy == lock_pool_policy::tuned
                      ? total_ >= std::min(n, config_.max_size)
                      : total_ >= n;
      if (full)
        break;
      note_total(++total_);
    }
    std::unique_ptr<exasol::connection> conn;
    try {
      conn = std::make_unique<exasol::connection>(options_);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      --total_;
      throw;
    }
    ++opened_;
    ++opened;
    std::lock_guard<std::mutex> lock(mutex_);
    if (config_.policy == lock_pool_policy::seed)
      seed_pools_[key_].push_back({std::move(conn), clock_type::now()});
    else if (!waiters_.empty()) {
      waiters_.front()->handed = std::move(conn);
      waiters_.front()->ready.notify_one();
      waiters_.pop_front();
    } else
      idle_.push_back({std::move(conn), clock_type::now()});
  }
  return opened;
}

void lock_pool::close_idle() {
  std::vector<std::unique_ptr<exasol::connection>> doomed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, idle] : seed_pools_)
      for (auto& c : idle)
        doomed.push_back(std::move(c.conn));
    seed_pools_.clear();
    for (auto& c : idle_)
      doomed.push_back(std::move(c.conn));
    idle_.clear();
    total_ -= doomed.size();
  }
  for (auto& conn : doomed)
    close_quietly(std::move(conn));
}

lock_pool_counters lock_pool::counters() const {
  lock_pool_counters c;
  c.opened = opened_;
  c.closed = closed_;
  c.validations = validations_;
  c.invalid = invalid_;
  c.acquired = acquired_;
  return c;
}

std::size_t lock_pool::idle_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t n = idle_.size();
  for (const auto& [key, idle] : seed_pools_)
    n += idle.size();
  return n;
}

std::size_t lock_pool::total_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

std::size_t lock_pool::peak_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

void lock_pool::free_slot() {
  if (waiters_.empty()) {
    --total_;
    return;
  }
  waiters_.front()->may_open = true; // the slot passes to the next in line, who opens
  waiters_.front()->ready.notify_one();
  waiters_.pop_front();
}

void lock_pool::note_total(std::size_t total) {
  peak_ = std::max(peak_, total);
}

void lock_pool::close_quietly(std::unique_ptr<exasol::connection> conn) {
  ++closed_;
  if (!conn->is_open()) {
    conn->close();
    return;
  }
  try {
    conn->disconnect();
  } catch (const std::exception&) {
    // already closed by disconnect(); a failed goodbye changes nothing for the pool
  }
}

std::string lock_pool::counts_text() const {
  return "total=" + std::to_string(total_) + " idle=" + std::to_string(idle_.size()) +
         " waiting=" + std::to_string(waiters_.size()) +
         " max_size=" + std::to_string(config_.max_size);
}

} // namespace exapool::bench

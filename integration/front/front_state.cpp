#include "integration/front/front_state.hpp"

#include "integration/front/session_core.hpp"

#include <algorithm>
#include <cmath>

namespace exafront {

front_state::front_state(front_options opts, std::uint64_t first_session_counter)
    : options(std::move(opts)), login_latency_ms(options.login_latency.count()),
      query_latency_ms(options.query_latency.count()), max_sessions(options.max_sessions),
      refuse_logins(options.refuse_logins),
      workers(static_cast<std::size_t>(std::max(1, options.worker_threads))),
      session_counter_(first_session_counter), chaos_random_(options.chaos_seed) {}

std::int64_t front_state::next_query_latency_ms() {
  std::int64_t latency = query_latency_ms.load();
  std::lock_guard lock(chaos_mutex_);
  if (spike_probability_ > 0 &&
      std::uniform_real_distribution<double>(0.0, 1.0)(chaos_random_) < spike_probability_) {
    latency += spike_ms_;
    ++latency_spikes;
  }
  return latency;
}

void front_state::set_latency_spikes(double probability, std::int64_t spike_ms) {
  std::lock_guard lock(chaos_mutex_);
  spike_probability_ = std::isnan(probability) ? 0.0 : std::clamp(probability, 0.0, 1.0);
  spike_ms_ = std::max<std::int64_t>(0, spike_ms);
}

std::uint64_t front_state::session_counter() const {
  std::lock_guard lock(mutex_);
  return session_counter_;
}

std::uint64_t front_state::next_session_id() {
  std::lock_guard lock(mutex_);
  return options.session_id_base + ++session_counter_;
}

bool front_state::register_session(session_row row, std::weak_ptr<session_core> core) {
  std::lock_guard lock(mutex_);
  std::size_t limit = max_sessions.load();
  if (limit != 0 && live_.size() >= limit)
    return false;
  auto id = row.session_id;
  live_.emplace(id, entry{std::move(row), std::move(core)});
  ++sessions_opened;
  return true;
}

void front_state::unregister_session(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  if (live_.erase(id) > 0)
    ++sessions_closed;
}

void front_state::set_status(std::uint64_t id, const char* status) {
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(id); it != live_.end())
    it->second.row.status = status;
}

void front_state::set_current_schema(std::uint64_t id, const std::string& schema) {
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(id); it != live_.end())
    it->second.row.current_schema = schema;
}

void front_state::set_query_timeout(std::uint64_t id, std::int64_t seconds) {
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(id); it != live_.end())
    it->second.row.query_timeout = seconds;
}

std::size_t front_state::active_sessions() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

std::vector<std::uint64_t> front_state::session_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, e] : live_)
    ids.push_back(id);
  return ids;
}

std::vector<std::shared_ptr<session_core>> front_state::live_cores() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<session_core>> cores;
  for (const auto& [id, e] : live_)
    if (auto core = e.core.lock())
      cores.push_back(std::move(core));
  return cores;
}

std::vector<session_row> front_state::sessions() const {
  std::lock_guard lock(mutex_);
  std::vector<session_row> rows;
  for (const auto& [id, e] : live_)
    rows.push_back(e.row);
  return rows;
}

std::shared_ptr<session_core> front_state::find(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second.core.lock();
}

bool front_state::kill_session(std::uint64_t session_id) {
  std::shared_ptr<session_core> core;
  {
    // Gone from EXA_ALL_SESSIONS before KILL SESSION answers, as in Exasol.
    std::lock_guard lock(mutex_);
    auto it = live_.find(session_id);
    if (it == live_.end())
      return false;
    core = it->second.core.lock();
    live_.erase(it);
    ++sessions_closed;
  }
  if (core)
    core->drop();
  return true;
}

bool front_state::abort_statement(std::uint64_t session_id) {
  auto core = find(session_id);
  if (!core)
    return false;
  core->abort_statement();
  return true;
}

} // namespace exafront

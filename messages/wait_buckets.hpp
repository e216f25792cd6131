// The fixed upper bounds of the acquire-wait histogram that /metrics exports (Prometheus
// buckets): plain constants, shared by the pool's counters (actors/pool_core.hpp) and the
// renderer (messages/prometheus.hpp) without pulling either's dependencies into the other.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace exapool {

// Microseconds, ascending: 0.5 ms ... 30 s. A wait longer than the last is counted only in
// the +Inf bucket (the count).
inline constexpr std::array<std::int64_t, 12> wait_bucket_bounds_us = {
    500,     1'000,     5'000,     10'000,    50'000,     100'000,
    500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};
inline constexpr std::size_t wait_bucket_count = wait_bucket_bounds_us.size();

} // namespace exapool

// Pool stats as JSON text: what the admin endpoint answers and `exapool stats --stats.json`
// prints. One place builds and reads it, so the endpoint, the command and the tests agree.
//
//   {"pools": [{"key": "<64 hex>", "name": "orders", "label": "sys@db1:8563/STAGE",
//               "total": 3, ...,
//               "wait_p50_us": 12, "wait_p99_us": 950, "wait_max_us": 1200,
//               "last_connect_error": ""}]}
//
// Every pool_stats field appears under its own name; the three wait times are whole
// microseconds with the suffix _us; the wait histogram is wait_sum_ns and wait_buckets (an
// array of cumulative counts at wait_bucket_bounds_us). Nothing here ever holds a password or
// token: the label is made by pool_label, the name is the configured one or the label, the key
// is an HMAC, and last_connect_error is secret-free by contract.
#pragma once

#include "messages/credentials.hpp"
#include "messages/pool_stats.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace exapool {

// A pool's name for people: user@dsn[/schema], with certificate fingerprints left out of the
// DSN (they are long and say nothing about which database it is). Never a secret.
std::string pool_label(const credentials& creds);

std::string stats_to_json(const std::vector<pool_stats>& pools);

// Reads what stats_to_json wrote. Throws std::invalid_argument naming the first problem (not
// JSON, no "pools" array, a field missing or of the wrong type).
std::vector<pool_stats> stats_from_json(std::string_view text);

} // namespace exapool

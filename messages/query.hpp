// What a query returns across actors: the Exasol client's typed results, made inspectable so
// CAF can print and serialise them. The value variant is written as a tag and its alternative.
#pragma once

#include "integration/exasol/values.hpp"
#include "messages/errors.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <cstdint>
#include <type_traits>
#include <vector>

namespace exasol {

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, decimal& x) {
  return f(caf::meta::type_name("decimal"), x.text);
}

// Saving and printing: the tag, then the alternative it names.
template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, value& x) {
  auto tag = static_cast<std::uint8_t>(x.index());
  switch (x.index()) {
  case 1:
    return f(caf::meta::type_name("value"), tag, std::get<bool>(x));
  case 2:
    return f(caf::meta::type_name("value"), tag, std::get<std::int64_t>(x));
  case 3:
    return f(caf::meta::type_name("value"), tag, std::get<double>(x));
  case 4:
    return f(caf::meta::type_name("value"), tag, std::get<decimal>(x));
  case 5:
    return f(caf::meta::type_name("value"), tag, std::get<std::string>(x));
  default:
    return f(caf::meta::type_name("value"), tag);
  }
}

// Loading: read the tag first, then the alternative it names.
template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, value& x) {
  std::uint8_t tag = 0;
  if (auto err = f(tag))
    return err;
  auto load = [&](auto alternative) -> caf::error {
    auto err = f(alternative);
    x = std::move(alternative);
    return err;
  };
  switch (tag) {
  case 0:
    x = std::monostate{};
    return {};
  case 1:
    return load(false);
  case 2:
    return load(std::int64_t{0});
  case 3:
    return load(0.0);
  case 4:
    return load(decimal{});
  case 5:
    return load(std::string{});
  default:
    return caf::make_error(caf::sec::unknown_type, "unknown exasol::value tag");
  }
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, column& x) {
  return f(caf::meta::type_name("column"), x.name, x.type, x.precision, x.scale, x.size,
           x.character_set, x.with_local_time_zone, x.fraction, x.srid);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, result_set& x) {
  return f(caf::meta::type_name("result_set"), x.columns, x.data, x.total_rows, x.handle);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, result& x) {
  auto kind = static_cast<std::uint8_t>(x.type);
  auto apply_kind = [&]() -> caf::error {
    x.type = static_cast<result::kind>(kind);
    return {};
  };
  return f(caf::meta::type_name("result"), kind, x.row_count, x.rows,
           caf::meta::load_callback(apply_kind));
}

} // namespace exasol

namespace exapool {

// The results of one statement (one entry for execute; one per statement for a batch).
struct query_result {
  std::vector<exasol::result> results;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, query_result& x) {
  return f(caf::meta::type_name("query_result"), x.results);
}

// What prewarm achieved: how many connections it opened, and why the others failed.
struct prewarm_report {
  std::size_t requested = 0;
  std::size_t opened = 0;
  std::vector<std::string> failures; // one text per failed connect; never a secret
  // When none opened: why, as a kind: authentication_failed (the server refused the
  // credentials), untrusted_server (the TLS rules refused its certificate), else
  // connect_failed. none when a connection opened.
  pool_errc cause = pool_errc::none;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prewarm_report& x) {
  return f(caf::meta::type_name("prewarm_report"), x.requested, x.opened, x.failures, x.cause);
}

} // namespace exapool

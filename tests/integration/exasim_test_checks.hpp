// What exasim's protocol tests ask of a raw response (exasim_test_client.hpp), and how they
// wait for an asynchronous effect of the server.
#pragma once

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace exasim_test {

inline bool ok(const boost::json::object& response) {
  return response.at("status") == "ok";
}

// The sqlCode of an error response; a response that is not an error fails the test.
inline std::string sql_code(const boost::json::object& response) {
  REQUIRE(response.at("status") == "error");
  return std::string(response.at("exception").at("sqlCode").as_string());
}

// The first column of the first row of the first result set.
inline boost::json::value first_value(const boost::json::object& response) {
  return response.at("responseData").at("results").at(0).at("resultSet").at("data").at(0).at(0);
}

// The handle of the first result set (one of 1000 rows or more comes as a handle).
inline boost::json::value result_handle(const boost::json::object& response) {
  return response.at("responseData").at("results").at(0).at("resultSet").at("resultSetHandle");
}

// {"command":"fetch"} for `handle` from `start` within `num_bytes` (any JSON: tests send bad
// values too).
inline boost::json::object fetch_request(const boost::json::value& handle,
                                         const boost::json::value& start,
                                         const boost::json::value& num_bytes) {
  return {{"command", "fetch"},
          {"resultSetHandle", handle},
          {"startPosition", start},
          {"numBytes", num_bytes}};
}

// Polls `condition` every 10 ms for up to 10 s; the limit is only a hang guard.
template <class Condition> bool eventually(Condition condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

} // namespace exasim_test

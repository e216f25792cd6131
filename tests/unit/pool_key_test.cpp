#include "integration/exasol/codec.hpp"
#include "messages/errors.hpp"
#include "messages/pool_config.hpp"
#include "messages/pool_key.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <vector>

using namespace exapool;

namespace {

credentials sample() {
  credentials c;
  c.dsn = "exa1..3.example.com:8563";
  c.user = "analyst";
  c.password.value = "s3cret-Passw0rd";
  c.schema = "SALES";
  return c;
}

} // namespace

TEST_CASE("pool key is stable for equal credentials", "[pool_key]") {
  CHECK(make_pool_key(sample()) == make_pool_key(sample()));
  CHECK(make_pool_key(sample()).hex.size() == 64);
}

TEST_CASE("pool key differs when any single field differs", "[pool_key]") {
  using mutation = std::function<void(credentials&)>;
  std::vector<std::pair<const char*, mutation>> mutations = {
      {"dsn", [](credentials& c) { c.dsn += "x"; }},
      {"user", [](credentials& c) { c.user = "other"; }},
      {"password", [](credentials& c) { c.password.value += "!"; }},
      {"access_token", [](credentials& c) { c.access_token.value = "t"; }},
      {"refresh_token", [](credentials& c) { c.refresh_token.value = "t"; }},
      {"schema", [](credentials& c) { c.schema = "OTHER"; }},
      {"tls", [](credentials& c) { c.tls = !c.tls; }},
      {"insecure", [](credentials& c) { c.insecure = !c.insecure; }},
      {"ca_file", [](credentials& c) { c.ca_file = "/etc/ca.pem"; }},
      {"compression", [](credentials& c) { c.compression = !c.compression; }},
      {"protocol_version", [](credentials& c) { c.protocol_version = 2; }},
      {"autocommit", [](credentials& c) { c.autocommit = !c.autocommit; }},
      {"server_query_timeout_s", [](credentials& c) { c.server_query_timeout_s = 30; }},
      {"connect_timeout", [](credentials& c) { c.connect_timeout = std::chrono::seconds(3); }},
      {"socket_timeout", [](credentials& c) { c.socket_timeout = std::chrono::seconds(3); }},
      {"query_timeout", [](credentials& c) { c.query_timeout = std::chrono::seconds(3); }},
      {"login_timeout", [](credentials& c) { c.login_timeout = std::chrono::seconds(3); }},
      {"max_result_rows", [](credentials& c) { c.max_result_rows = 10; }},
      {"max_result_bytes", [](credentials& c) { c.max_result_bytes = 1000; }},
      {"client_name", [](credentials& c) { c.client_name = "dbt"; }},
      {"init_sql", [](credentials& c) { c.init_sql = {"OPEN SCHEMA S"}; }},
      {"snapshot_transactions", [](credentials& c) { c.snapshot_transactions = true; }},
      {"timestamp_utc", [](credentials& c) { c.timestamp_utc = true; }},
      {"numeric_characters", [](credentials& c) { c.numeric_characters = std::string(",."); }},
      {"feedback_interval_s", [](credentials& c) { c.feedback_interval_s = 5; }},
      {"result_set_max_rows", [](credentials& c) { c.result_set_max_rows = std::uint64_t(10); }},
  };
  auto base = make_pool_key(sample());
  for (auto& [field, mutate] : mutations) {
    INFO("field " << field);
    credentials changed = sample();
    mutate(changed);
    CHECK(make_pool_key(changed) != base);
  }
}

TEST_CASE("a session attribute set to the server's default is not the attribute unset",
          "[pool_key]") {
  // Unset sends nothing (another server default may apply); set sends the value: two pools.
  auto base = make_pool_key(sample());
  credentials a = sample(), b = sample(), c = sample(), d = sample(), e = sample();
  a.snapshot_transactions = false;
  b.timestamp_utc = false;
  c.numeric_characters = std::string(".,");
  d.feedback_interval_s = 1;
  e.result_set_max_rows = std::uint64_t(0);
  std::vector<pool_key> keys{base,
                             make_pool_key(a),
                             make_pool_key(b),
                             make_pool_key(c),
                             make_pool_key(d),
                             make_pool_key(e)};
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = i + 1; j < keys.size(); ++j)
      CHECK(keys[i] != keys[j]);
  // "-" is a value of numericCharacters too, and still not "unset".
  credentials dash = sample();
  dash.numeric_characters = std::string("-");
  CHECK(make_pool_key(dash) != base);
}

TEST_CASE("the session attributes survive serialisation and are printed", "[pool_key]") {
  auto creds = sample();
  creds.snapshot_transactions = true;
  creds.timestamp_utc = false;
  creds.numeric_characters = std::string(",.");
  creds.feedback_interval_s = 7;
  creds.result_set_max_rows = std::uint64_t(1234);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(creds));
  credentials back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(back));
  CHECK(make_pool_key(back) == make_pool_key(creds)); // every field, the new ones included
  CHECK(back.snapshot_transactions == caf::optional<bool>(true));
  CHECK(back.timestamp_utc == caf::optional<bool>(false));
  CHECK(back.numeric_characters == caf::optional<std::string>(",."));
  CHECK(back.feedback_interval_s == caf::optional<int>(7));
  CHECK(back.result_set_max_rows == caf::optional<std::uint64_t>(1234));
  // And unset comes back unset.
  credentials plain = sample(), plain_back;
  buf.clear();
  caf::binary_serializer sink2{sys, buf};
  REQUIRE_FALSE(sink2(plain));
  caf::binary_deserializer source2{sys, buf};
  REQUIRE_FALSE(source2(plain_back));
  CHECK_FALSE(plain_back.snapshot_transactions);
  CHECK_FALSE(plain_back.numeric_characters);
  CHECK_FALSE(plain_back.result_set_max_rows);
  CHECK_THAT(caf::deep_to_string(creds), Catch::Contains("1234"));
}

TEST_CASE("field boundaries cannot be shifted to forge an equal key", "[pool_key]") {
  credentials a = sample(), b = sample();
  a.user = "ab";
  a.schema = "c";
  b.user = "a";
  b.schema = "bc";
  CHECK(make_pool_key(a) != make_pool_key(b));
}

TEST_CASE("init SQL lists that differ only in how they split never share a key", "[pool_key]") {
  credentials a = sample(), b = sample(), c = sample(), d = sample();
  a.init_sql = {"ab"};
  b.init_sql = {"a", "b"};
  c.init_sql = {"b", "a"};
  d.init_sql = {"ab", ""};
  std::vector<pool_key> keys{make_pool_key(a), make_pool_key(b), make_pool_key(c), make_pool_key(d),
                             make_pool_key(sample())};
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = i + 1; j < keys.size(); ++j)
      CHECK(keys[i] != keys[j]);
}

TEST_CASE("no secret appears in the pool key or the printed credentials", "[pool_key]") {
  auto creds = sample();
  creds.access_token.value = "eyJ-access-token";
  auto key = make_pool_key(creds);
  CHECK(key.hex.find("s3cret") == std::string::npos);
  auto printed = caf::deep_to_string(creds);
  CHECK(printed.find("s3cret-Passw0rd") == std::string::npos);
  CHECK(printed.find("eyJ-access-token") == std::string::npos);
  CHECK(printed.find("<redacted>") != std::string::npos);
  CHECK(printed.find("analyst") != std::string::npos); // the rest is still shown
  // The key is an HMAC under a per-process random key: not the plain SHA-256 of the encoding.
  CHECK(key.hex != exasol::codec::sha256_hex(canonical_encoding(creds)));
}

TEST_CASE("pool size parsing accepts 1 to 1000 and names bad values", "[pool_config]") {
  CHECK(*parse_pool_size("EXAPOOL_POOL_SIZE", "1") == 1);
  CHECK(*parse_pool_size("EXAPOOL_POOL_SIZE", "1000") == 1000);
  for (const char* bad : {"abc", "-1", "0", "1001", "99999999999999999999", "", " 5", "5x"}) {
    INFO("value '" << bad << "'");
    auto size = parse_pool_size("DBT_CONN_POOL_SIZE", bad);
    REQUIRE_FALSE(size);
    CHECK(code_of(size.error()) == pool_errc::invalid_config);
    CHECK(context_of(size.error()).find("DBT_CONN_POOL_SIZE") != std::string::npos);
  }
}

TEST_CASE("pool size comes from EXAPOOL_POOL_SIZE, then DBT_CONN_POOL_SIZE, then 5",
          "[pool_config]") {
  unsetenv("EXAPOOL_POOL_SIZE");
  unsetenv("DBT_CONN_POOL_SIZE");
  CHECK(*pool_size_from_environment() == 5);
  setenv("DBT_CONN_POOL_SIZE", "7", 1);
  CHECK(*pool_size_from_environment() == 7);
  setenv("EXAPOOL_POOL_SIZE", "3", 1);
  CHECK(*pool_size_from_environment() == 3);
  setenv("EXAPOOL_POOL_SIZE", "abc", 1);
  auto bad = pool_size_from_environment();
  REQUIRE_FALSE(bad);
  CHECK(context_of(bad.error()).find("EXAPOOL_POOL_SIZE=\"abc\"") != std::string::npos);
  setenv("EXAPOOL_POOL_SIZE", "", 1); // empty counts as unset
  CHECK(*pool_size_from_environment() == 7);
  unsetenv("EXAPOOL_POOL_SIZE");
  unsetenv("DBT_CONN_POOL_SIZE");
}

TEST_CASE("code_of and context_of accept an empty error", "[errors]") {
  caf::error none;
  CHECK(code_of(none) == pool_errc::none);
  CHECK(context_of(none).empty());
  auto err = make_error(pool_errc::stale_lease, "lease 7 was given back");
  CHECK(code_of(err) == pool_errc::stale_lease);
  CHECK(context_of(err) == "lease 7 was given back");
  CHECK(to_string(pool_errc::acquire_timeout) == "acquire_timeout");
}

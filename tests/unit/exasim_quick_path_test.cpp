// exasim's quick path (sqlite_session::try_execute_quick): which statements answer on the
// calling thread, and that every other one is left for a worker with nothing changed.
#include "integration/exasim/sqlite_engine.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace exasim;

namespace {

struct no_sessions : engine_host {
  std::vector<session_row> sessions() const override { return {}; }
  bool kill_session(std::uint64_t) override { return false; }
  bool abort_statement(std::uint64_t) override { return false; }
};

// A database of its own in a scratch directory, removed at the end.
struct quick_fixture {
  std::filesystem::path dir;
  no_sessions host;
  std::unique_ptr<sqlite_engine> engine;
  std::unique_ptr<sync_session> session;
  attribute_set attributes;

  quick_fixture() {
    char pattern[] = "/tmp/exapool-quick-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    engine = std::make_unique<sqlite_engine>((dir / "db.sqlite").string(), host);
    session = engine->open_session({1, "SYS"});
  }
  ~quick_fixture() {
    session.reset();
    engine.reset();
    std::filesystem::remove_all(dir);
  }

  execution run(const std::string& sql) {
    auto out = session->execute(sql, attributes);
    REQUIRE_FALSE(out.error);
    return out;
  }
};

std::int64_t single_int(const execution& e) {
  REQUIRE(e.results.size() == 1);
  REQUIRE(e.results[0].rows);
  return e.results[0].rows->data.at(0).at(0).as_int64();
}

} // namespace

TEST_CASE_METHOD(quick_fixture, "exasim answers a cheap SELECT on the calling thread",
                 "[exasim][quick]") {
  auto quick = session->try_execute_quick("SELECT 1", attributes);
  REQUIRE(quick);
  CHECK_FALSE(quick->error);
  CHECK(single_int(*quick) == 1);

  run("CREATE TABLE t (x INTEGER)");
  run("INSERT INTO t VALUES (1), (2), (3)");
  quick = session->try_execute_quick("  select count(*) from t", attributes);
  REQUIRE(quick);
  CHECK(single_int(*quick) == 3);

  // A statement that fails as it runs is answered here, as the worker would answer it.
  quick = session->try_execute_quick("SELECT abs(-9223372036854775807 - 1)", attributes);
  REQUIRE(quick);
  REQUIRE(quick->error);
  CHECK(quick->error->sql_code.size() == 5);
  // One that does not even prepare is the worker's to report.
  CHECK_FALSE(session->try_execute_quick("SELECT x FROM missing_table", attributes));
}

TEST_CASE_METHOD(quick_fixture, "writes, transaction control and session views go to a worker",
                 "[exasim][quick]") {
  run("CREATE TABLE t (x INTEGER)");
  for (const char* sql :
       {"INSERT INTO t VALUES (1)", "CREATE TABLE u (y INTEGER)", "COMMIT", "PRAGMA user_version",
        "OPEN SCHEMA s", "SELECT * FROM EXA_ALL_SESSIONS", "SELECTED", "SELECT 1; SELECT 2"})
    CHECK_FALSE(session->try_execute_quick(sql, attributes));
  // Nothing of them happened here.
  CHECK(single_int(run("SELECT COUNT(*) FROM t")) == 0);
  auto tables = run("SELECT COUNT(*) FROM sqlite_master WHERE name = 'u'");
  CHECK(single_int(tables) == 0);
}

TEST_CASE_METHOD(quick_fixture, "a SELECT over the quick budget starts again on a worker",
                 "[exasim][quick]") {
  const std::string count_far = "SELECT COUNT(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION "
                                "ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT x FROM c)";
  CHECK_FALSE(session->try_execute_quick(count_far, attributes));
  CHECK(single_int(run(count_far)) == 100000); // the worker's run is whole
}

TEST_CASE_METHOD(quick_fixture, "with autocommit off the first statement goes to a worker",
                 "[exasim][quick]") {
  run("CREATE TABLE t (x INTEGER)");
  attributes.set_autocommit(false);
  CHECK_FALSE(session->try_execute_quick("SELECT 1", attributes)); // it must BEGIN first
  run("INSERT INTO t VALUES (7)");                                 // BEGIN, then the insert
  auto quick = session->try_execute_quick("SELECT x FROM t", attributes);
  REQUIRE(quick); // inside the transaction, and it sees its own write
  CHECK(single_int(*quick) == 7);
  // Autocommit back on with the transaction open: the worker commits first.
  attributes.set_autocommit(true);
  CHECK_FALSE(session->try_execute_quick("SELECT 1", attributes));
}

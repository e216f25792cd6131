// credentials_from_config: the database's credentials from the command line, caf-application.ini
// and the environment, and every way that can be wrong, each refused by name and never with the
// password in the text.
#include "actors/runtime_options.hpp"

#include <caf/deep_to_string.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace exapool;

namespace {

constexpr const char* password = "Pw-Config-Secret-7";

// Every variable credentials_from_config reads, unset for a test and again after it.
struct clean_environment {
  static constexpr const char* names[] = {
      "EXAPOOL_DSN",    "EXAPOOL_USER",          "EXAPOOL_PASSWORD",    "EXAPOOL_PASSWORD_ENV",
      "EXAPOOL_SCHEMA", "EXAPOOL_PASSWORD_FILE", "INIT11_TEST_PASSWORD"};
  clean_environment() { clear(); }
  ~clean_environment() { clear(); }
  static void clear() {
    for (const char* name : names)
      unsetenv(name);
  }
};

// A scratch directory, removed with what it holds.
struct scratch {
  std::string dir;
  scratch() {
    char pattern[] = "/tmp/exapool-creds-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
  }
  ~scratch() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string file(const std::string& name, const std::string& content) const {
    auto path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
};

void parse(runtime_system_config& cfg, std::vector<std::string> args, std::string ini = "") {
  std::istringstream ini_stream{ini};
  REQUIRE_FALSE(cfg.parse(std::move(args), ini_stream));
}

credentials from(std::vector<std::string> args, std::string ini = "") {
  runtime_system_config cfg;
  parse(cfg, std::move(args), std::move(ini));
  return credentials_from_config(cfg);
}

// The invalid_config error these options give; its text must name `named` and never hold the
// password.
std::string refusal(std::vector<std::string> args, const std::string& named, std::string ini = "") {
  runtime_system_config cfg;
  parse(cfg, std::move(args), std::move(ini));
  try {
    credentials_from_config(cfg);
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::invalid_config);
    CHECK_THAT(std::string(e.what()), Catch::Contains(named));
    CHECK(std::string(e.what()).find(password) == std::string::npos);
    return e.what();
  }
  FAIL("credentials accepted; expected an error naming " << named);
  return "";
}

} // namespace

TEST_CASE("credentials come from --exapool options", "[credentials_config]") {
  clean_environment env;
  scratch tmp;
  auto file = tmp.file("pw", std::string(password) + "\n");
  auto creds =
      from({"--exapool.dsn=db1..3:8563", "--exapool.user=etl", "--exapool.password-file=" + file,
            "--exapool.schema=SALES",
            R"(--exapool.init-sql=["ALTER SESSION SET QUERY_TIMEOUT = 5", "OPEN SCHEMA S"])"});
  CHECK(creds.dsn == "db1..3:8563");
  CHECK(creds.user == "etl");
  CHECK(creds.password.value == password); // the trailing newline stripped
  CHECK(creds.schema == "SALES");
  CHECK(creds.init_sql ==
        std::vector<std::string>{"ALTER SESSION SET QUERY_TIMEOUT = 5", "OPEN SCHEMA S"});
  CHECK(creds.client_name == credentials{}.client_name); // the rest: the defaults
}

TEST_CASE("credentials come from the [exapool] group of an ini file", "[credentials_config]") {
  clean_environment env;
  setenv("INIT11_TEST_PASSWORD", password, 1);
  auto creds = from({}, "[exapool]\n"
                        "dsn=\"db:8563\"\n"
                        "user=\"reporting\"\n"
                        "password-env=\"INIT11_TEST_PASSWORD\"\n"
                        "init-sql=[\"OPEN SCHEMA A\", \"OPEN SCHEMA B\"]\n");
  CHECK(creds.dsn == "db:8563");
  CHECK(creds.user == "reporting");
  CHECK(creds.password.value == password);
  CHECK(creds.schema.empty());
  CHECK(creds.init_sql == std::vector<std::string>{"OPEN SCHEMA A", "OPEN SCHEMA B"});
}

TEST_CASE("unset options come from the environment", "[credentials_config]") {
  clean_environment env;
  setenv("EXAPOOL_DSN", "envdb:8563", 1);
  setenv("EXAPOOL_USER", "envuser", 1);
  setenv("EXAPOOL_SCHEMA", "ENV_SCHEMA", 1);
  setenv("EXAPOOL_PASSWORD_ENV", "INIT11_TEST_PASSWORD", 1);
  setenv("INIT11_TEST_PASSWORD", password, 1);
  auto creds = from({});
  CHECK(creds.dsn == "envdb:8563");
  CHECK(creds.user == "envuser");
  CHECK(creds.schema == "ENV_SCHEMA");
  CHECK(creds.password.value == password);

  scratch tmp;
  unsetenv("EXAPOOL_PASSWORD_ENV");
  setenv("EXAPOOL_PASSWORD_FILE", tmp.file("pw", "from-file").c_str(), 1);
  CHECK(from({}).password.value == "from-file");
}

TEST_CASE("the command line wins over the ini file, and both over the environment",
          "[credentials_config]") {
  clean_environment env;
  setenv("EXAPOOL_DSN", "envdb:1", 1);
  setenv("EXAPOOL_USER", "envuser", 1);
  setenv("EXAPOOL_SCHEMA", "ENV_SCHEMA", 1);
  auto creds = from({"--exapool.dsn=clidb:3"}, "[exapool]\ndsn=\"inidb:2\"\nuser=\"iniuser\"\n");
  CHECK(creds.dsn == "clidb:3");
  CHECK(creds.user == "iniuser");
  CHECK(creds.schema == "ENV_SCHEMA");
  // Set to "" on purpose (CAF's command line takes no empty value; the ini file does), an
  // option wins over the environment too.
  CHECK(from({}, "[exapool]\nschema=\"\"\n").schema.empty());
}

TEST_CASE("with no password file or variable named, the password is EXAPOOL_PASSWORD",
          "[credentials_config]") {
  clean_environment env;
  std::vector<std::string> args{"--exapool.dsn=db:8563", "--exapool.user=u"};
  CHECK(from(args).password.value.empty());
  setenv("EXAPOOL_PASSWORD", password, 1);
  CHECK(from(args).password.value == password);
}

TEST_CASE("a password file loses exactly one trailing newline", "[credentials_config]") {
  clean_environment env;
  scratch tmp;
  auto password_in = [&](const std::string& content) {
    return from({"--exapool.dsn=db:8563", "--exapool.user=u",
                 "--exapool.password-file=" + tmp.file("pw", content)})
        .password.value;
  };
  CHECK(password_in("abc") == "abc");
  CHECK(password_in("abc\n") == "abc");
  CHECK(password_in("abc\r\n") == "abc");
  CHECK(password_in("abc\n\n") == "abc\n");
  CHECK(password_in(" a b ") == " a b "); // spaces are the password's own
}

TEST_CASE("a password file that is missing, unreadable or empty is refused by name",
          "[credentials_config]") {
  clean_environment env;
  scratch tmp;
  std::vector<std::string> base{"--exapool.dsn=db:8563", "--exapool.user=u"};
  auto with = [&](const std::string& option) {
    auto args = base;
    args.push_back(option);
    return args;
  };
  auto missing = tmp.dir + "/no-such-file";
  CHECK_THAT(refusal(with("--exapool.password-file=" + missing), missing),
             Catch::Contains("does not exist"));
  CHECK_THAT(refusal(with("--exapool.password-file=" + tmp.dir), tmp.dir),
             Catch::Contains("cannot be read"));
  auto empty = tmp.file("empty", "");
  CHECK_THAT(refusal(with("--exapool.password-file=" + empty), empty), Catch::Contains("is empty"));
  auto newline = tmp.file("newline", "\n");
  CHECK_THAT(refusal(with("--exapool.password-file=" + newline), newline),
             Catch::Contains("is empty"));
  CHECK_THAT(refusal(base, "exapool.password-file", "[exapool]\npassword-file=\"\"\n"),
             Catch::Contains("is empty"));
  if (geteuid() != 0) { // root reads any file
    auto locked = tmp.file("locked", password);
    REQUIRE(chmod(locked.c_str(), 0) == 0);
    CHECK_THAT(refusal(with("--exapool.password-file=" + locked), locked),
               Catch::Contains("cannot be read"));
  }
  // Named by the environment, the error says so.
  setenv("EXAPOOL_PASSWORD_FILE", missing.c_str(), 1);
  refusal(base, "EXAPOOL_PASSWORD_FILE");
}

TEST_CASE("a password variable that is unset or empty is refused by name", "[credentials_config]") {
  clean_environment env;
  std::vector<std::string> args{"--exapool.dsn=db:8563", "--exapool.user=u",
                                "--exapool.password-env=INIT11_TEST_PASSWORD"};
  CHECK_THAT(refusal(args, "INIT11_TEST_PASSWORD"), Catch::Contains("is not set"));
  setenv("INIT11_TEST_PASSWORD", "", 1);
  CHECK_THAT(refusal(args, "INIT11_TEST_PASSWORD"), Catch::Contains("is empty"));
  setenv("EXAPOOL_PASSWORD_ENV", "INIT11_TEST_PASSWORD", 1);
  CHECK_THAT(refusal({"--exapool.dsn=db:8563", "--exapool.user=u"}, "EXAPOOL_PASSWORD_ENV"),
             Catch::Contains("is empty"));
}

TEST_CASE("a missing DSN or user, or two password sources, are refused by name",
          "[credentials_config]") {
  clean_environment env;
  refusal({"--exapool.user=u"}, "exapool.dsn (or EXAPOOL_DSN)");
  refusal({"--exapool.dsn=db:8563"}, "exapool.user (or EXAPOOL_USER)");
  scratch tmp;
  refusal({"--exapool.dsn=db:8563", "--exapool.user=u",
           "--exapool.password-file=" + tmp.file("pw", password),
           "--exapool.password-env=INIT11_TEST_PASSWORD"},
          "exapool.password-file and exapool.password-env are both set");
}

TEST_CASE("the password and the init SQL never appear in the printed credentials",
          "[credentials_config]") {
  clean_environment env;
  scratch tmp;
  auto creds = from({"--exapool.dsn=db:8563", "--exapool.user=u",
                     "--exapool.password-file=" + tmp.file("pw", password),
                     R"(--exapool.init-sql=["CREATE CONNECTION c TO 'x' IDENTIFIED BY 'k-9'"])"});
  REQUIRE(creds.password.value == password);
  auto printed = caf::deep_to_string(creds);
  CHECK(printed.find(password) == std::string::npos);
  CHECK(printed.find("k-9") == std::string::npos);
  CHECK_THAT(printed, Catch::Contains("<redacted>"));
  CHECK_THAT(printed, Catch::Contains("1 init SQL statement"));
  CHECK_THAT(printed, Catch::Contains("db:8563"));
}

TEST_CASE("session attributes come from their options and stay unset without them",
          "[credentials_config]") {
  clean_environment env;
  std::vector<std::string> base{"--exapool.dsn=db:8563", "--exapool.user=u"};
  auto plain = from(base);
  CHECK_FALSE(plain.snapshot_transactions);
  CHECK_FALSE(plain.timestamp_utc);
  CHECK_FALSE(plain.numeric_characters);
  CHECK_FALSE(plain.feedback_interval_s);
  CHECK_FALSE(plain.result_set_max_rows);

  auto args = base;
  for (std::string option : {"--exapool.snapshot-transactions", "--exapool.timestamp-utc",
                             "--exapool.numeric-characters=,.", "--exapool.feedback-interval=5",
                             "--exapool.result-set-max-rows=0"})
    args.push_back(option);
  auto set = from(args);
  CHECK(set.snapshot_transactions == caf::optional<bool>(true));
  CHECK(set.timestamp_utc == caf::optional<bool>(true)); // a flag on the command line
  CHECK(set.numeric_characters == caf::optional<std::string>(",."));
  CHECK(set.feedback_interval_s == caf::optional<int>(5));
  CHECK(set.result_set_max_rows == caf::optional<std::uint64_t>(0));

  auto ini = from({}, "[exapool]\ndsn=\"db:8563\"\nuser=\"u\"\nsnapshot-transactions=false\n"
                      "timestamp-utc=true\nnumeric-characters=\".,\"\nfeedback-interval=2\n"
                      "result-set-max-rows=100\n");
  CHECK(ini.snapshot_transactions == caf::optional<bool>(false));
  CHECK(ini.timestamp_utc == caf::optional<bool>(true));
  CHECK(ini.numeric_characters == caf::optional<std::string>(".,"));
  CHECK(ini.feedback_interval_s == caf::optional<int>(2));
  CHECK(ini.result_set_max_rows == caf::optional<std::uint64_t>(100));
}

TEST_CASE("session attribute values out of range are refused by option name",
          "[credentials_config]") {
  clean_environment env;
  auto with = [](const std::string& option) {
    return std::vector<std::string>{"--exapool.dsn=db:8563", "--exapool.user=u", option};
  };
  for (std::string chars : {".", "..", ".,;", "", "\xc3\xa9"}) { // é: two bytes, one character
    INFO("numeric-characters '" << chars << "'");
    refusal({}, "exapool.numeric-characters",
            "[exapool]\ndsn=\"db:8563\"\nuser=\"u\"\nnumeric-characters=\"" + chars + "\"\n");
  }
  CHECK_THAT(refusal(with("--exapool.feedback-interval=0"), "exapool.feedback-interval"),
             Catch::Contains("at least 1"));
  refusal(with("--exapool.feedback-interval=-3"), "exapool.feedback-interval");
  // The default socket timeout is 30 s: heartbeats 30 s apart would let a long query time out.
  refusal(with("--exapool.feedback-interval=30"), "exapool.feedback-interval");
  CHECK(from(with("--exapool.feedback-interval=29")).feedback_interval_s == caf::optional<int>(29));
  CHECK_THAT(refusal(with("--exapool.result-set-max-rows=-1"), "exapool.result-set-max-rows"),
             Catch::Contains("must not be negative"));
}

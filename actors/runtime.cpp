#include "actors/runtime.hpp"

#include "actors/metrics_endpoint.hpp"
#include "actors/pool_node_front.hpp"
#include "actors/remote.hpp"
#include "actors/request_errors.hpp"
#include "integration/event_loop/event_loop.hpp"
#include "integration/exasol/io_threads.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/duration.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

namespace exapool {

namespace {

std::string render_exapool(std::uint8_t code, caf::atom_value, const caf::message& context) {
  std::string text = "exapool " + to_string(static_cast<pool_errc>(code));
  if ((context.size() == 1 || context.size() == 2) && context.match_element<std::string>(0))
    text += ": " + context.get_as<std::string>(0);
  return text;
}

// The runtime's own I/O threads, for a system that does not run on exapool's event loop, when
// its connections use the real client (a custom factory brings its own I/O, so a runtime over
// fakes starts no thread unless it serves metrics).
std::unique_ptr<exasol::io_threads> make_io_threads(const runtime_config& config) {
  // A service node's connections are the pool node's.
  if (config.make_backend || !config.pool_node.empty())
    return config.metrics_port ? std::make_unique<exasol::io_threads>(1) : nullptr;
  return std::make_unique<exasol::io_threads>(config.io_threads);
}

// A runtime_config made in code is checked as the options are (runtime_options.cpp).
runtime_config checked(runtime_config config) {
  if (config.io_threads == 0)
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: io_threads (exapool.io-threads) must be at "
                        "least 1");
  if (config.initialization_fail_timeout.count() < 0)
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: initialization_fail_timeout "
                        "(exapool.initialization-fail-timeout) must not be negative (0: no check)");
  if (!config.pool.name.empty())
    if (auto err = check_pool_name(config.pool.name, "pool_config::name (exapool.pool-name)"))
      throw runtime_error(pool_errc::invalid_config, "exapool invalid_config: " + context_of(err));
  if (!config.pool_node.empty()) {
    static_cast<void>(split_host_port(config.pool_node, "pool_node (exapool.pool-node)"));
    if (config.remote_port || config.make_backend)
      throw runtime_error(pool_errc::invalid_config,
                          "exapool invalid_config: a runtime with pool_node (exapool.pool-node) "
                          "has no pools of its own: it cannot serve remote_port "
                          "(exapool.remote-port) nor use make_backend");
  }
  return config;
}

// The options that need CAF's io middleman in the actor system, named for an error; empty when
// none is set.
std::string middleman_options(const runtime_config& config) {
  std::string names;
  auto add = [&](bool set, const char* name) {
    if (set)
      names += (names.empty() ? "" : ", ") + std::string(name);
  };
  add(config.admin_port.has_value(), "exapool.admin-port");
  add(config.remote_port.has_value(), "exapool.remote-port");
  add(!config.pool_node.empty(), "exapool.pool-node");
  return names;
}

[[noreturn]] void throw_error(caf::actor_system& sys, const caf::error& err) {
  auto code = code_of(err);
  if (code == pool_errc::none)
    throw runtime_error(pool_errc::none, "exapool: " + sys.render(err));
  auto info = info_of(err);
  throw runtime_error(code,
                      "exapool " + to_string(code) + (info.text.empty() ? "" : ": ") + info.text,
                      std::move(info.sql_code));
}

} // namespace

runtime_config runtime_config::from_environment() {
  runtime_config config;
  auto size = pool_size_from_environment();
  if (!size)
    throw runtime_error(code_of(size.error()), "exapool " + to_string(code_of(size.error())) +
                                                   ": " + context_of(size.error()));
  config.pool.max_size = *size;
  return config;
}

runtime_error::runtime_error(pool_errc code, const std::string& text, std::string sql_code)
    : std::runtime_error(text), code_(code), sql_code_(std::move(sql_code)) {}

void runtime::configure(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, render_exapool);
  register_wire_types(cfg); // for remote sessions, on both sides
  // Actors and sockets on one event loop: a statement's hops between the runtime's actors and
  // its socket completions wake no other thread (integration/event_loop/event_loop.hpp). Measured
  // with bench/run_suite.sh --only=b1 (see bench/README.md, B1).
  load_event_loop(cfg);

  // CAF's idle workers poll in 50 us sleeps for 500 rounds ("moderate") before they wait on a
  // condition variable; a connection's reply then waits for the next poll, and the polling
  // burns the cores the connections need. Measured with bench/end_to_end_bench (SELECT 1 over
  // exasim): p50 at 1 session 0.33 -> 0.19 ms, client CPU per query at 32 sessions -15 %.
  // Set before parsing, so --work-stealing.moderate-poll-attempts still overrides it.
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  // One scheduler thread: the runtime's actors only pass messages (blocking connection I/O runs
  // on threads of their own), and on one thread a statement's hops between session, pool and
  // connection need no wake-up of another core, nor work stealing across 10,000 borrowers.
  // Measured on 2 cores against CAF's default of one thread per core: end_to_end_bench SELECT 1
  // at 32 sessions, exapool / tuned lock pool 0.64-0.73x -> 0.81-0.90x; pool_bench cost per
  // cycle at 10,000 vs 64 borrowers 1.48-1.68x -> 1.00-1.05x, same cycles/s at 64. Set before
  // parsing, so --scheduler.max-threads still overrides it.
  cfg.set("scheduler.max-threads", std::size_t{1});
}

runtime::runtime(runtime_config config) : config_(checked(std::move(config))) {
  own_config_ = std::make_unique<caf::actor_system_config>();
  configure(*own_config_);
  // On the event loop the scheduler's threads are the I/O threads.
  own_config_->set("scheduler.max-threads",
                   std::max({config_.scheduler_threads, config_.io_threads, std::size_t{1}}));
  if (!middleman_options(config_).empty())
    own_config_->load<caf::io::middleman>();
  own_system_ = std::make_unique<caf::actor_system>(*own_config_);
  system_ = own_system_.get();
  start();
  prewarm_at_start();
}

runtime::runtime(caf::actor_system& system, runtime_config config)
    : config_(checked(std::move(config))), system_(&system) {
  if (auto names = middleman_options(config_); !names.empty() && !system.has_middleman())
    throw runtime_error(pool_errc::invalid_config,
                        "exapool invalid_config: " + names +
                            " needs CAF's io middleman in "
                            "the actor system: call cfg.load<caf::io::middleman>() on its "
                            "actor_system_config before making it");
  start();
  prewarm_at_start();
}

void runtime::start() {
  // The system's event loop when it runs on one, else threads of the runtime's own.
  io_threads_ = event_loop_of(*system_);
  if (!io_threads_) {
    io_ = make_io_threads(config_);
    io_threads_ = io_.get();
  }
  if (!config_.pool_node.empty()) {
    // A wrong address fails here, in the constructor; later losses reconnect in the front.
    auto [host, port] = split_host_port(config_.pool_node, "exapool.pool-node");
    auto remote = connect_pool_node(*system_, host, port, config_.slack);
    // Half the slack: the front's error, naming the node, reaches a session before the
    // session's own lookup guard (the slack) fires with a vaguer one.
    supervisor_ = spawn_service_node_front(*system_, {host, port, config_.slack / 2}, remote);
  } else {
    start_supervisor();
  }
  if (!config_.admin_port && !config_.metrics_port && !config_.remote_port)
    return;
  try {
    if (config_.admin_port)
      start_admin();
    if (config_.metrics_port)
      start_metrics();
    if (config_.remote_port)
      start_remote();
  } catch (...) {
    // No destructor runs after a throwing constructor: stop what runs, or the system hangs.
    stop_remote();
    stop_metrics();
    stop_admin();
    caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
    supervisor_ = nullptr;
    throw;
  }
}

void runtime::start_supervisor() {
  supervisor_config sup;
  sup.pool = config_.pool;
  sup.make_backend = config_.make_backend;
  sup.io = config_.make_backend ? nullptr : io_threads_;
  sup.request_slack = config_.slack;
  sup.limits = config_.limits;
  sup.log = std::make_shared<const logger>(config_.log);
  supervisor_ = spawn_supervisor(*system_, std::move(sup));
}

// No destructor runs after a throwing constructor: a failed prewarm stops what started (the
// pools, the supervisor, an own actor system) before the error leaves the constructor.
void runtime::prewarm_at_start() {
  try {
    for (const auto& creds : config_.prewarm_at_start)
      prewarm(creds, std::max<std::size_t>(config_.pool.min_idle, 1));
  } catch (...) {
    stop();
    throw;
  }
}

void runtime::start_admin() {
  admin_ = spawn_admin(*system_, supervisor_, 2 * config_.slack);
  admin_port_ = publish_admin(*system_, admin_, config_.admin_host, *config_.admin_port);
}

// Closes the port first (on a system the runtime attached to, it would stay open otherwise).
void runtime::stop_admin() {
  if (!admin_)
    return;
  if (admin_port_ != 0)
    static_cast<void>(system_->middleman().unpublish(admin_, admin_port_));
  caf::anon_send_exit(admin_, caf::exit_reason::user_shutdown);
  admin_ = nullptr;
  admin_port_ = 0;
}

std::uint16_t runtime::admin_port() const {
  return admin_port_;
}

void runtime::start_metrics() {
  metrics_ = std::make_unique<metrics_endpoint>(*system_, supervisor_, 2 * config_.slack,
                                                io_threads_->executor(), config_.metrics_host,
                                                *config_.metrics_port);
}

// Before the actor system and the I/O threads go: no request reaches them afterwards.
void runtime::stop_metrics() {
  if (metrics_)
    metrics_->stop();
  metrics_.reset();
}

std::uint16_t runtime::metrics_port() const {
  return metrics_ ? metrics_->port() : 0;
}

void runtime::start_remote() {
  remote_front_ = spawn_pool_node_front(*system_, supervisor_);
  remote_port_ =
      publish_pool_node(*system_, remote_front_, config_.remote_host, *config_.remote_port);
}

// The port closes first: no service node reaches the pools while they drain.
void runtime::stop_remote() {
  if (!remote_front_)
    return;
  if (remote_port_ != 0)
    static_cast<void>(system_->middleman().unpublish(remote_front_, remote_port_));
  caf::anon_send_exit(remote_front_, caf::exit_reason::user_shutdown);
  remote_front_ = nullptr;
  remote_port_ = 0;
}

std::uint16_t runtime::remote_port() const {
  return remote_port_;
}

// The order matters for the I/O threads: a connection's disconnect completes on them, and a
// connection's backend (held by its actor and its pool) refers to them until it is destroyed.
// So: shutdown (every pool closes all its connections and confirms once their actors are down,
// then the pool stops), the supervisor stops, the actors are gone, and only then the I/O
// threads stop (their destructor stops the io_context and joins them).
runtime::~runtime() {
  stop();
}

void runtime::stop() noexcept {
  if (!supervisor_)
    return; // stopped already (a constructor that failed to prewarm)
  stop_metrics();
  stop_admin();
  stop_remote();
  if (!config_.pool_node.empty()) {
    stop_front(); // a service node: its sessions end, the pool node's pools stay
    supervisor_ = nullptr;
    own_system_.reset();
    io_.reset();
    return;
  }
  bool closed = true;
  try {
    shutdown();
  } catch (const std::exception&) {
    // The pools answered late or not at all; stopping the supervisor below still ends them.
    closed = false;
  }
  if (own_system_) {
    caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
    supervisor_ = nullptr;
    own_system_.reset(); // waits for every actor (sessions end with the supervisor)
    io_.reset();         // no actor is left to use them
    return;
  }
  // A system the runtime attached to lives on, with its other actors: wait for the supervisor
  // itself to be gone (its factory refers to the I/O threads).
  bool supervisor_gone = false;
  {
    caf::scoped_actor self{*system_};
    self->monitor(supervisor_);
    self->send_exit(supervisor_, caf::exit_reason::user_shutdown);
    self->receive([&](const caf::down_msg&) { supervisor_gone = true; },
                  caf::after(config_.slack) >> [] {});
  }
  supervisor_ = nullptr;
  if (io_ && !(closed && supervisor_gone)) {
    // A pool that did not confirm may still have connections whose I/O runs on these threads,
    // and their actors live on in the user's system: destroying the io_context under them
    // would be a use-after-free. The threads are left running (leaked) instead.
    static_cast<void>(io_.release());
  }
  io_.reset();
}

caf::actor_system& runtime::system() {
  return *system_;
}

const supervisor_actor& runtime::supervisor() const {
  return supervisor_;
}

session_actor runtime::spawn_session(const credentials& creds) {
  return exapool::spawn_session(*system_, supervisor_, creds,
                                session_config_for(config_.pool, config_.slack));
}

proxy_session_actor runtime::spawn_proxy_session(const credentials& creds, proxy_mode mode) {
  return exapool::spawn_proxy_session(*system_, supervisor_, creds,
                                      session_config_for(config_.pool, config_.slack), mode);
}

template <class T, class... Ts> T runtime::ask(caf::timespan timeout, const Ts&... xs) {
  caf::scoped_actor self{*system_};
  std::optional<T> value;
  caf::error failure;
  self->request(supervisor_, timeout, xs...)
      .receive([&](T& x) { value = std::move(x); },
               [&](caf::error& err) {
                 failure =
                     exapool_error_from(err, pool_errc::pool_failed, "runtime request", timeout);
               });
  if (!value)
    throw_error(*system_, failure);
  return std::move(*value);
}

// A blocking statement runs in a session of its own, which ends right after.
template <class T, class Request>
T runtime::ask_session(const credentials& creds, Request request) {
  auto session = spawn_session(creds);
  caf::scoped_actor self{*system_};
  std::optional<T> value;
  caf::error failure;
  // The session answers first, with its own verdict: the statement guard (acquire_timeout and
  // the client's limits) or, without a query timeout, whenever the server does. This limit
  // only backs it up, so reaching it means the statement was given up, not that a connection
  // was lost.
  auto config = session_config_for(config_.pool, config_.slack);
  std::optional<caf::timespan> limit;
  if (auto guard = statement_guard(creds, config))
    limit = config.acquire_timeout + *guard + config_.slack;
  request(self, session, limit ? caf::duration{*limit} : caf::duration{caf::infinite})
      .receive([&](T& x) { value = std::move(x); },
               [&](caf::error& err) {
                 auto code = err == caf::sec::request_timeout ? pool_errc::statement_aborted
                                                              : pool_errc::connection_lost;
                 failure =
                     exapool_error_from(err, code, "statement", limit.value_or(caf::timespan{0}));
               });
  self->send_exit(session, caf::exit_reason::user_shutdown);
  if (!value)
    throw_error(*system_, failure);
  return std::move(*value);
}

query_result runtime::execute(const credentials& creds, const std::string& sql) {
  return ask_session<query_result>(creds, [&](auto& self, auto& session, caf::duration t) {
    return self->request(session, t, execute_atom::value, sql);
  });
}

exasol::result_set runtime::query(const credentials& creds, const std::string& sql) {
  return ask_session<exasol::result_set>(creds, [&](auto& self, auto& session, caf::duration t) {
    return self->request(session, t, query_atom::value, sql);
  });
}

// initialization_fail_timeout: the first attempt opens n at once; while none opened, one
// probe at a time after the pool's backoff (initial, doubling to max) until the time is up.
// A refusal by the server (credentials, certificate) is not waited out.
prewarm_report runtime::prewarm(const credentials& creds, std::size_t n) {
  using clock = std::chrono::steady_clock;
  auto once = [&](std::size_t k) {
    auto timeout = (creds.connect_timeout + config_.pool.validation_timeout) *
                       static_cast<long>(std::max<std::size_t>(k, 1)) +
                   2 * config_.slack;
    return ask<prewarm_report>(timeout, prewarm_atom::value, creds, k);
  };
  auto limit = config_.initialization_fail_timeout;
  auto deadline = clock::now() + limit;
  auto report = once(n);
  if (limit.count() <= 0)
    return report;
  auto pause = config_.pool.backoff_initial;
  while (report.opened == 0 && !report.failures.empty()) {
    auto now = clock::now();
    bool refused = report.cause == pool_errc::authentication_failed ||
                   report.cause == pool_errc::untrusted_server;
    if (refused || now >= deadline) {
      auto code = report.cause == pool_errc::none ? pool_errc::connect_failed : report.cause;
      auto why = refused ? std::string("the server refused it")
                         : "none within " + describe_span(limit) +
                               " (exapool.initialization-fail-timeout)";
      throw runtime_error(code, "exapool " + to_string(code) + ": prewarm: no connection for " +
                                    pool_label(creds) + " opened, " + why +
                                    "; last failure: " + report.failures.back());
    }
    std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, config_.pool.backoff_max);
    report = once(1); // one probe, then the rest
    if (report.opened > 0 && n > 1)
      report = once(n);
  }
  return report;
}

prewarm_report runtime::prewarm(const credentials& creds) {
  auto size = pool_size_from_environment();
  if (!size)
    throw_error(*system_, size.error());
  return prewarm(creds, *size);
}

pool_stats runtime::stats(const credentials& creds) {
  return ask<pool_stats>(2 * config_.slack, stats_atom::value, creds);
}

std::vector<pool_stats> runtime::stats() {
  return ask<std::vector<pool_stats>>(2 * config_.slack, stats_atom::value);
}

std::size_t runtime::pool_restarts() {
  return ask<std::size_t>(config_.slack, stats_atom::value, pool_atom::value);
}

// A service node's front (and with it every session of this runtime) ends; waits for it.
void runtime::stop_front() noexcept {
  caf::scoped_actor self{*system_};
  self->monitor(supervisor_);
  self->send_exit(supervisor_, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {}, caf::after(config_.slack) >> [] {});
}

std::vector<pool_stats> runtime::shutdown() {
  if (!config_.pool_node.empty()) {
    stop_front();
    return {};
  }
  // The supervisor answers within its deadline (grace, the pools' close bound, slack): this
  // only guards against a supervisor that cannot answer at all.
  auto timeout = shutdown_deadline(config_.pool, config_.slack) + config_.slack;
  return ask<std::vector<pool_stats>>(timeout, shutdown_atom::value);
}

} // namespace exapool

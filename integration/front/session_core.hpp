// The protocol logic of one connection, independent of Beast: the login state machine,
// command dispatch, attributes, result handles, query latency, timeouts, aborts and
// heartbeats. It runs on its connection's strand; the engine's calls complete on any thread
// and come back to the strand with their result.
#pragma once

#include "integration/front/attributes.hpp"
#include "integration/front/engine.hpp"
#include "integration/front/protocol.hpp"
#include "integration/front/transport.hpp"

#include "integration/exasol/codec.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace exafront {

class front_state;

class session_core : public std::enable_shared_from_this<session_core> {
public:
  session_core(std::shared_ptr<front_state> state, std::weak_ptr<transport> connection,
               boost::asio::any_io_executor strand);
  ~session_core();

  // On the strand, once: a connection that has not logged in by `login_deadline` is dropped
  // (time_point::max(): never).
  void start(std::chrono::steady_clock::time_point login_deadline);

  // On the strand: one complete WebSocket data message, and the end of the connection.
  void on_message(std::string payload, bool binary);
  void on_closed();

  // From any thread.
  void drop();            // KILL SESSION, server::drop_session
  void abort_statement(); // KILL STATEMENT: the running query ends with R0003
  void interrupt_engine();

private:
  enum class phase { awaiting_login, awaiting_credentials, logging_in, logged_in, closing };
  using engine_job = std::function<void(engine_session&, attribute_set&, done<execution>)>;
  using execution_handler = std::function<void(execution)>;

  void handle(boost::json::object request);
  void handle_while_busy(const boost::json::object* request);
  void handle_login(const boost::json::object& request, bool token);
  void handle_credentials(const boost::json::object& request);
  void finish_login(bool readable, login_request login, boost::json::object request);
  void on_session_opened(session_row row, login_outcome outcome);
  void fail_login(const sql_error& refusal);
  void on_login_deadline();
  // Frees result rows on a worker thread (5 M rows take a while to free).
  void release_rows(std::vector<std::shared_ptr<const result_set>> rows);
  void dispatch(const std::string& command, boost::json::object& request);

  void cmd_execute(const boost::json::object& request);
  void cmd_execute_batch(const boost::json::object& request);
  void cmd_fetch(const boost::json::object& request);
  void cmd_close_result_set(const boost::json::object& request);
  void cmd_result_set_header(const boost::json::object& request);
  void cmd_create_prepared(const boost::json::object& request);
  void cmd_execute_prepared(const boost::json::object& request);
  void cmd_close_prepared(const boost::json::object& request);
  void cmd_set_attributes(const boost::json::object& request);

  // A query: optional latency (abortable), queryTimeout, heartbeats, then the engine job.
  void run_query(engine_job job, execution_handler done);
  void start_engine_job(std::uint64_t query, engine_job job, execution_handler done);
  void end_query_early(std::uint64_t query, const char* sql_code, const char* text);
  void arm_heartbeat(std::uint64_t query);
  void arm_timeout(std::uint64_t query);
  void abort_running(bool timeout);
  void respond_execution(execution result);

  template <class Work, class Done> void on_worker(Work work, Done done);
  // A completion for the engine: runs `then` on the strand, unless the connection is gone.
  template <class T> done<T> on_strand(std::function<void(T)> then);

  void begin_request();
  // Ends the request in flight: the attributes it changed (none before login).
  boost::json::object finish_request();
  void respond(boost::json::object response);
  void send_deferred();
  void send(const boost::json::object& message);
  void send_text(std::string text);
  void protocol_violation(const std::string& text);
  std::string suffix() const;

  std::shared_ptr<front_state> state_;
  std::weak_ptr<transport> connection_;
  boost::asio::any_io_executor strand_;
  boost::asio::steady_timer latency_timer_, timeout_timer_, heartbeat_timer_, login_timer_;

  phase phase_ = phase::awaiting_login;
  bool busy_ = false;   // a request is in flight: its response is not sent yet
  bool closed_ = false; // the connection is gone
  bool compression_ = false;
  bool compression_requested_ = false;
  bool token_login_ = false;
  int protocol_version_ = 1;
  std::optional<exasol::codec::rsa_key_pair> key_;
  std::vector<boost::json::object> deferred_; // answers to requests sent while busy

  std::uint64_t session_id_ = 0;
  attribute_set attributes_;
  // The attributes when the request in flight began, to report what it changed; none between
  // requests, so an idle session holds no second copy (1.2-1.4 KB, bench/proxy_idle_bench).
  std::optional<attribute_set> attributes_before_;
  result_store results_;
  std::mutex engine_mutex_; // guards engine_ for interrupt_engine() from other threads
  std::unique_ptr<engine_session> engine_;

  // The running query, if any.
  std::uint64_t query_ = 0; // increases per query; stale timer callbacks compare it
  bool running_ = false, in_engine_ = false, aborted_ = false, timed_out_ = false;
};

} // namespace exafront

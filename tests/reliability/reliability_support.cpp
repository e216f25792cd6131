#include "tests/reliability/reliability_support.hpp"

namespace exapool::reliability {

namespace {

using outcome_atom = caf::atom_constant<caf::atom("outcome")>;

struct driver_state {
  session_actor session;
  std::string sql;
  steady::time_point stop_at;
  caf::timespan request_limit;
  caf::actor report_to;
  outcomes seen;
  static inline const char* name = "exapool.test.load_driver";
};

using driver_pointer = caf::stateful_actor<driver_state>*;

void record_failure(driver_pointer self, const caf::error& err) {
  auto& seen = self->state.seen;
  auto code = code_of(err);
  auto name = code != pool_errc::none ? to_string(code) : self->system().render(err);
  ++seen.failed_by_code[name];
  auto text = context_of(err);
  if (code != pool_errc::none && text.empty())
    ++seen.empty_texts;
  if (seen.sample_errors.size() < 2)
    seen.sample_errors.push_back(name + ": " + text);
}

void next_statement(driver_pointer self) {
  auto& st = self->state;
  if (steady::now() >= st.stop_at) {
    self->send(st.report_to, outcome_atom::value, std::move(st.seen));
    self->send_exit(st.session, caf::exit_reason::user_shutdown);
    self->quit();
    return;
  }
  auto started = steady::now();
  auto took = [started] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - started).count();
  };
  self->request(st.session, st.request_limit, execute_atom::value, st.sql)
      .then(
          [self, took](query_result&) {
            ++self->state.seen.answered;
            self->state.seen.longest_ns = std::max(self->state.seen.longest_ns, took());
            next_statement(self);
          },
          [self, took](caf::error& err) {
            record_failure(self, err);
            self->state.seen.longest_ns = std::max(self->state.seen.longest_ns, took());
            next_statement(self);
          });
}

caf::behavior load_driver(driver_pointer self, session_actor session, std::string sql,
                          steady::time_point stop_at, caf::timespan request_limit,
                          caf::actor report_to) {
  auto& st = self->state;
  st.session = std::move(session);
  st.sql = std::move(sql);
  st.stop_at = stop_at;
  st.request_limit = request_limit;
  st.report_to = std::move(report_to);
  next_statement(self);
  return {[](outcome_atom) {}};
}

} // namespace

outcomes run_load(runtime& rt, const credentials& creds, int sessions, const std::string& sql,
                  steady::duration run_for, caf::timespan request_limit) {
  caf::scoped_actor self{rt.system()};
  auto stop_at = steady::now() + run_for;
  for (int i = 0; i < sessions; ++i)
    rt.system().spawn(load_driver, rt.spawn_session(creds), sql, stop_at, request_limit,
                      caf::actor_cast<caf::actor>(self));
  outcomes total;
  auto wait = std::chrono::duration_cast<caf::timespan>(run_for) + request_limit + hang_guard;
  for (int i = 0; i < sessions; ++i)
    self->receive(
        [&](outcome_atom, outcomes& seen) {
          total.answered += seen.answered;
          for (auto& [code, count] : seen.failed_by_code)
            total.failed_by_code[code] += count;
          for (auto& text : seen.sample_errors)
            if (total.sample_errors.size() < 4)
              total.sample_errors.push_back(text);
          total.empty_texts += seen.empty_texts;
          total.longest_ns = std::max(total.longest_ns, seen.longest_ns);
        },
        caf::after(wait) >> [&] { FAIL("a load driver did not report within the hang guard"); });
  return total;
}

} // namespace exapool::reliability

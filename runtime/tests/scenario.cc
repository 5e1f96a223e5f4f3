// SPDX-License-Identifier: Apache-2.0
// scenario.cc — running test scenarios on either platform (see scenario.h).
#include "runtime/tests/scenario.h"

#include <algorithm>
#include <sstream>

#include "base/check.h"

namespace ifz::rt::testing {

using platform::RunResult;

size_t PreferChooser::pick(std::span<const platform::ThreadId> runnable, platform::ThreadId,
                           const platform::PointInfo&) {
  for (platform::ThreadId want : order_) {
    for (size_t i = 0; i < runnable.size(); ++i) {
      if (runnable[i] == want) return i;
    }
  }
  return 0;
}

size_t Director::pick(std::span<const ThreadId> runnable, ThreadId current,
                      const platform::PointInfo& where) {
  seen.push_back({current, where.kind, where.label ? where.label : ""});
  for (size_t i = 0; i < hold_at_.size(); ++i) {
    if (hold_at_[i].first == current && hold_at_[i].second == where.kind) {
      hold(current);
      hold_at_.erase(hold_at_.begin() + static_cast<long>(i));
      break;
    }
  }
  if (on_point) on_point(current, where);
  auto is_runnable = [&](ThreadId t) {
    return std::find(runnable.begin(), runnable.end(), t) != runnable.end();
  };
  const bool current_waits = where.kind == platform::Point::kWait;
  auto free = [&](ThreadId t) { return !held(t) && !(t == current && current_waits); };
  for (size_t i = 0; i < kicks_.size(); ++i) {
    if (is_runnable(kicks_[i])) {
      const ThreadId t = kicks_[i];
      kicks_.erase(kicks_.begin() + static_cast<long>(i));
      return index_of(runnable, t);
    }
  }
  for (ThreadId t : order) {
    if (is_runnable(t) && free(t)) return index_of(runnable, t);
  }
  if (is_runnable(current) && free(current)) return index_of(runnable, current);
  for (ThreadId t : runnable) {
    if (free(t)) return index_of(runnable, t);
  }
  for (ThreadId t : runnable) {
    if (!held(t)) return index_of(runnable, t);
  }
  return 0;
}

std::vector<std::string> Director::phases() const {
  std::vector<std::string> out;
  for (const Seen& s : seen) {
    if (s.kind == platform::Point::kPhase) out.push_back(s.label);
  }
  return out;
}

size_t index_of(std::span<const platform::ThreadId> runnable, platform::ThreadId t,
                platform::ThreadId fallback) {
  for (size_t i = 0; i < runnable.size(); ++i) {
    if (runnable[i] == t) return i;
  }
  for (size_t i = 0; i < runnable.size(); ++i) {
    if (runnable[i] == fallback) return i;
  }
  return 0;
}

size_t ScenarioResult::count(EventKind k) const {
  size_t n = 0;
  for (const Event& e : events) n += e.kind == k;
  return n;
}

std::vector<const Event*> ScenarioResult::all(EventKind k) const {
  std::vector<const Event*> out;
  for (const Event& e : events) {
    if (e.kind == k) out.push_back(&e);
  }
  return out;
}

bool ScenarioResult::fatal(const std::string& message) const {
  return outcome.kind == Outcome::Kind::kFatal && outcome.message == message;
}

bool ScenarioResult::exited_normally() const {
  return run.kind == RunResult::Kind::kExited && outcome.kind != Outcome::Kind::kFatal &&
         outcome.kind != Outcome::Kind::kCrash;
}

std::string ScenarioResult::summary() const {
  if (outcome.kind == Outcome::Kind::kFatal || outcome.kind == Outcome::Kind::kCrash) {
    return std::string(outcome_kind_name(outcome.kind)) + ": " + outcome.message;
  }
  if (run.kind == RunResult::Kind::kExited) return "exit " + std::to_string(run.exit_code);
  return std::string(platform::run_result_kind_name(run.kind)) + ": " + run.message;
}

std::vector<int64_t> ScenarioResult::pending_ran_in(int64_t call_id) const {
  std::vector<int64_t> out;
  for (const Event& e : events) {
    if (e.kind == EventKind::kPendingRun && e.a == call_id) out.push_back(e.interp);
  }
  return out;
}

std::vector<std::string> ScenarioResult::errors() const {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (e.kind == EventKind::kError) out.push_back(e.text);
  }
  return out;
}

std::vector<std::string> ScenarioResult::phases() const {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (e.kind == EventKind::kPhase) out.push_back(e.text);
  }
  return out;
}

namespace {
const std::vector<Event>* g_sim_events = nullptr;  // the running run_sim's recorder
}  // namespace

const std::vector<Event>* sim_events() { return g_sim_events; }

ScenarioResult run_sim(const std::string& profile, const Body& body, platform::Chooser* chooser,
                       DefectSet extra) {
  const Profile* p = find_profile(profile);
  IFZ_PRECONDITION(p != nullptr, "unknown profile");
  Recorder rec;
  g_sim_events = &rec.events;
  platform::SimulatedPlatform plat(chooser);
  ScenarioResult res;
  {
    Runtime rt(plat, *p, extra, &rec);
    res.run = plat.run("main", [&] { body(rt); });
    res.outcome = rt.outcome();
    res.canaries = rt.canaries();
  }
  g_sim_events = nullptr;
  res.events = std::move(rec.events);
  return res;
}

namespace {

// Events cross the sandbox pipe as one line each: "ev <kind> <thread> <interp> <a> <b> <c>
// <text>"; the runtime's own "outcome ..." line says how the process died.
class ReportingRecorder : public RuntimeObserver {
 public:
  explicit ReportingRecorder(platform::Platform& p) : p_(p) {}
  void on_event(const Event& e) override {
    std::ostringstream os;
    os << "ev " << static_cast<int>(e.kind) << ' ' << e.thread << ' ' << e.interp << ' ' << e.a
       << ' ' << e.b << ' ' << e.c << ' ' << e.text << '\n';
    p_.report(os.str());
  }

 private:
  platform::Platform& p_;
};

void parse_report(const std::string& report, ScenarioResult* res) {
  std::istringstream in(report);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "ev") {
      Event e;
      int kind = 0;
      ls >> kind >> e.thread >> e.interp >> e.a >> e.b >> e.c;
      e.kind = static_cast<EventKind>(kind);
      std::getline(ls, e.text);
      if (!e.text.empty() && e.text[0] == ' ') e.text.erase(0, 1);
      res->events.push_back(e);
    } else if (tag == "outcome") {
      std::string kind;
      ls >> kind >> res->outcome.exit_code;
      res->outcome.kind = kind == "fatal" ? Outcome::Kind::kFatal : Outcome::Kind::kCrash;
      std::getline(ls, res->outcome.message);
      if (!res->outcome.message.empty()) res->outcome.message.erase(0, 1);
    }
  }
}

}  // namespace

ScenarioResult run_native(const std::string& profile, const Body& body, DefectSet extra,
                          int watchdog_ms) {
  const Profile* p = find_profile(profile);
  IFZ_PRECONDITION(p != nullptr, "unknown profile");
  platform::NativeOptions opts;
  opts.watchdog_ms = watchdog_ms;
  platform::NativePlatform plat(opts);
  ScenarioResult res;
  res.run = plat.run([&] {
    // Never destroyed: the sandbox _exits right after the body, and threads the body left
    // running (daemons) may still use the runtime, as CPython's static _PyRuntime.
    auto* rec = new ReportingRecorder(plat);
    auto* rt = new Runtime(plat, *p, extra, rec);
    body(*rt);
  });
  parse_report(res.run.report, &res);
  return res;
}

std::vector<std::string> version_profiles() {
  std::vector<std::string> out;
  for (const Profile& p : all_profiles()) {
    if (p.is_release()) out.push_back(p.name);
  }
  return out;
}

std::vector<std::string> fixed_profiles() {
  std::vector<std::string> out;
  for (const Profile& p : all_profiles()) {
    if (!p.is_release()) out.push_back(p.name);
  }
  return out;
}

std::vector<std::string> profiles_where(const std::function<bool(const Profile&)>& keep) {
  std::vector<std::string> out;
  for (const Profile& p : all_profiles()) {
    if (keep(p)) out.push_back(p.name);
  }
  return out;
}

std::string release_of(const std::string& profile) {
  constexpr std::string_view kTwin = "-fixed";
  if (profile.size() > kTwin.size() && profile.ends_with(kTwin)) {
    return profile.substr(0, profile.size() - kTwin.size());
  }
  return profile;
}

bool release_in(const std::string& profile, std::initializer_list<std::string_view> releases) {
  const std::string r = release_of(profile);
  for (std::string_view v : releases) {
    if (r == v) return true;
  }
  return false;
}

ScenarioResult finalize_with_subinterp_nondaemon_thread(const std::string& profile,
                                                        DefectSet extra, bool* finished) {
  bool parked = false;
  bool released = false;
  if (finished != nullptr) *finished = false;
  FnChooser chooser([&](auto runnable, platform::ThreadId current, const auto& where) {
    if (current == 1 && where.kind == platform::Point::kSyscall) parked = true;
    const bool t_may_run = !parked || released;
    return index_of(runnable, t_may_run && current == 1 ? 1 : 0);
  });
  return run_sim(profile, [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [&] {
      rt.block("sleep");
      rt.run_bytecode(2);
      if (finished != nullptr) *finished = true;
    });
    rt.swap(main_t);
    released = true;  // from here the thread may wake whenever the main thread lets it
    rt.finalize();
  }, &chooser, extra);
}

}  // namespace ifz::rt::testing

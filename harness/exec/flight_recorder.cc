// SPDX-License-Identifier: Apache-2.0
// flight_recorder.cc — the shared mapping and its two sides.
#include "harness/exec/flight_recorder.h"

#include <sys/mman.h>

#include <csignal>

#include <atomic>
#include <cstring>

#include "base/check.h"

namespace ifz::harness {

namespace {

constexpr uint64_t kMagic = 0x49465a464c495431ull;  // "IFZFLIT1"
constexpr size_t kProgramBytes = size_t{1} << 20;
constexpr int kThreads = 64;  // threads whose op is kept (programs have fewer)

// One logged pick: fixed part, then `n` thread ids (uint32 each).
struct Entry {
  uint32_t current;
  uint32_t answer;
  uint32_t n;
  uint32_t kind;
  uint64_t label;
  uint64_t object;
};

FlightRecorder* g_active = nullptr;

}  // namespace

// invariant: written only by the process running executions; read by the parent only after
// that process ended (waitpid). The "last op" fields are written by every program thread of a
// native execution, so they are relaxed atomics (the value is a best guess of the last op
// either way); the log's length is ordered after its bytes (a reader never sees a length ahead
// of the data); a per-thread slot is written by its own thread only.
struct FlightRecorder::Header {
  uint64_t magic;
  std::atomic<int32_t> op_thread;
  std::atomic<int32_t> op;          // OpCode of the last op started, -1 before
  std::atomic<const char*> phase;   // a string literal: same address in the parent (fork)
  int32_t thread_op[kThreads];      // per simulated thread: the op it is in, -1 none
  const char* thread_phase[kThreads];  // and the phase when it started it
  int32_t crashed_thread;           // set by the fatal-signal handler, -1 before
  int32_t crash_signal;
  std::atomic<uint64_t> log_used;
  uint32_t overflow;
  uint32_t in_execution;
  uint64_t program_len;
  char program[kProgramBytes];
};

FlightRecorder::FlightRecorder(size_t log_bytes) {
  mapped_bytes_ = sizeof(Header) + log_bytes;
  void* m = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  IFZ_CHECK(m != MAP_FAILED, "FlightRecorder: mmap of the shared record failed");
  header_ = new (m) Header();
  header_->magic = kMagic;
  log_ = static_cast<uint8_t*>(m) + sizeof(Header);
  log_capacity_ = log_bytes;
  begin_execution();
  end_execution();
}

FlightRecorder::~FlightRecorder() {
  if (g_active == this) g_active = nullptr;
  munmap(header_, mapped_bytes_);
}

void FlightRecorder::begin_execution() {
  header_->op_thread = -1;
  header_->op = -1;
  header_->phase = "";
  for (int t = 0; t < kThreads; ++t) header_->thread_op[t] = -1;
  header_->crashed_thread = -1;
  header_->crash_signal = 0;
  header_->log_used.store(0, std::memory_order_release);
  header_->overflow = 0;
  header_->in_execution = 1;
}

void FlightRecorder::end_execution() { header_->in_execution = 0; }
bool FlightRecorder::in_execution() const { return header_->in_execution != 0; }

void FlightRecorder::note_op(int thread, OpCode op, const char* phase) {
  const char* const label = phase != nullptr ? phase : "";
  header_->op_thread.store(thread, std::memory_order_relaxed);
  header_->op.store(static_cast<int32_t>(op), std::memory_order_relaxed);
  header_->phase.store(label, std::memory_order_relaxed);
  if (thread >= 0 && thread < kThreads) {
    header_->thread_op[thread] = static_cast<int32_t>(op);
    header_->thread_phase[thread] = label;
  }
}

void FlightRecorder::note_crash(int thread, int sig) {
  if (header_->crashed_thread < 0) {
    header_->crashed_thread = thread;
    header_->crash_signal = sig;
  }
}

void FlightRecorder::note_program(const std::string& text) {
  const size_t n = std::min(text.size(), kProgramBytes);
  std::memcpy(header_->program, text.data(), n);
  header_->program_len = n;
}

void FlightRecorder::log_pick(std::span<const platform::ThreadId> runnable,
                              platform::ThreadId current, const platform::PointInfo& where,
                              size_t answer) {
  const uint64_t used = header_->log_used.load(std::memory_order_relaxed);
  const size_t bytes = sizeof(Entry) + runnable.size() * sizeof(uint32_t);
  if (header_->overflow != 0 || used + bytes > log_capacity_) {
    header_->overflow = 1;
    return;
  }
  Entry e{static_cast<uint32_t>(current), static_cast<uint32_t>(answer),
          static_cast<uint32_t>(runnable.size()), static_cast<uint32_t>(where.kind),
          reinterpret_cast<uint64_t>(where.label), reinterpret_cast<uint64_t>(where.object)};
  uint8_t* p = log_ + used;
  std::memcpy(p, &e, sizeof e);
  p += sizeof e;
  for (platform::ThreadId t : runnable) {
    const uint32_t id = static_cast<uint32_t>(t);
    std::memcpy(p, &id, sizeof id);
    p += sizeof id;
  }
  header_->log_used.store(used + bytes, std::memory_order_release);
}

namespace {
std::string op_name(int32_t code) {
  return code < 0 ? "" : std::string(op_info(static_cast<OpCode>(code)).name);
}
}  // namespace

std::string FlightRecorder::last_op_name() const {
  const int t = header_->crashed_thread;
  if (t >= 0 && t < kThreads && header_->thread_op[t] >= 0) return op_name(header_->thread_op[t]);
  return op_name(header_->op.load(std::memory_order_relaxed));
}

std::string FlightRecorder::last_op() const {
  const int t = header_->crashed_thread;
  const bool by_crash = t >= 0 && t < kThreads && header_->thread_op[t] >= 0;
  const int32_t op = by_crash ? header_->thread_op[t] : header_->op.load(std::memory_order_relaxed);
  const char* phase =
      by_crash ? header_->thread_phase[t] : header_->phase.load(std::memory_order_relaxed);
  if (op < 0) return "";
  std::string out = op_name(op) + " (T" + std::to_string(by_crash ? t : header_->op_thread.load(std::memory_order_relaxed));
  if (phase != nullptr && phase[0] != '\0') out += ", phase " + std::string(phase);
  return out + ")";
}

std::string FlightRecorder::program() const {
  return std::string(header_->program, header_->program_len);
}

bool FlightRecorder::overflowed() const { return header_->overflow != 0; }

namespace {

// Calls `fn(entry, runnable)` for every logged pick, in order.
template <typename Fn>
void for_each_entry(const uint8_t* log, uint64_t used, Fn fn) {
  std::vector<platform::ThreadId> runnable;
  uint64_t off = 0;
  while (off + sizeof(Entry) <= used) {
    Entry e;
    std::memcpy(&e, log + off, sizeof e);
    off += sizeof e;
    if (off + e.n * sizeof(uint32_t) > used) break;
    runnable.resize(e.n);
    for (uint32_t i = 0; i < e.n; ++i) {
      uint32_t id;
      std::memcpy(&id, log + off, sizeof id);
      off += sizeof id;
      runnable[i] = static_cast<platform::ThreadId>(id);
    }
    fn(e, std::span<const platform::ThreadId>(runnable));
  }
}

}  // namespace

Schedule FlightRecorder::schedule() const {
  Schedule s;
  for_each_entry(log_, header_->log_used.load(std::memory_order_acquire),
                 [&](const Entry& e, std::span<const platform::ThreadId> runnable) {
                   if (!runnable.empty()) s.picks.push_back(runnable[e.answer % runnable.size()]);
                 });
  return s;
}

size_t FlightRecorder::replay_into(platform::Chooser& c) const {
  size_t mismatches = 0;
  for_each_entry(log_, header_->log_used.load(std::memory_order_acquire),
                 [&](const Entry& e, std::span<const platform::ThreadId> runnable) {
                   if (runnable.empty()) return;
                   platform::PointInfo where;
                   where.kind = static_cast<platform::Point>(e.kind);
                   where.label = reinterpret_cast<const char*>(e.label);
                   where.object = reinterpret_cast<const void*>(e.object);
                   const size_t got = c.pick(runnable, static_cast<platform::ThreadId>(e.current),
                                             where) % runnable.size();
                   if (got != e.answer % runnable.size()) ++mismatches;
                 });
  return mismatches;
}

namespace {

const platform::Platform* g_running = nullptr;
constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction g_previous[65];

// Async-signal-safe: reads two pointers and a field, writes two ints into the mapping.
void on_fatal_signal(int sig) {
  if (g_active != nullptr && g_running != nullptr) {
    g_active->note_crash(static_cast<int>(g_running->current()), sig);
  }
  // Hand on: restore the previous action and return. A fault re-executes the faulting
  // instruction under it; abort() raises again once its handler returned.
  sigaction(sig, &g_previous[sig], nullptr);
}

}  // namespace

FlightRecorder* active_flight_recorder() { return g_active; }

void set_active_flight_recorder(FlightRecorder* r) {
  const bool install = g_active == nullptr && r != nullptr;
  g_active = r;
  if (!install) return;
  for (int sig : kFatalSignals) {
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(sig, &sa, &g_previous[sig]);
  }
}

void set_running_platform(const platform::Platform* p) { g_running = p; }

size_t LoggingChooser::pick(std::span<const platform::ThreadId> runnable,
                            platform::ThreadId current, const platform::PointInfo& where) {
  const size_t answer = inner_.pick(runnable, current, where) % runnable.size();
  recorder_.log_pick(runnable, current, where, answer);
  return answer;
}

}  // namespace ifz::harness

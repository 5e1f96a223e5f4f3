// SPDX-License-Identifier: Apache-2.0
// platform.cc — the backend-independent part of the platform interface.
// Defines Mutex/CondVar (thin forwarders to their Platform) and the enum name tables.
#include "runtime/platform/platform.h"

namespace ifz::platform {

const char* point_name(Point p) {
  switch (p) {
    case Point::kLock: return "lock";
    case Point::kUnlock: return "unlock";
    case Point::kWait: return "wait";
    case Point::kNotify: return "notify";
    case Point::kThreadStart: return "thread_start";
    case Point::kThreadExit: return "thread_exit";
    case Point::kSyscall: return "syscall";
    case Point::kPhase: return "phase";
    case Point::kFork: return "fork";
    case Point::kYield: return "yield";
    case Point::kWindow: return "window";
  }
  return "?";
}

const char* run_result_kind_name(RunResult::Kind k) {
  switch (k) {
    case RunResult::Kind::kExited: return "exited";
    case RunResult::Kind::kAborted: return "aborted";
    case RunResult::Kind::kDeadlock: return "deadlock";
    case RunResult::Kind::kStepLimit: return "step_limit";
    case RunResult::Kind::kSignaled: return "signaled";
    case RunResult::Kind::kHang: return "hang";
  }
  return "?";
}

// ---- Mutex: every operation is the backend's; the object only carries the state. ----------

namespace internal {
thread_local Platform* tls_guarded_platform = nullptr;
}  // namespace internal

void internal::guard_object(const void* object, const char* op) {
  if (Platform* p = tls_guarded_platform) {
    if (ObjectGuard* g = p->object_guard()) g->before_use(object, op);
  }
}

namespace {
// Before the object is read at all (its platform_ pointer is the first read): a lock inside
// freed memory ends the modelled process here, by the guard's verdict.
inline void guard(const void* object, const char* op) { internal::guard_object(object, op); }
}  // namespace

Mutex::Mutex(Platform& platform, const char* name) : platform_(&platform), name_(name) {
  platform_->mutex_init(*this);
}
Mutex::~Mutex() { platform_->mutex_destroy(*this); }
void Mutex::lock() {
  guard(this, "lock");
  platform_->mutex_lock(*this);
}
bool Mutex::try_lock() {
  guard(this, "lock");
  return platform_->mutex_try_lock(*this);
}
void Mutex::unlock() {
  guard(this, "unlock");
  platform_->mutex_unlock(*this);
}
void Mutex::reinit() { platform_->mutex_reinit(*this); }

// ---- CondVar ----------------------------------------------------------------------------------

CondVar::CondVar(Platform& platform, const char* name) : platform_(&platform), name_(name) {
  platform_->cond_init(*this);
}
CondVar::~CondVar() { platform_->cond_destroy(*this); }
void CondVar::wait(Mutex& m) {
  guard(this, "wait on");
  platform_->cond_wait(*this, m, /*micros=*/-1);
}
bool CondVar::wait_for(Mutex& m, int64_t micros) {
  guard(this, "wait on");
  // A negative timeout would turn into an untimed wait in the backend: clamp to "expire now".
  return platform_->cond_wait(*this, m, micros < 0 ? 0 : micros);
}
void CondVar::notify_one() {
  guard(this, "notify");
  platform_->cond_notify(*this, /*all=*/false, /*point=*/true);
}
void CondVar::notify_all() {
  guard(this, "notify");
  platform_->cond_notify(*this, /*all=*/true, /*point=*/true);
}
void CondVar::notify_all_while_exiting() {
  guard(this, "notify");
  platform_->cond_notify(*this, /*all=*/true, /*point=*/false);
}
void CondVar::reinit() { platform_->cond_reinit(*this); }

}  // namespace ifz::platform

// SPDX-License-Identifier: Apache-2.0
// user_sync.h — the program's own synchronisation objects: a threading.Lock
// (_thread.allocate_lock) or a threading.Event shared by Python code. Defines UserSync.
//
// These are not the runtime's: CPython never takes them for itself, and a program that waits
// on one nobody will release has made its own deadlock. Their platform objects carry names
// that start with kUserSyncPrefix, so that a deadlock report shows such a wait as
// "cond user L0 (lock user L0)" and harness/ can tell it from a wait inside the runtime.
// The wait itself (GIL released, then re-taken) is Runtime::user_lock_acquire /
// user_event_wait (user_sync.cc).
#pragma once

#include <string_view>

#include "runtime/platform/platform.h"

namespace ifz::rt {

/// The first word of every user object's lock and condition name.
inline constexpr std::string_view kUserSyncPrefix = "user ";

class UserSync {
 public:
  enum class Kind : uint8_t { kLock, kEvent };
  /// `name` must outlive the object and start with kUserSyncPrefix ("user L0").
  UserSync(platform::Platform& platform, Kind kind, const char* name)
      : kind(kind), mutex(platform, name), cond(platform, name) {}

  const Kind kind;
  // Guards `state`; held only between scheduling points of one call (a waiter releases it in
  // cond.wait), so it is free whenever every thread is blocked.
  platform::Mutex mutex;
  platform::CondVar cond;
  bool state = false;  // lock: locked; event: its flag is set
  // The Python object exists (created lazily by the first op that names it, in the main
  // interpreter: an Event's creation imports threading there). Read and written with the
  // main interpreter's GIL held.
  bool created = false;

  /// Fork child: the threads that waited vanished, and the lock word a vanished thread held
  /// in passing is free again; `state` stays (a threading.Lock held by another thread stays
  /// locked in the child, as in CPython, which does not reinitialise user locks).
  void after_fork_child() {
    if (mutex.owner() != mutex.platform().current()) mutex.reinit();
    cond.reinit();
  }
};

}  // namespace ifz::rt

// SPDX-License-Identifier: Apache-2.0
// contracts.cc — the contract table: one shape per contract of cpython-notes §4. Motifs are
// the §3 minimal triggers in .ifz vocabulary.
#include "properties/contracts.h"

#include <vector>

namespace ifz::properties {

using harness::ForkMode;
using harness::make_op;
using harness::Op;
using harness::OpCode;
using harness::StartKind;

namespace {

// ---- op builders (the .ifz line each one stands for is in its name) -------------------------

Op op(OpCode c) { return make_op(c); }
Op new_interp(uint8_t variant = 0) {
  Op o = make_op(OpCode::kNewInterp);
  o.variant = variant;
  return o;
}
Op swap_to(int interp) {
  Op o = make_op(OpCode::kSwap);
  o.interp = interp;
  return o;
}
Op fork(ForkMode mode, bool follow_child) {
  Op o = make_op(OpCode::kFork);
  o.variant = static_cast<uint8_t>(mode);
  o.follow_child = follow_child;
  return o;
}
Op pending(int kind, int target = -1) {  // kind: 0 noop, 1 touch, 2 rearm, 3 fail, 4 slow
  Op o = make_op(OpCode::kAddPending);
  o.variant = static_cast<uint8_t>(kind);
  o.interp = target;
  return o;
}
Op bytecode(int n) {
  Op o = make_op(OpCode::kRunBytecode);
  o.count = n;
  return o;
}
Op hold(rt::RuntimeLock lock, int points) {
  Op o = make_op(OpCode::kHoldLock);
  o.variant = static_cast<uint8_t>(lock);
  o.count = points;
  return o;
}
Op start_helper(StartKind kind) {  // starts "the next script" (kHelperSlot)
  Op o = make_op(OpCode::kStart);
  o.thread = kHelperSlot;
  o.variant = static_cast<uint8_t>(kind);
  return o;
}
Op signal(int n) {
  Op o = make_op(OpCode::kSignal);
  o.count = n;
  return o;
}
Op new_tstate(int interp) {
  Op o = make_op(OpCode::kNewTstate);
  o.interp = interp;
  return o;
}

constexpr uint8_t kIsolated = harness::kInterpIsolated;
constexpr uint8_t kOwnGil = harness::kInterpOwnGil;

// Role weights, in HelperRole order: threading, daemon, raw, c, atexit, fork child, by motif,
// threading atexit.
std::vector<int> roles(int threading, int daemon, int raw, int c, int atexit = 0, int fork_child = 0,
                       int by_motif = 0, int threading_atexit = 0) {
  return {threading, daemon, raw, c, atexit, fork_child, by_motif, threading_atexit};
}
Op register_helper(OpCode how) {  // atexit / threading_atexit of "the next script"
  Op o = make_op(how);
  o.thread = kHelperSlot;
  return o;
}

// What a helper thread does when nothing more specific is asked: hand the GIL around.
std::vector<Weighted> gil_traffic() {
  return {{OpCode::kRunBytecode, 4}, {OpCode::kBlock, 3}, {OpCode::kReleaseGil, 2},
          {OpCode::kAcquireGil, 2}, {OpCode::kYield, 1}};
}

// ---- G: the GIL --------------------------------------------------------------------------------

Shape shape_g1() {
  Shape s{"gil-traffic"};
  s.main_ops = gil_traffic();
  s.main_ops.push_back({OpCode::kNewInterp, 2});
  s.main_ops.push_back({OpCode::kSwap, 2});
  s.main_ops.push_back({OpCode::kEndInterp, 1});
  s.main_motifs = {{"own-gil interp", 2, {new_interp(kOwnGil), bytecode(2), swap_to(0)}}};
  s.helper_ops = gil_traffic();
  s.helper_ops.push_back({OpCode::kGilStateEnsure, 2});
  s.helper_ops.push_back({OpCode::kGilStateRelease, 2});
  s.helper_ops.push_back({OpCode::kNewInterp, 1});
  s.helper_ops.push_back({OpCode::kEndInterp, 1});
  s.helper_motifs = {{"C thread attaches", 2, {op(OpCode::kGilStateEnsure), bytecode(2), op(OpCode::kGilStateRelease)}}};
  s.role_weights = roles(3, 2, 1, 2);
  s.max_helpers = 3;
  s.finalize_percent = 50;
  return s;
}

Shape shape_g2() {
  Shape s{"interp-switching"};
  s.main_ops = {{OpCode::kNewInterp, 3}, {OpCode::kSwap, 3}, {OpCode::kRunBytecode, 4},
                {OpCode::kEndInterp, 2}, {OpCode::kMakePending, 1}, {OpCode::kReleaseGil, 1},
                {OpCode::kAcquireGil, 1}};
  s.main_motifs = {{"own GIL round trip", 3, {new_interp(kOwnGil), bytecode(1), swap_to(0), bytecode(1), swap_to(1)}},
                   {"isolated", 1, {new_interp(kIsolated), bytecode(1), op(OpCode::kEndInterp)}}};
  s.helper_ops = {{OpCode::kNewInterp, 2}, {OpCode::kSwap, 2}, {OpCode::kRunBytecode, 3},
                  {OpCode::kEndInterp, 2}, {OpCode::kBlock, 1}, {OpCode::kNewTstate, 1},
                  {OpCode::kDeleteTstate, 1}};
  s.role_weights = roles(3, 1, 0, 2);
  s.finalize_percent = 50;
  return s;
}

Shape shape_g3() {
  Shape s{"drop-requests-at-exit"};
  s.main_ops = {{OpCode::kRunBytecode, 4}, {OpCode::kBlock, 1}, {OpCode::kYield, 1}};
  s.helper_ops = {{OpCode::kRunBytecode, 5}, {OpCode::kBlock, 2}, {OpCode::kYield, 1}};
  s.helper_motifs = {{"busy daemon", 3, {bytecode(4)}}};
  s.role_weights = roles(1, 5, 2, 0);
  s.min_helpers = 1;
  s.finalize_percent = 90;
  return s;
}

// ---- P: pending calls --------------------------------------------------------------------------

Shape shape_p1() {
  Shape s{"pending-lifecycle"};
  s.main_ops = {{OpCode::kAddPending, 4}, {OpCode::kRunBytecode, 3}, {OpCode::kMakePending, 2},
                {OpCode::kNewInterp, 2}, {OpCode::kEndInterp, 2}, {OpCode::kSwap, 1},
                {OpCode::kBlock, 1}};
  s.main_motifs = {
      // gh-104812, main-thread variant: queued to the subinterpreter, then it ends.
      {"add in subinterp then end it", 3, {new_interp(), pending(0), op(OpCode::kEndInterp)}},
      {"targeted add then end", 2, {new_interp(), pending(1, 1), op(OpCode::kEndInterp)}},
      // gh-118297: a failing call with calls queued behind it, drained at finalisation.
      {"failing call first", 2, {pending(3), pending(0)}},
      {"queued at exit", 2, {pending(0), pending(1)}},
  };
  s.helper_ops = {{OpCode::kAddPending, 3}, {OpCode::kRunBytecode, 2}, {OpCode::kNewInterp, 2},
                  {OpCode::kEndInterp, 2}, {OpCode::kReleaseGil, 1}, {OpCode::kAcquireGil, 1}};
  s.helper_motifs = {
      // gh-104812, thread variant: the subinterpreter never runs on the main thread.
      {"subinterp queue in a thread", 3, {new_interp(), pending(0), bytecode(1), op(OpCode::kEndInterp)}},
      {"targeted in a thread", 2, {new_interp(), pending(1, 1), bytecode(1), op(OpCode::kEndInterp)}},
  };
  s.role_weights = roles(4, 1, 0, 2);
  s.finalize_percent = 85;
  return s;
}

Shape shape_p2() {
  Shape s{"pending-burst"};
  // Only untargeted no-op adds from T0 in I0 and what runs them: one queue whose occupancy the
  // check follows exactly.
  std::vector<Op> burst(12, pending(0));
  s.main_motifs = {{"12 adds", 6, burst}, {"run them", 1, {bytecode(1)}},
                   {"make them", 1, {op(OpCode::kMakePending)}}, {"one add", 2, {pending(0)}}};
  s.max_helpers = 0;
  s.max_main_items = 6;
  s.motif_percent = 100;
  s.finalize_percent = 50;
  return s;
}

Shape shape_p3() {
  Shape s{"pending-routing"};
  s.main_ops = {{OpCode::kAddPending, 3}, {OpCode::kRunBytecode, 3}, {OpCode::kNewInterp, 1},
                {OpCode::kSwap, 1}, {OpCode::kEndInterp, 1}, {OpCode::kJoin, 2}};
  s.helper_ops = {{OpCode::kAddPending, 3}, {OpCode::kRunBytecode, 2}, {OpCode::kReleaseGil, 1},
                  {OpCode::kAcquireGil, 1}, {OpCode::kNewInterp, 1}};
  s.helper_motifs = {
      // bpo-39984: without the GIL, PyGILState finds the main interpreter.
      {"add with the GIL released in a subinterp", 4,
       {new_interp(), op(OpCode::kReleaseGil), pending(1), op(OpCode::kAcquireGil), bytecode(1), op(OpCode::kEndInterp)}},
      {"add from a subinterp thread", 2, {new_interp(), pending(1), bytecode(1), op(OpCode::kEndInterp)}},
      {"C thread adds", 1, {pending(1)}},
  };
  s.role_weights = roles(5, 1, 0, 2);
  s.finalize_percent = 85;
  return s;
}

Shape shape_p4() {
  Shape s{"pending-reentry"};
  s.main_ops = {{OpCode::kAddPending, 3}, {OpCode::kRunBytecode, 3}, {OpCode::kMakePending, 3},
                {OpCode::kNewInterp, 1}, {OpCode::kEndInterp, 1}};
  s.main_motifs = {{"slow then rearm", 3, {pending(4), pending(2), op(OpCode::kMakePending)}},
                   {"slow in the eval loop", 2, {pending(4), pending(4), bytecode(2)}},
                   {"targeted slow", 1, {new_interp(), pending(4, 1), pending(0), bytecode(2)}}};
  s.helper_ops = {{OpCode::kAddPending, 3}, {OpCode::kRunBytecode, 3}, {OpCode::kMakePending, 2}};
  s.role_weights = roles(4, 1, 0, 1);
  s.finalize_percent = 70;
  return s;
}

Shape shape_p5() {
  Shape s{"signals"};
  s.main_ops = {{OpCode::kSignal, 2}, {OpCode::kRunBytecode, 3}, {OpCode::kNewInterp, 1},
                {OpCode::kSwap, 1}, {OpCode::kEndInterp, 1}, {OpCode::kMakePending, 1}};
  s.main_motifs = {{"signal in a subinterp", 2, {new_interp(), signal(2), bytecode(2), swap_to(0), bytecode(1)}}};
  s.helper_ops = {{OpCode::kSignal, 3}, {OpCode::kRunBytecode, 2}, {OpCode::kNewInterp, 1},
                  {OpCode::kBlock, 1}};
  s.role_weights = roles(2, 1, 0, 3);
  s.finalize_percent = 60;
  // A C signal handler may run at any time, also once the runtime is finalized (the C library
  // does not know): trip_signal must stay harmless then.
  s.tail_percent = 30;
  s.tails = {{"signal after finalize", 1, {signal(1)}}};
  return s;
}

Shape shape_p6() {
  Shape s{"pending-at-shutdown"};
  s.main_ops = {{OpCode::kAddPending, 2}, {OpCode::kRunBytecode, 2}, {OpCode::kBlock, 1}};
  s.helper_ops = {{OpCode::kAddPending, 5}, {OpCode::kBlock, 2}, {OpCode::kYield, 1}};
  // bpo-37127 / greenlet #411: a C thread keeps adding while the main thread finalizes.
  s.helper_motifs = {{"add loop", 3, {pending(0), op(OpCode::kBlock), pending(0), op(OpCode::kBlock), pending(0)}}};
  s.role_weights = roles(1, 2, 0, 4);
  s.finalize_percent = 100;
  s.tail_percent = 70;
  s.tails = {{"add after finalize", 4, {pending(0)}},
             {"touching add after finalize", 1, {pending(1)}},
             {"add after re-init", 1, {op(OpCode::kReinit), pending(0), bytecode(1)}}};
  return s;
}

// ---- F: finalisation ---------------------------------------------------------------------------

Shape shape_f0() {
  Shape s{"finalize-order"};
  s.main_ops = {{OpCode::kAddPending, 1}, {OpCode::kNewInterp, 1}, {OpCode::kSwap, 1},
                {OpCode::kRunBytecode, 2}, {OpCode::kBlock, 1}};
  s.helper_ops = {{OpCode::kRunBytecode, 2}, {OpCode::kBlock, 2}, {OpCode::kAddPending, 1},
                  {OpCode::kNewInterp, 1}};
  s.role_weights = roles(2, 2, 1, 1, 2);
  s.finalize_percent = 100;
  s.tail_percent = 40;
  s.tails = {{"second lifetime", 1, {op(OpCode::kReinit), bytecode(1), op(OpCode::kFinalize)}}};
  return s;
}

Shape shape_f1() {
  Shape s{"non-daemon-at-exit"};
  s.main_ops = {{OpCode::kRunBytecode, 2}, {OpCode::kBlock, 1}, {OpCode::kYield, 1}};
  s.helper_ops = {{OpCode::kBlock, 3}, {OpCode::kRunBytecode, 3}, {OpCode::kYield, 1},
                  {OpCode::kNewInterp, 1}, {OpCode::kEndInterp, 1}};
  s.role_weights = roles(5, 2, 1, 0);
  s.max_helpers = 3;
  s.finalize_percent = 100;
  return s;
}

Shape shape_f2() {
  Shape s{"late-gil-takers"};
  // Few main-thread ops before finalize: a helper that is still waiting for the GIL when
  // finalisation starts is the interesting one (gh-110052), and every GIL hand-off of the main
  // thread lets it through earlier.
  s.main_ops = {{OpCode::kYield, 3}, {OpCode::kRunBytecode, 2}, {OpCode::kBlock, 1}};
  s.max_main_items = 3;
  s.helper_ops = {{OpCode::kBlock, 4}, {OpCode::kReleaseGil, 2}, {OpCode::kAcquireGil, 2},
                  {OpCode::kRunBytecode, 3}, {OpCode::kGilStateEnsure, 1}};
  // bpo-39877 / gh-110052: a daemon outside the GIL that wakes inside finalisation.
  s.helper_motifs = {{"sleep outside the GIL", 3, {op(OpCode::kReleaseGil), op(OpCode::kBlock), op(OpCode::kAcquireGil)}},
                     {"syscall", 3, {op(OpCode::kBlock)}},
                     {"spin", 2, {bytecode(4)}}};
  s.role_weights = roles(1, 5, 2, 1);
  s.min_helpers = 1;
  s.finalize_percent = 100;
  return s;
}

Shape shape_f3() {
  Shape s{"finalizer-swaps"};
  s.main_ops = {{OpCode::kNewInterp, 2}, {OpCode::kSwap, 2}, {OpCode::kRunBytecode, 1}};
  // gh-109793: a subinterpreter left alive, finalisation swaps into it.
  s.main_motifs = {{"kept subinterp", 4, {new_interp(), swap_to(0)}},
                   {"kept after running", 2, {new_interp(), bytecode(1), swap_to(0)}}};
  s.helper_ops = {{OpCode::kNewInterp, 2}, {OpCode::kSwap, 1}, {OpCode::kRunBytecode, 1}};
  s.role_weights = roles(1, 0, 0, 0, 3);
  s.max_helpers = 1;
  s.finalize_percent = 100;
  return s;
}

Shape shape_f4() {
  Shape s{"finalize-with-subinterps"};
  s.main_ops = {{OpCode::kNewInterp, 2}, {OpCode::kSwap, 2}, {OpCode::kEndInterp, 1},
                {OpCode::kRunBytecode, 1}};
  // gh-113433: finalize with a live subinterpreter (and one with a thread of its own).
  s.main_motifs = {{"live subinterp", 4, {new_interp(), swap_to(0)}},
                   {"subinterp with a daemon", 2, {new_interp(), start_helper(StartKind::kDaemon), swap_to(0)}},
                   {"isolated live", 1, {new_interp(kIsolated), swap_to(0)}}};
  s.helper_ops = {{OpCode::kBlock, 3}, {OpCode::kRunBytecode, 2}};
  // A daemon still creating a subinterpreter when finalize_subinterpreters runs ([EXP] 3.13.0).
  s.helper_motifs = {{"daemon creates a subinterp", 1, {new_interp()}}};
  s.role_weights = roles(1, 1, 0, 0, 0, 0, 3);
  s.max_helpers = 1;
  s.finalize_percent = 100;
  return s;
}

Shape shape_f5() {
  Shape s{"work-at-shutdown"};
  s.main_ops = {{OpCode::kRunBytecode, 1}, {OpCode::kBlock, 1}, {OpCode::kSetSignal, 1}};
  // bpo-31901: a subinterpreter's own atexit callbacks run at its Py_EndInterpreter (and
  // threading._register_atexit's in its threading._shutdown, before its joins).
  s.main_motifs = {{"atexit in a subinterp", 2,
                    {new_interp(), register_helper(OpCode::kAtexit), op(OpCode::kEndInterp)}},
                   {"threading atexit in a subinterp", 1,
                    {new_interp(), register_helper(OpCode::kThreadingAtexit), op(OpCode::kEndInterp)}}};
  s.helper_ops = {{OpCode::kRunBytecode, 2}, {OpCode::kAddPending, 1}, {OpCode::kNewInterp, 1},
                  {OpCode::kBlock, 1}, {OpCode::kSetSignal, 1}};
  // gh-104690 / gh-108987: threads and forks from atexit callbacks.
  s.helper_motifs = {{"start from atexit", 4, {start_helper(StartKind::kThreading)}},
                     {"daemon from atexit", 2, {start_helper(StartKind::kDaemon)}},
                     {"fork from atexit", 2, {fork(ForkMode::kFork, false)}},
                     {"fork child from atexit", 1, {fork(ForkMode::kFork, true), bytecode(1)}}};
  s.role_weights = roles(0, 0, 0, 0, 4, 0, 3, 2);
  s.finalize_percent = 100;
  return s;
}

Shape shape_f6() {
  Shape s{"reinit-with-old-threads"};
  s.main_ops = {{OpCode::kBlock, 2}, {OpCode::kRunBytecode, 1}};
  s.helper_ops = {{OpCode::kBlock, 4}, {OpCode::kRunBytecode, 2}, {OpCode::kReleaseGil, 1},
                  {OpCode::kAcquireGil, 1}};
  s.helper_motifs = {{"sleeper", 3, {op(OpCode::kBlock), bytecode(1)}}};
  s.role_weights = roles(0, 5, 2, 1);
  s.min_helpers = 1;
  s.finalize_percent = 100;
  s.tail_percent = 90;
  s.tails = {{"re-init", 3, {op(OpCode::kReinit), op(OpCode::kBlock)}},
             {"re-init and run", 3, {op(OpCode::kReinit), bytecode(2)}},
             {"second lifetime", 1, {op(OpCode::kReinit), bytecode(1), op(OpCode::kFinalize)}}};
  return s;
}

// ---- S: subinterpreters ------------------------------------------------------------------------

Shape shape_s1() {
  Shape s{"end-interp-with-threads"};
  s.main_ops = {{OpCode::kNewInterp, 3}, {OpCode::kEndInterp, 3}, {OpCode::kSwap, 1},
                {OpCode::kRunBytecode, 1}};
  s.main_motifs = {{"thread in the subinterp", 3, {new_interp(), start_helper(StartKind::kThreading), op(OpCode::kEndInterp)}},
                   {"daemon in the subinterp", 3, {new_interp(), start_helper(StartKind::kDaemon), op(OpCode::kEndInterp)}},
                   // The subinterpreter's first tstate replaced before its end (3.11+ keep it
                   // inside the interpreter: reused, initial_tstate_not_reset).
                   {"replace the first tstate", 2, {new_interp(), op(OpCode::kDeleteTstate), new_tstate(1), op(OpCode::kEndInterp)}}};
  s.helper_ops = {{OpCode::kBlock, 3}, {OpCode::kRunBytecode, 2}, {OpCode::kYield, 1},
                  {OpCode::kNewTstate, 2}, {OpCode::kDeleteTstate, 1}};
  s.helper_motifs = {{"foreign tstate in I1", 2, {new_tstate(1), op(OpCode::kBlock), op(OpCode::kDeleteTstate)}}};
  s.role_weights = roles(2, 2, 1, 2, 0, 0, 2);
  s.early_start_percent = 30;
  s.finalize_percent = 50;
  return s;
}

Shape shape_s2() {
  Shape s{"daemons-in-subinterps"};
  s.main_ops = {{OpCode::kNewInterp, 2}, {OpCode::kEndInterp, 2}, {OpCode::kRunBytecode, 1}};
  s.main_motifs = {{"daemon in isolated", 3, {new_interp(kIsolated), start_helper(StartKind::kDaemon), op(OpCode::kEndInterp)}},
                   {"daemon in legacy", 2, {new_interp(), start_helper(StartKind::kDaemon), swap_to(0)}},
                   {"thread in isolated", 1, {new_interp(kIsolated), start_helper(StartKind::kThreading), op(OpCode::kEndInterp)}}};
  s.helper_ops = {{OpCode::kBlock, 2}, {OpCode::kRunBytecode, 2}};
  s.role_weights = roles(0, 1, 0, 0, 0, 0, 4);
  s.finalize_percent = 50;
  return s;
}

Shape shape_s3() {
  Shape s{"interp-churn"};
  s.main_ops = {{OpCode::kNewInterp, 4}, {OpCode::kEndInterp, 4}, {OpCode::kSwap, 1}};
  s.helper_ops = {{OpCode::kNewInterp, 3}, {OpCode::kEndInterp, 3}};
  s.role_weights = roles(3, 0, 0, 0);
  s.finalize_percent = 60;
  s.tail_percent = 60;
  s.tails = {{"ids of a new lifetime", 1, {op(OpCode::kReinit), new_interp(), new_interp(), op(OpCode::kEndInterp)}}};
  return s;
}

// ---- K: fork -------------------------------------------------------------------------------------

Shape shape_k1() {
  Shape s{"fork-with-threads"};
  s.main_ops = {{OpCode::kRunBytecode, 2}, {OpCode::kBlock, 2}, {OpCode::kFork, 2}};
  s.main_motifs = {{"fork child", 3, {fork(ForkMode::kFork, true), bytecode(1)}}};
  s.helper_ops = {{OpCode::kBlock, 3}, {OpCode::kRunBytecode, 3}, {OpCode::kFork, 1}};
  s.helper_motifs = {{"fork from a thread", 2, {fork(ForkMode::kFork, true), bytecode(1)}}};
  s.role_weights = roles(3, 2, 1, 1, 0, 2);
  s.max_helpers = 3;
  s.finalize_percent = 60;
  return s;
}

Shape shape_k2() {
  Shape s{"fork-in-critical-sections"};
  s.main_ops = {{OpCode::kRunBytecode, 2}, {OpCode::kBlock, 2}, {OpCode::kYield, 2}};
  // bpo-30395 / gh-112275: fork while another thread is inside HEAD_LOCK.
  s.main_motifs = {{"fork child", 4, {fork(ForkMode::kFork, true), bytecode(1)}},
                   {"let it in, then fork", 3, {op(OpCode::kBlock), fork(ForkMode::kFork, true)}}};
  s.helper_ops = {{OpCode::kHoldLock, 4}, {OpCode::kBlock, 1}, {OpCode::kYield, 1}};
  s.helper_motifs = {{"HEAD_LOCK", 6, {hold(rt::RuntimeLock::kHead, 8)}},
                     {"import lock", 1, {hold(rt::RuntimeLock::kImport, 4)}},
                     {"xid lock", 1, {hold(rt::RuntimeLock::kXidRegistry, 4)}}};
  // A C thread needs no GIL to enter a critical section: it can be inside one while the main
  // thread (holding the GIL) forks, without a GIL hand-off first.
  s.role_weights = roles(1, 2, 0, 5);
  s.min_helpers = 1;
  s.max_helpers = 1;  // one thread in the critical section is the trigger; more only hide it
  s.motif_percent = 60;
  s.early_start_percent = 90;
  s.finalize_percent = 40;
  return s;
}

Shape shape_k3() {
  Shape s{"fork-with-subinterps"};
  s.main_ops = {{OpCode::kNewInterp, 2}, {OpCode::kSwap, 2}, {OpCode::kEndInterp, 1},
                {OpCode::kFork, 2}, {OpCode::kRunBytecode, 1}};
  // bpo-39958 / gh-101437: fork from main with a live subinterpreter; bpo-40453: from one.
  s.main_motifs = {{"live subinterp at fork", 4, {new_interp(), swap_to(0), fork(ForkMode::kFork, true)}},
                   {"fork inside a subinterp", 3, {new_interp(), fork(ForkMode::kFork, true)}},
                   {"isolated live at fork", 1, {new_interp(kIsolated), swap_to(0), fork(ForkMode::kFork, true)}}};
  s.helper_ops = {{OpCode::kNewInterp, 2}, {OpCode::kRunBytecode, 1}, {OpCode::kBlock, 1}};
  s.role_weights = roles(2, 1, 0, 0, 0, 1);
  s.max_helpers = 1;
  s.finalize_percent = 40;
  return s;
}

Shape shape_k4() {
  Shape s{"fork-refusals"};
  s.main_ops = {{OpCode::kNewInterp, 2}, {OpCode::kFork, 3}, {OpCode::kSwap, 1},
                {OpCode::kEndInterp, 1}};
  s.main_motifs = {{"preexec in subinterp", 2, {new_interp(), fork(ForkMode::kPreexec, true)}},
                   {"exec in subinterp", 2, {new_interp(), fork(ForkMode::kExec, true)}},
                   {"fork in isolated", 2, {new_interp(kIsolated), fork(ForkMode::kFork, true)}},
                   {"fork in legacy", 2, {new_interp(), fork(ForkMode::kFork, true)}}};
  s.helper_motifs = {{"fork at shutdown", 2, {fork(ForkMode::kFork, false)}},
                     {"preexec at shutdown", 1, {fork(ForkMode::kPreexec, true)}}};
  s.role_weights = roles(1, 0, 0, 0, 3);
  s.max_helpers = 1;
  s.finalize_percent = 50;
  return s;
}

// Schedules of the daemon/finalisation contracts: mostly park a thread, and wake it once the
// memory it points to is gone (after DeleteExcept, after interp_delete) or the runtime was
// initialised again.
const ParkBias kFinalizeWindows{75,
                                {window_index(rt::Phase::kFinalizeFlushStdFiles),
                                 window_index(rt::Phase::kFinalizeRuntimeFini),
                                 window_index(rt::Phase::kFinalized)}};
const ParkBias kReinitWindows{
    75, {window_index(rt::Phase::kFinalized), window_index(rt::Phase::kRunning)}};

std::vector<Contract> make_contracts() {
  return {
      {"G1", "at most one thread holds a GIL", shape_g1()},
      {"G2", "a thread runs an interpreter's code only holding that interpreter's GIL", shape_g2()},
      {"G3", "a thread that asked for the GIL and exits never leaves the holder waiting", shape_g3(),
       nullptr, kFinalizeWindows},
      {"P1", "an accepted pending call runs exactly once, with the GIL, in a live interpreter", shape_p1()},
      {"P2", "Py_AddPendingCall accepts until the queue holds its capacity, then refuses", shape_p2(),
       &check_pending_capacity},
      {"P3", "a pending call runs in the interpreter and on the thread its profile routes it to", shape_p3()},
      {"P4", "a running pending call never runs its queue recursively", shape_p4()},
      {"P5", "signals are handled only by the main thread (3.8+: in the main interpreter), once per trip, never lost", shape_p5()},
      {"P6", "after finalisation Py_AddPendingCall refuses or is harmless", shape_p6()},
      {"F0", "Py_FinalizeEx passes its phases in its version's order", shape_f0(),
       &check_finalize_phase_order},
      {"F1", "Py_FinalizeEx returns only after the non-daemon threads ended", shape_f1()},
      {"F2", "a thread taking the GIL during finalisation never touches freed state", shape_f2(),
       nullptr, kFinalizeWindows},
      {"F3", "the finalizing thread keeps running when it swaps interpreters", shape_f3()},
      {"F4", "finalisation with live subinterpreters ends as its version documents", shape_f4()},
      {"F5", "threads and forks requested at shutdown are refused or run safely", shape_f5()},
      {"F6", "threads of a finalized runtime never run in the re-initialised one", shape_f6(),
       nullptr, kReinitWindows},
      {"S1", "Py_EndInterpreter ends only the last thread state, else the documented fatal error",
       shape_s1()},
      {"S2", "daemon threads in subinterpreters are allowed or refused as the version says", shape_s2()},
      {"S3", "interpreter ids are never reused within one runtime lifetime", shape_s3()},
      {"K1", "only the forking thread survives in the fork child", shape_k1()},
      {"K2", "in the fork child every runtime lock is free or held by the forking thread", shape_k2()},
      {"K3", "after fork only the main interpreter survives, without deadlock", shape_k3()},
      {"K4", "fork is refused where the version refuses it and harmless where it allows it",
       shape_k4()},
  };
}

}  // namespace

std::span<const Contract> all_contracts() {
  static const std::vector<Contract> kContracts = make_contracts();
  return kContracts;
}

const Contract* find_contract(std::string_view id) {
  for (const Contract& c : all_contracts()) {
    if (id == c.id) return &c;
  }
  return nullptr;
}

}  // namespace ifz::properties

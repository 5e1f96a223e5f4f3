// SPDX-License-Identifier: Apache-2.0
// program_shapes.h — RapidCheck generators of *structured* programs for the contract properties,
// and the structural shrinking every failing program goes through. Defines Weighted, Motif,
// HelperRole, Shape, gen_shaped_program, program_shrinks and op_simplifications.
//
// Uniform programs (harness/tests/program_gen.h) mostly skip their ops: 85 % of a uniform
// program's ops fail their precondition, and the depth-1 triggers of cpython-notes §3 ("fork
// after new_interp", "add_pending then end_interp", "daemon + block + finalize") almost never
// come out in order. A Shape says, per contract, which ops a thread draws (weights), which
// short trigger sequences it inserts as a unit (motifs), what the helper threads are (started
// by T0 as threading / daemon / raw / C threads, registered with atexit, or the script a fork
// child runs), and how T0 ends. Generation is shaped; shrinking is not: a failing program is
// shrunk op by op, so it ends at the shortest program that still fails, motif or not.
//
// Shrinking order (each candidate must still pass validate_program):
//   1. drop a helper thread (its start/atexit/join ops go, later thread numbers move down);
//   2. remove chunks of ops from one script (RapidCheck's removeChunks: big chunks first);
//   3. inline a helper thread: its ops replace the op that starts it (one thread fewer, the
//      same ops: "a thread in a subinterpreter queues a call" becomes the main-thread variant;
//      a fork's child script follows the fork instead — harness::inline_thread, shared with
//      the minimiser);
//   4. simplify one op's arguments towards make_op()'s defaults (count 1, variant 0, I0,
//      Py_AddPendingCall routing, follow=parent, no child script).
#pragma once

#include <rapidcheck.h>

#include <optional>
#include <string>
#include <vector>

#include "harness/program/op.h"
#include "harness/program/program.h"

namespace ifz::properties {

/// An op drawn with arguments from small_args() at this relative weight.
struct Weighted {
  harness::OpCode code;
  int weight;
};

/// A known trigger shape (cpython-notes §3), inserted into a script as a unit. Ops are taken
/// as written, except a `thread` of kHelperSlot: it becomes the script's own helper, if any.
struct Motif {
  const char* name;
  int weight;
  std::vector<harness::Op> ops;
};
inline constexpr int kHelperSlot = -2;

/// How a helper thread Tk (k >= 1) comes to run.
enum class HelperRole : uint8_t {
  kThreading,  // `start Tk threading` in T0 (non-daemon: joined at shutdown, F1)
  kDaemon,     // `start Tk daemon`
  kRaw,        // `start Tk raw` (_thread: never joined)
  kCThread,    // `start Tk c` (no thread state: PyGILState / new_tstate / Py_AddPendingCall)
  kAtexit,     // `atexit Tk`: runs on the finalizing thread during Py_FinalizeEx (F5)
  kForkChild,  // `fork … follow=child child=Tk`: the script the fork child runs (K1)
  kByMotif,    // nothing in T0: runs only if a motif of the previous script starts it (an
               // atexit callback starting a thread, F5)
  kThreadingAtexit,  // `threading_atexit Tk` (3.9+): runs in threading._shutdown, before the
                     // non-daemon threads are joined (F1)
};
inline constexpr int kHelperRoles = 8;

struct Shape {
  const char* name;
  /// T0's ops after `init` (never `init`, `start`, `atexit`, `join`: roles place those).
  std::vector<Weighted> main_ops;
  std::vector<Motif> main_motifs;
  /// Ops of helper scripts (never `init`, `finalize`, `reinit`, `start`, `atexit`).
  std::vector<Weighted> helper_ops;
  std::vector<Motif> helper_motifs;
  /// Weights of HelperRole values, in enum order.
  std::vector<int> role_weights;
  int min_helpers = 0;
  int max_helpers = 2;
  /// Items (ops or motifs) per script at RapidCheck size 100; at size 0 about a quarter.
  int max_main_items = 8;
  int max_helper_items = 4;
  /// Percent of motifs among the items of a script.
  int motif_percent = 40;
  /// Percent of programs whose T0 ends with `finalize`; then, in percent of those, one of
  /// `tails` follows (what happens after Py_FinalizeEx: add_pending, reinit, ...).
  int finalize_percent = 60;
  int tail_percent = 0;
  std::vector<Motif> tails;
  /// Percent of T0 start ops placed right after `init` (the rest at a random position).
  int early_start_percent = 60;
};

/// A valid program with this shape: T0 starts with `init`, helper roles are placed, arguments
/// are small (I0…I2, counts 1…4, hold_lock 2…8 points), `profile` and `defects` as given.
/// Shrinks with program_shrinks().
rc::Gen<harness::Program> gen_shaped_program(const Shape& shape, std::string profile,
                                             std::vector<std::string> defects);

/// A uniform draw in [lo, hi), for use inside rc::gen::exec. rc::gen::inRange scales its range
/// with RapidCheck's size (at size 0 it always answers `lo`), which would make the first cases
/// of every property the same degenerate program; shapes scale lengths with the size
/// explicitly instead.
template <typename T>
T uniform(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

/// Arguments for op `c` drawn with a bias towards the values the triggers use.
rc::Gen<harness::Op> small_args(harness::OpCode c);

/// The structural shrinks of `p` (see the file comment), each valid.
rc::Seq<harness::Program> program_shrinks(const harness::Program& p);

/// Simpler variants of one op (arguments towards make_op()'s defaults), most simple first.
std::vector<harness::Op> op_simplifications(const harness::Op& op);

}  // namespace ifz::properties

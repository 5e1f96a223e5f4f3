// SPDX-License-Identifier: Apache-2.0
// containment_test.cc — a contained execution (contained_run.h) is the in-process execution:
// same result, same recorded schedule, same strategy state afterwards; and the site of a
// model crash is read from what the dying process printed (model_crash.h).
#include <gtest/gtest.h>

#include "harness/exec/checked_run.h"
#include "harness/exec/contained_run.h"
#include "harness/exec/model_crash.h"
#include "harness/program/text_format.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/tests/ifz_files.h"

namespace ifz::harness {
namespace {

TEST(Containment, AContainedExecutionIsTheInProcessOneWithTheSameStrategyState) {
  for (const std::string& file : testing::ifz_files(IFZ_SOURCE_DIR "/corpus/seeds")) {
    const Program p = std::get<Program>(read_program_file(file));
    PctStrategy inside(2, 77), outside(2, 77);
    for (int run = 0; run < 3; ++run) {  // the strategies' state carries over between runs
      inside.begin_execution();
      outside.begin_execution();
      RecordingChooser rec_in(inside), rec_out(outside);
      ExecOptions eo;
      eo.chooser = &rec_in;
      const ExecResult a = execute(p, eo);
      eo.chooser = &rec_out;
      eo.contain = true;
      const ExecResult b = execute(p, eo);
      ASSERT_EQ(rec_in.schedule(), rec_out.schedule()) << file;
      ASSERT_EQ(encode_exec_result(a), encode_exec_result(b)) << file;
      ASSERT_EQ(inside.steps_bound(), outside.steps_bound()) << file;
    }
  }
}

TEST(Containment, TheExecResultCodecRoundTripsAndRefusesTruncation) {
  const Program p = std::get<Program>(
      read_program_file(IFZ_SOURCE_DIR "/corpus/seeds/fork_with_live_subinterp.ifz"));
  Program bad = p;
  bad.profile = "3.10";  // bpo-39958: a deadlock finding with blocked threads
  const ExecResult r = execute(bad, ExecOptions{});
  ASSERT_TRUE(r.found());
  const std::string bytes = encode_exec_result(r);
  ExecResult back;
  ASSERT_TRUE(decode_exec_result(bytes, &back));
  EXPECT_EQ(encode_exec_result(back), bytes);
  EXPECT_EQ(back.findings[0].signature(), r.findings[0].signature());
  EXPECT_FALSE(decode_exec_result(bytes.substr(0, bytes.size() - 1), &back));
}

TEST(Containment, TheSiteIsTheCheckOrTheSanitizerReportElseTheSignalAndTheOp) {
  ProcessDeath d;
  d.signal = 6;
  d.last_op = "finalize";
  d.stderr_text = "noise\n==ifz== INTERNAL ERROR ../../runtime/gil.cc:12: check 'x' failed: y\n";
  EXPECT_EQ(model_crash_site(d), "runtime/gil.cc:12");
  d.stderr_text = "==ifz== [Failed precondition] Incorrect usage at /src/ifz/harness/exec/ops.cc:7: z\n";
  EXPECT_EQ(model_crash_site(d), "harness/exec/ops.cc:7");
  d.signal = 0;
  d.exit_code = 1;
  d.stderr_text =
      "../../runtime/interp_lifecycle.cc:26:6: runtime error: member access within null pointer\n"
      "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior ../../runtime/interp_lifecycle.cc:26:6 in \n";
  EXPECT_TRUE(is_model_crash(d));
  EXPECT_EQ(model_crash_site(d), "undefined-behavior at runtime/interp_lifecycle.cc:26");
  d.stderr_text = "SUMMARY: AddressSanitizer: heap-use-after-free /w/x/harness/exec/ops.cc:99:3 in f\n";
  EXPECT_EQ(model_crash_site(d), "heap-use-after-free at harness/exec/ops.cc:99");
  d.stderr_text = "";
  d.signal = 11;
  d.last_op = "new_interp";
  EXPECT_EQ(model_crash_site(d), "SIGSEGV in new_interp");
  EXPECT_EQ(model_crash_finding(d).signature(), "model-crash/containment/SIGSEGV in new_interp");
  d.signal = 0;
  d.exit_code = 3;
  EXPECT_FALSE(is_model_crash(d));  // an exit with nothing reported is not a crash
}

}  // namespace
}  // namespace ifz::harness

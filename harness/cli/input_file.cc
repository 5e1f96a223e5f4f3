// SPDX-License-Identifier: Apache-2.0
// input_file.cc — text or raw, decided by the bytes (fuzz_input.h: looks_like_text_program).
#include "harness/cli/input_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/cli/commands.h"
#include "harness/exec/fuzz_input.h"
#include "runtime/profile.h"

namespace ifz::harness::cli {

namespace fs = std::filesystem;

namespace {

// The decoding a raw input gets: the target's op mix, its fixed_profiles_only, the pinned
// profile and the defects from the flags, else from the environment. Prints one line and
// returns nullopt on a bad name.
std::optional<DecodeOptions> raw_decoding(const Flags& f, std::string* setup, std::string* flags) {
  const fuzz::TargetSpec* t = fuzz::find_target(f.target);
  if (t == nullptr || t->input != fuzz::InputKind::kBinaryProgram) {
    std::string known;
    for (const fuzz::TargetSpec& s : fuzz::all_targets()) {
      if (s.input == fuzz::InputKind::kBinaryProgram) known += (known.empty() ? "" : ", ") + std::string(s.name);
    }
    input_error("interpfuzz " + f.command + ": --target: '" + f.target +
                "' is not a program fuzz target (known: " + known + ")");
    return std::nullopt;
  }
  const char* env_profile = std::getenv("INTERPFUZZ_PROFILE");
  const char* env_defects = std::getenv("INTERPFUZZ_DEFECTS");
  const bool flag_profile = f.was_given("--profile");
  const bool flag_defects = f.was_given("--defects");
  const std::string profile = flag_profile ? f.profile : env_profile ? env_profile : "";
  const std::string defects = flag_defects ? f.defects : env_defects ? env_defects : "";
  std::string err;
  std::optional<DecodeOptions> d =
      fuzz::decode_options_for(*t, profile, fuzz::split_names(defects), &err);
  if (!d) {
    const bool profile_bad = !profile.empty() && rt::find_profile(profile) == nullptr;
    const char* where = profile_bad ? (flag_profile ? "--profile" : "INTERPFUZZ_PROFILE")
                                    : (flag_defects ? "--defects" : "INTERPFUZZ_DEFECTS");
    input_error("interpfuzz " + f.command + ": " + std::string(where) + ": " + err);
    return std::nullopt;
  }
  *setup = std::string(t->name) + ", profile " + (profile.empty() ? "from the input" : profile) +
           ", defects " + (defects.empty() ? "none" : defects);
  *flags = " --target " + std::string(t->name) + (profile.empty() ? "" : " --profile " + profile) +
           (defects.empty() ? "" : " --defects " + defects);
  return d;
}

}  // namespace

std::optional<InputFile> load_input_file(const Flags& f, ExecOptions eo) {
  if (f.positional.empty()) {
    input_error("interpfuzz " + f.command + ": missing FILE (see 'interpfuzz --help')");
    return std::nullopt;
  }
  InputFile in;
  in.path = f.positional[0];
  std::error_code ec;
  if (fs::is_directory(in.path, ec)) {
    input_error("interpfuzz " + f.command + ": " + in.path + " is a directory, not a file");
    return std::nullopt;
  }
  std::ifstream file(in.path, std::ios::binary);
  std::stringstream buf;
  if (file) buf << file.rdbuf();
  if (!file || file.bad()) {
    input_error("interpfuzz " + f.command + ": cannot read " + in.path);
    return std::nullopt;
  }
  in.bytes = buf.str();
  in.reproduce_name = in.path;
  std::string err;
  if (!f.schedule.empty()) {
    auto s = Schedule::parse(f.schedule, &err);
    if (!s) {
      input_error("interpfuzz " + f.command + ": bad --schedule: " + err);
      return std::nullopt;
    }
    in.schedule = *s;
  }
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(in.bytes.data()),
                                      in.bytes.size());
  if (fuzz::looks_like_text_program(in.path, span)) {
    std::string name;
    auto p = load_program(f, &name);
    if (!p) return std::nullopt;
    in.program = std::move(*p);
    if (f.schedule.empty() && !in.program.schedule.empty()) {
      auto s = Schedule::parse(in.program.schedule, &err);
      if (!s) {
        input_error("interpfuzz " + f.command + ": bad schedule in " + in.path + ": " + err);
        return std::nullopt;
      }
      in.schedule = *s;
    }
    return in;
  }
  in.raw = true;
  std::string flags;
  const std::optional<DecodeOptions> d = raw_decoding(f, &in.raw_setup, &flags);
  if (!d) return std::nullopt;
  in.reproduce_name = in.path + flags;
  if (!f.schedule.empty()) {
    // The decoded program under the schedule given: no need to run the input's own.
    in.program = decode_program(span, *d).program;
    return in;
  }
  eo.platform = ExecOptions::Platform::kSimulated;
  fuzz::ReplayedInput r = fuzz::replay_fuzzer_input(span, *d, eo);
  in.program = std::move(r.program);
  in.schedule = std::move(r.schedule);
  in.raw_result = std::move(r.result);
  return in;
}

}  // namespace ifz::harness::cli

// SPDX-License-Identifier: Apache-2.0
// fuzz_input.cc — decoding options, execution and text/raw detection of fuzzer inputs, shared by
// the fuzz targets (fuzzers/) and the CLI's replay, explain and minimize.
#include "harness/exec/fuzz_input.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string_view>

#include "harness/schedule/input_driven.h"
#include "base/check.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::fuzz {

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

std::optional<harness::DecodeOptions> decode_options_for(const TargetSpec& t,
                                                         const std::string& profile,
                                                         const std::vector<std::string>& defects,
                                                         std::string* error) {
  IFZ_PRECONDITION(t.input == InputKind::kBinaryProgram, "a text target has no binary decoding");
  harness::DecodeOptions d;
  // Every fuzzer finding aborts: an input must not be able to enable a release's known
  // defects (DecodeOptions::fixed_profiles_only).
  d.fixed_profiles_only = true;
  d.ops = t.ops;
  if (!profile.empty()) {
    if (rt::find_profile(profile) == nullptr) {
      *error = "unknown profile '" + profile + "' (see 'interpfuzz list profiles')";
      return std::nullopt;
    }
    d.pinned_profile = profile;
  }
  for (const std::string& name : defects) {
    if (!rt::find_defect(name)) {
      *error = "unknown defect '" + name + "' (see 'interpfuzz list defects')";
      return std::nullopt;
    }
    d.extra_defects.push_back(name);
  }
  return d;
}

std::optional<harness::DecodeOptions> env_decode_options(const TargetSpec& t, std::string* error) {
  const char* p = std::getenv("INTERPFUZZ_PROFILE");
  const char* ds = std::getenv("INTERPFUZZ_DEFECTS");
  const std::string profile = p ? p : "";
  if (!profile.empty() && rt::find_profile(profile) == nullptr) {
    *error = "INTERPFUZZ_PROFILE: unknown profile '" + profile + "' (see 'interpfuzz list profiles')";
    return std::nullopt;
  }
  auto d = decode_options_for(t, profile, split_names(ds ? ds : ""), error);
  if (!d) *error = "INTERPFUZZ_DEFECTS: " + *error;
  return d;
}

harness::ExecOptions input_exec_options(platform::Chooser* chooser) {
  harness::ExecOptions eo;
  eo.trace = false;
  eo.count_reach = false;  // nobody here reads ExecResult::reach
  eo.chooser = chooser;
  return eo;
}

harness::ExecResult run_input(const harness::Decoded& d, harness::Strategy& strategy,
                              harness::ExecOptions eo, platform::Chooser* chooser) {
  strategy.begin_execution();
  if (eo.platform == harness::ExecOptions::Platform::kSimulated) {
    eo.chooser = chooser != nullptr ? chooser : &strategy;
  }
  return harness::execute(d.program, eo);
}

ReplayedInput replay_fuzzer_input(std::span<const uint8_t> input, const harness::DecodeOptions& d,
                                  harness::ExecOptions eo) {
  const harness::Decoded dec = harness::decode_program(input, d);
  harness::InputDrivenStrategy strategy(dec.schedule_bytes);
  harness::RecordingChooser rec(strategy);
  ReplayedInput out;
  out.result = run_input(dec, rec, eo);
  out.program = dec.program;
  out.schedule = rec.schedule();
  return out;
}

bool looks_like_text_program(const std::string& path, std::span<const uint8_t> bytes) {
  if (std::filesystem::path(path).extension() == ".ifz") return true;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  constexpr std::string_view kHeader = "interpfuzz-program";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos) {
      line.remove_prefix(first);
      if (line[0] != '#') {
        // The header word, then the end of the line or a separator (the version follows).
        return line.substr(0, kHeader.size()) == kHeader &&
               (line.size() == kHeader.size() || line[kHeader.size()] == ' ' ||
                line[kHeader.size()] == '\t' || line[kHeader.size()] == '\r');
      }
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace ifz::fuzz

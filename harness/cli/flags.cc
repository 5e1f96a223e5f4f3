// SPDX-License-Identifier: Apache-2.0
// flags.cc — parsing argv against flags.def.
#include "harness/cli/flags.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ifz::harness::cli {

bool Flags::was_given(const std::string& flag) const {
  return std::find(given.begin(), given.end(), flag) != given.end();
}

namespace {

bool parse_int(const std::string& s, int64_t* out) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e;
}

// Returns false with `error` set if `arg` names a flag but its value is bad; sets `matched`.
bool apply(Flags& f, const std::string& name, const std::string* value, bool* matched,
           bool* needs_value, std::string* error) {
  *matched = false;
  *needs_value = false;
#define IFZ_FLAG_STR(member, flag, def, help) \
  if (name == flag) {                         \
    *matched = true;                          \
    *needs_value = true;                      \
    if (value) f.member = *value;             \
    return true;                              \
  }
#define IFZ_FLAG_INT(member, flag, def, help)                                              \
  if (name == flag) {                                                                     \
    *matched = true;                                                                      \
    *needs_value = true;                                                                  \
    if (value && !parse_int(*value, &f.member)) {                                         \
      *error = std::string("interpfuzz: ") + flag + " expects an integer, got '" + *value + "'"; \
      return false;                                                                       \
    }                                                                                     \
    return true;                                                                          \
  }
#define IFZ_FLAG_BOOL(member, flag, help) \
  if (name == flag) {                     \
    *matched = true;                      \
    f.member = true;                      \
    return true;                          \
  }
#define IFZ_FLAG_LIST(member, flag, help) \
  if (name == flag) {                     \
    *matched = true;                      \
    *needs_value = true;                  \
    if (value) f.member.push_back(*value); \
    return true;                          \
  }
#include "harness/cli/flags.def"
#undef IFZ_FLAG_STR
#undef IFZ_FLAG_INT
#undef IFZ_FLAG_BOOL
#undef IFZ_FLAG_LIST
  return true;
}

}  // namespace

std::optional<Flags> parse_flags(int argc, char** argv, std::string* error) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o") arg = "--output";  // the compilers' spelling, for emit-c
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      if (f.command.empty()) f.command = arg;
      else f.positional.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    bool matched = false, needs_value = false;
    if (!apply(f, name, nullptr, &matched, &needs_value, error)) return std::nullopt;
    if (!matched) {
      *error = "interpfuzz: unknown option '" + name + "' (see 'interpfuzz --help')";
      return std::nullopt;
    }
    if (needs_value) {
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        *error = "interpfuzz: option '" + name + "' needs a value";
        return std::nullopt;
      }
      if (!apply(f, name, &value, &matched, &needs_value, error)) return std::nullopt;
    } else if (inline_value) {
      *error = "interpfuzz: option '" + name + "' takes no value";
      return std::nullopt;
    }
    f.given.push_back(name);
  }
  return f;
}

std::string usage() {
  std::string out =
      "usage: interpfuzz <command> [options]\n"
      "commands:\n"
      "  replay FILE [--schedule S]    run a program once, exactly, and print its trace\n"
      "  explain FILE [--schedule S]   like replay, with every thread's state after each op\n"
      "  run FILE [--strategy pct --depth 2 --seed N --iterations K]\n"
      "                                explore schedules of one program; report findings\n"
      "  list profiles|defects|oracles|ops\n"
      "  stress [--time S --jobs N --profile P --artifacts DIR]\n"
      "                                the main job: random programs x schedulers x profiles\n"
      "  minimize FILE [--time S]      shrink a finding (.ifz or raw fuzzer input) keeping its signature\n"
      "  emit-c FILE [--schedule S] [-o repro.c]\n"
      "                                a standalone C reproducer for a real CPython (embedding API)\n"
      "  conform FILE|DIR... [--cpython PREFIX]... [--runs N]\n"
      "                                run programs on real CPythons and the model; exit 1 on disagreement\n"
      "  diff [--cpython SPEC]... [--time S --jobs N --runs N --artifacts DIR --corpus DIR --executor driver|compile]\n"
      "                                generated programs on the model and on real CPython; exit 1 on a disagreement\n"
      "exit status: 0 nothing found, 1 findings, 2 usage or input error; stress: 0 also when every\n"
      "  finding is attributed to a defect the run enabled (a release profile's own known defects,\n"
      "  --defects), listed as 'known'; 1 for a new finding, a determinism failure or a crashed worker\n"
      "options:\n";
#define IFZ_FLAG_STR(member, flag, def, help) out += std::string("  ") + flag + " VALUE  " + help + "\n";
#define IFZ_FLAG_INT(member, flag, def, help) out += std::string("  ") + flag + " N  " + help + "\n";
#define IFZ_FLAG_BOOL(member, flag, help) out += std::string("  ") + flag + "  " + help + "\n";
#define IFZ_FLAG_LIST(member, flag, help) out += std::string("  ") + flag + " VALUE...  " + help + "\n";
#include "harness/cli/flags.def"
#undef IFZ_FLAG_STR
#undef IFZ_FLAG_INT
#undef IFZ_FLAG_BOOL
#undef IFZ_FLAG_LIST
  return out;
}

}  // namespace ifz::harness::cli

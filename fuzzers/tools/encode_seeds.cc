// SPDX-License-Identifier: Apache-2.0
// encode_seeds.cc — ifz_encode_seeds: turns the `.ifz` seeds into one fuzz target's binary seed
// corpus, at build time, so that no binary blob is ever checked in (corpus/seeds/ is the source).
//
// Usage: ifz_encode_seeds --target NAME --out DIR SEED.ifz...
// DIR is emptied first (a deleted seed must not linger). A binary target gets each seed its
// decoder can express unchanged (every op in the target's op mix; the `schedule` token has no
// binary form and is dropped, the seed then starts from the sequential schedule), as
// DIR/<seed name without .ifz>; fuzz_program_text gets the `.ifz` files themselves.
// Exit status: 0, or 2 on a usage, parse or I/O error (one line on stderr).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness/program/fuzz_targets.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"

namespace {

namespace fs = std::filesystem;
using ifz::fuzz::TargetSpec;

int fail(const std::string& message) {
  std::fprintf(stderr, "ifz_encode_seeds: %s\n", message.c_str());
  return 2;
}

bool fits(const TargetSpec& t, const ifz::harness::Program& p) {
  for (const ifz::harness::Script& s : p.threads) {
    for (const ifz::harness::Op& op : s.ops) {
      if (!ifz::fuzz::target_has_op(t, op.code)) return false;
    }
  }
  return true;
}

bool write_bytes(const fs::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string target_name, out_dir;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--target" && i + 1 < argc) {
      target_name = argv[++i];
    } else if (a == "--out" && i + 1 < argc) {
      out_dir = argv[++i];
    } else if (a.rfind("--", 0) == 0) {
      return fail("usage: ifz_encode_seeds --target NAME --out DIR SEED.ifz...");
    } else {
      seeds.push_back(a);
    }
  }
  const TargetSpec* t = ifz::fuzz::find_target(target_name);
  if (t == nullptr) return fail("unknown target '" + target_name + "'");
  if (out_dir.empty()) return fail("missing --out DIR");
  std::error_code ec;
  fs::remove_all(out_dir, ec);
  fs::create_directories(out_dir, ec);
  if (ec) return fail("cannot create " + out_dir + ": " + ec.message());

  int written = 0, left_out = 0;
  for (const std::string& seed : seeds) {
    auto parsed = ifz::harness::read_program_file(seed);
    if (const auto* err = std::get_if<ifz::harness::ParseError>(&parsed)) {
      return fail(err->to_string());
    }
    ifz::harness::Program p = std::get<ifz::harness::Program>(std::move(parsed));
    const fs::path name = fs::path(seed).filename();
    bool ok = true;
    if (t->input == ifz::fuzz::InputKind::kText) {
      ok = fs::copy_file(seed, fs::path(out_dir) / name, fs::copy_options::overwrite_existing, ec);
    } else if (!fits(*t, p)) {
      ++left_out;
      continue;
    } else {
      p.schedule.clear();
      const std::vector<uint8_t> bytes = ifz::harness::encode_program(p);
      ok = write_bytes(fs::path(out_dir) / name.stem(), bytes.data(), bytes.size());
    }
    if (!ok) return fail("cannot write the seed for " + seed + " in " + out_dir);
    ++written;
  }
  std::printf("%s: %d seed(s) in %s, %d left out (ops outside the target's mix)\n", t->name,
              written, out_dir.c_str(), left_out);
  return 0;
}

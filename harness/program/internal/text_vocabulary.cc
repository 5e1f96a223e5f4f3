// SPDX-License-Identifier: Apache-2.0
// text_vocabulary.cc — the word sets and "known:" lists of the text format.
#include "harness/program/internal/text_vocabulary.h"

#include <cstdio>

#include "harness/program/text_format.h"
#include "runtime/defects.h"
#include "runtime/pending_calls.h"
#include "runtime/profile.h"
#include "runtime/runtime.h"

namespace ifz::harness {
namespace {

constexpr size_t kClipBytes = 40;

const char* start_word(int i) { return start_kind_name(static_cast<StartKind>(i)); }
const char* fork_word(int i) { return fork_mode_name(static_cast<ForkMode>(i)); }
const char* pending_word(int i) { return rt::pending_kind_name(static_cast<rt::PendingKind>(i)); }
const char* lock_word(int i) { return rt::runtime_lock_name(static_cast<rt::RuntimeLock>(i)); }

template <typename Range, typename Name>
std::string join(const Range& items, Name name) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += name(item);
  }
  return out;
}

}  // namespace

const WordSet kStartWords{"start kind", kStartKinds, &start_word};
const WordSet kForkWords{"fork mode", kForkModes, &fork_word};
const WordSet kPendingWords{"pending call kind", kPendingKinds, &pending_word};
const WordSet kLockWords{"runtime lock", kLockKinds, &lock_word};

std::string WordSet::list(std::string_view sep) const {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += sep;
    out += name(i);
  }
  return out;
}

std::string op_usage(OpCode c) {
  std::string out = op_info(c).name;
  switch (op_info(c).args) {
    case ArgShape::kNone: break;
    case ArgShape::kInterpCfg: out += " [isolated] [own_gil]"; break;
    case ArgShape::kInterp: out += " I<n>"; break;
    case ArgShape::kStart: out += " T<k> " + kStartWords.list("|"); break;
    case ArgShape::kThread: out += " T<k>"; break;
    case ArgShape::kCount: out += " N"; break;
    case ArgShape::kPending: out += " " + kPendingWords.list("|") + " [to I<n>]"; break;
    case ArgShape::kFork:
      out += " " + kForkWords.list("|") + " follow=parent|child [child=T<k>]";
      break;
    case ArgShape::kLock: out += " " + kLockWords.list("|") + " N"; break;
    case ArgShape::kSync:
      out += std::string(" ") + sync_letter(c) + "<n>";
      if (sync_takes_timeout(c)) out += " [timeout]";
      break;
  }
  return out;
}

std::string op_list() {
  return join(all_ops(), [](const OpInfo& o) { return std::string(o.name); });
}

std::string profile_list() {
  return join(rt::profile_names(), [](const std::string& n) { return n; });
}

std::string defect_list() {
  return join(rt::all_defects(), [](const rt::DefectInfo& d) { return std::string(d.name); });
}

std::string clip(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kClipBytes; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > kClipBytes) out += "...";
  return out;
}

std::string quote(std::string_view s) { return "'" + clip(s) + "'"; }

}  // namespace ifz::harness

// SPDX-License-Identifier: Apache-2.0
// model_crash.cc — reading how a process running executions died.
#include "harness/exec/model_crash.h"

#include <csignal>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

namespace ifz::harness {

namespace {

// "../../runtime/gil.cc" or "/work/x/runtime/gil.cc" -> "runtime/gil.cc": the path from the
// first source-tree folder on, so that build directories and checkouts do not matter.
std::string tree_relative(std::string path) {
  for (const char* root : {"runtime/", "harness/", "fuzzers/", "properties/", "bench/"}) {
    size_t at = 0;
    while ((at = path.find(root, at)) != std::string::npos) {
      if (at == 0 || path[at - 1] == '/') return path.substr(at);
      at += 1;
    }
  }
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "file:line" or "file:line:col" at the start of `s` -> "tree/relative/file:line".
std::string file_line(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return "";
  size_t end = colon + 1;
  while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
  if (end == colon + 1) return "";
  return tree_relative(std::string(s.substr(0, colon))) + ":" +
         std::string(s.substr(colon + 1, end - colon - 1));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

// check.h's two shapes; "" if neither is present.
std::string check_site(const std::string& text) {
  for (const std::string& l : lines_of(text)) {
    for (std::string_view tag : {"==ifz== INTERNAL ERROR ", "Incorrect usage at "}) {
      const size_t at = l.find(tag);
      if (at != std::string::npos) {
        const std::string site = file_line(std::string_view(l).substr(at + tag.size()));
        if (!site.empty()) return site;
      }
    }
  }
  return "";
}

// "SUMMARY: AddressSanitizer: heap-use-after-free /x/runtime/gil.cc:12:3 in f" ->
// "heap-use-after-free at runtime/gil.cc:12". LeakSanitizer's summary has no location: its
// kind alone. "" if there is no sanitizer summary.
std::string sanitizer_site(const std::string& text) {
  for (const std::string& l : lines_of(text)) {
    const size_t at = l.find("SUMMARY: ");
    if (at == std::string::npos || l.find("Sanitizer: ", at) == std::string::npos) continue;
    std::istringstream words(l.substr(l.find("Sanitizer: ", at) + 11));
    std::string kind, where;
    words >> kind >> where;
    const std::string site = file_line(where);
    return site.empty() ? kind : kind + " at " + site;
  }
  return "";
}

}  // namespace

std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGKILL: return "SIGKILL";
    case SIGSYS: return "SIGSYS";
    default: return "signal " + std::to_string(sig);
  }
}

bool is_model_crash(const ProcessDeath& d) {
  return d.signal != 0 || !check_site(d.stderr_text).empty() ||
         !sanitizer_site(d.stderr_text).empty();
}

std::string model_crash_site(const ProcessDeath& d) {
  // The check first: an IFZ_CHECK under a sanitizer still aborts with its own line.
  std::string site = check_site(d.stderr_text);
  if (site.empty()) site = sanitizer_site(d.stderr_text);
  if (!site.empty()) return site;
  const std::string how = d.signal != 0 ? signal_name(d.signal) : "exit " + std::to_string(d.exit_code);
  return d.last_op.empty() ? how : how + " in " + d.last_op;
}

Finding model_crash_finding(const ProcessDeath& d) {
  Finding f;
  f.kind = "model-crash";
  f.oracle = "containment";
  f.detail = model_crash_site(d);
  std::string how = d.signal != 0 ? "died of " + signal_name(d.signal)
                                  : "exited with status " + std::to_string(d.exit_code);
  f.message = "the model itself crashed (" + how + ") at " + f.detail +
              (d.last_op_detail.empty() ? "" : ", in op " + d.last_op_detail) +
              ": a bug of interpfuzz, not of the modelled CPython";
  // The report line that says most, for people: the check or the sanitizer summary.
  for (const std::string& l : lines_of(d.stderr_text)) {
    if (l.find("INTERNAL ERROR") != std::string::npos ||
        l.find("Incorrect usage at") != std::string::npos ||
        (l.find("SUMMARY: ") != std::string::npos && l.find("Sanitizer") != std::string::npos) ||
        l.find("runtime error:") != std::string::npos) {
      f.threads.push_back(l);
    }
  }
  return f;
}

}  // namespace ifz::harness

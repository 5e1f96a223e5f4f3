// SPDX-License-Identifier: Apache-2.0
// real_run.cc — see real_run.h.
#include "harness/outcome/real_run.h"

#include <signal.h>
#include <sys/wait.h>

#include <sstream>

namespace ifz::harness::outcome {

std::string first_fatal_line(const std::string& err) {
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    const size_t at = line.find("Fatal Python error: ");
    if (at != std::string::npos) return line.substr(at);
  }
  return "";
}

bool freed_memory_assert(const std::string& err) {
  // A debug build's assert(!_PyMem_IsPtrFreed(...)) (is_tstate_valid and friends): the
  // debug allocator filled the memory with its "dead byte" pattern when it was freed.
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("Assertion") != std::string::npos &&
        line.find("_PyMem_IsPtrFreed") != std::string::npos) {
      return true;
    }
  }
  return false;
}

Outcome classify_real_run(const RealRun& r) {
  Outcome o;
  std::istringstream in(r.out);
  std::string line;
  const std::string prefix = kObservablePrefix;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string obs = line.substr(prefix.size());
    if (obs.rfind("note ", 0) == 0) continue;
    o.observables.push_back(obs);
  }
  o.normalize();
  if (r.timed_out) {
    o.kind = Outcome::Kind::kHang;
    return o;
  }
  const std::string fatal = first_fatal_line(r.err);
  if (WIFSIGNALED(r.wait_status)) {
    o.kind = Outcome::Kind::kSignal;
    o.code = WTERMSIG(r.wait_status);
    if (o.code == SIGABRT && freed_memory_assert(r.err)) {
      o.code = SIGSEGV;  // the debug build caught the use-after-free a release build dies of
    } else if (o.code == SIGABRT && !fatal.empty()) {
      o.kind = Outcome::Kind::kFatal;
      o.code = 0;  // abort or exit 1 depends on the path and the version: not compared
      o.message = fatal;
    }
    return o;
  }
  const int status = WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : -1;
  if (status == 1 && !fatal.empty()) {
    o.kind = Outcome::Kind::kFatal;
    o.message = fatal;
  } else if (status != 0) {
    o.kind = Outcome::Kind::kExit;
    o.code = status;
  }
  return o;
}

}  // namespace ifz::harness::outcome

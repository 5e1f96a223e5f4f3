// SPDX-License-Identifier: Apache-2.0
// canary_log.cc — INTERPFUZZ_CANARY_LOG: first reach / trigger / detection time per defect.
#include "harness/exec/canary_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace ifz::harness {

double unix_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::unique_ptr<CanaryLog> CanaryLog::from_env() {
  const char* path = std::getenv("INTERPFUZZ_CANARY_LOG");
  if (path == nullptr || *path == '\0') return nullptr;
  const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "interpfuzz: INTERPFUZZ_CANARY_LOG: cannot open %s: %s\n", path,
                 std::strerror(errno));
    std::exit(2);
  }
  return std::make_unique<CanaryLog>(fd);
}

CanaryLog::~CanaryLog() {
  if (fd_ >= 0) close(fd_);
}

void CanaryLog::write_line(const std::string& line) {
  const std::string l = line + "\n";
  (void)!write(fd_, l.data(), l.size());  // one write: O_APPEND keeps it whole
}

void CanaryLog::note(const std::string& tag, const std::string& text) {
  char t[32];
  std::snprintf(t, sizeof t, "%.3f", unix_seconds());
  write_line(tag + "\t" + text + "\t" + t);
}

void CanaryLog::observe(const ExecResult& r) {
  char t[32];
  bool have_time = false;
  auto now = [&] {
    if (!have_time) std::snprintf(t, sizeof t, "%.3f", unix_seconds());
    have_time = true;
    return std::string(t);
  };
  for (const rt::DefectInfo& d : rt::all_defects()) {
    const size_t i = static_cast<size_t>(d.id);
    // A trigger happens at the defect's location: it implies a reach even where only the
    // trigger came back (a native execution that crashed before reporting its reaches).
    if (!reached_[i] && (r.canaries.reached[i] > 0 || r.canaries.triggered[i] > 0)) {
      reached_[i] = true;
      write_line(std::string("reached\t") + d.name + "\t" + now());
    }
    if (!triggered_[i] && r.canaries.triggered[i] > 0) {
      triggered_[i] = true;
      write_line(std::string("triggered\t") + d.name + "\t" + now());
    }
    if (detected_[i]) continue;
    for (const Finding& f : r.findings) {
      if (std::find(f.triggered_defects.begin(), f.triggered_defects.end(), d.name) ==
          f.triggered_defects.end()) {
        continue;
      }
      detected_[i] = true;
      write_line(std::string("detected\t") + d.name + "\t" + now() + "\t" + f.signature());
      break;
    }
  }
}

}  // namespace ifz::harness

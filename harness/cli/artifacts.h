// SPDX-License-Identifier: Apache-2.0
// artifacts.h — writing a finding to disk so that it is never lost: the program (with its
// schedule) as `.ifz`, the report and the trace, each written atomically (temp file, fsync,
// rename) before anything else happens with the finding.
// Defines ArtifactPaths, signature_hash and write_finding_artifacts.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/atomic_file.h"
#include "harness/exec/executor.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness::cli {

struct ArtifactPaths {
  std::string program;  // <dir>/<kind>-<hash>.ifz (replayable: carries its schedule)
  std::string report;   // <dir>/<kind>-<hash>.report.txt
};

/// Every artifact goes through base::write_file_atomic (temp file, fsync, rename, fsync dir).
using base::write_file_atomic;

/// A stable 16-hex-digit name for a signature (base::stable_hash_hex).
std::string signature_hash(const std::string& signature);

/// Writes the artifacts of finding `f` of (p, s). The program file's comment header holds the
/// report, so the `.ifz` alone is enough to understand and replay the finding. `native`: found
/// on the native platform, so `s` is empty and the report's reproduce line says so.
ArtifactPaths write_finding_artifacts(const std::string& dir, const Program& p, const Schedule& s,
                                      const Finding& f, const ExecResult& r, bool native = false);

/// Beside a minimised finding `<stem>.ifz`: `<stem>.repro.c`, its standalone C reproducer for
/// the real CPython of the program's profile, whose header holds the command that builds it
/// (DESIGN D9); or `<stem>.repro.txt` saying why there is none (an op with no counterpart on
/// that version). Returns the path written ("" if writing failed).
std::string write_repro_c(const std::string& stem, const Program& p, const Schedule& s);

/// What `compute` returns, computed in a forked child so that a crash of the model inside it
/// costs only the child. Nullopt when the child did not exit normally (it crashed) or could
/// not be forked;
/// `started` is false when no child could be made (no pipe), and then nothing ran.
std::optional<std::string> output_of_child(const std::function<std::string()>& compute,
                                           bool* started);

}  // namespace ifz::harness::cli

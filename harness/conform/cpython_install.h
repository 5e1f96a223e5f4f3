// SPDX-License-Identifier: Apache-2.0
// cpython_install.h — finding real CPython installs to build reproducers against: Debian's
// release and debug 3.11 always, plus any prefix given, each located through its
// pythonX.Y-config script. Defines CPythonInstall and find_installs().
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ifz::harness::conform {

struct CPythonInstall {
  std::string label;      // "3.11.2 (Debian)", "3.11.2-dbg (Debian)", "3.9.18 (/opt/py39)"
  std::string config;     // path of its pythonX.Y-config
  int minor = 0;          // 3.<minor>
  bool debug = false;     // a debug build (python3.Yd-config): assertions, freed memory filled
  std::string cflags;     // --includes
  std::string ldflags;    // --ldflags --embed, plus an rpath to each -L directory
  std::string missing;    // non-empty: not usable, and why (its cells are n/a)
};

/// Debian's /usr/bin/python3.11-config and python3.11d-config, then each prefix's
/// PREFIX/bin/python3.*-config (one per prefix; an error line when there is none).
std::vector<CPythonInstall> find_installs(const std::vector<std::string>& prefixes,
                                          std::string* error);

/// One install by spec, as `diff --cpython` takes it: "debian-3.Y" or "debian-3.Y-dbg"
/// (/usr/bin/python3.Y[d]-config), or an install prefix (as find_installs). Nullopt with
/// `error` set for a spec that is neither; an install that is not there comes back with
/// `missing` set.
std::optional<CPythonInstall> find_install(const std::string& spec, std::string* error);

/// Runs `command` with /bin/sh; returns its stdout (trailing newline trimmed) and status.
std::string shell_output(const std::string& command, int* status);

}  // namespace ifz::harness::conform

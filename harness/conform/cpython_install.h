// SPDX-License-Identifier: Apache-2.0
// cpython_install.h — finding real CPython installs to build reproducers against: Debian's
// release and debug 3.11 always, plus any install given by a SPEC, each located through its
// pythonX.Y-config script. Defines CPythonInstall, find_installs() and the chroot helpers.
//
// A SPEC (`--cpython`) is one of
//   debian-3.Y[-dbg]            Debian's /usr/bin/python3.Y[d]-config (diff's default: debian-3.11)
//   PREFIX                      an install prefix with PREFIX/bin/python3.Y-config (pyenv, /opt)
//   chroot:ROOT:CONFIG          an install inside a separate root (Debian sid's 3.13–3.15, made
//                               by ci/cpythons, which prints these SPECs): CONFIG is the config
//                               script's path inside ROOT; programs are compiled and run there
//                               with chroot(2), so they get that root's libc and libpython.
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
  std::string root;       // "" = the host; else the root the install lives in (chroot SPEC)

  /// The path a process inside the install's root sees for `host_path` (which must lie under
  /// root), or `host_path` itself for a host install.
  std::string inside(const std::string& host_path) const;
  /// Where this install's programs and binaries go: `host_dir` for a host install, a private
  /// folder under ROOT/tmp for a chroot one (a chrooted process sees nothing outside ROOT).
  std::string work_dir(const std::string& host_dir) const;
  /// `command` (a /bin/sh command line) run inside the install's root.
  std::string shell(const std::string& command) const;
  /// In a freshly forked child about to exec one of this install's programs: enters the root
  /// (a private mount namespace with the root's /proc mounted, which the programs read, then
  /// chroot(2)). True on a host install. Async-signal-safe enough for a forked child: no
  /// allocation.
  bool enter_root_in_child() const;
};

/// Debian's /usr/bin/python3.11-config and python3.11d-config, then one install per SPEC
/// (see above; an error line when a SPEC names no install).
std::vector<CPythonInstall> find_installs(const std::vector<std::string>& specs,
                                          std::string* error);

/// One SPEC's install (PREFIX or chroot:ROOT:CONFIG), or `error` set.
std::optional<CPythonInstall> install_from_spec(const std::string& spec, std::string* error);

/// One install by spec, as `diff --cpython` takes it: "debian-3.Y" or "debian-3.Y-dbg"
/// (/usr/bin/python3.Y[d]-config), or any SPEC install_from_spec takes. Nullopt with `error`
/// set for a spec that is none of these; a Debian install that is not there comes back with
/// `missing` set.
std::optional<CPythonInstall> find_install(const std::string& spec, std::string* error);

/// Runs `command` with /bin/sh; returns its stdout (trailing newline trimmed) and status.
std::string shell_output(const std::string& command, int* status);

}  // namespace ifz::harness::conform

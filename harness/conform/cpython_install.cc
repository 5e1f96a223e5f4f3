// SPDX-License-Identifier: Apache-2.0
// cpython_install.cc — see cpython_install.h.
#include "harness/conform/cpython_install.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

namespace ifz::harness::conform {

namespace fs = std::filesystem;

std::string shell_output(const std::string& command, int* status) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (f == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = pclose(f);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string CPythonInstall::inside(const std::string& host_path) const {
  if (root.empty()) return host_path;
  if (host_path.rfind(root, 0) == 0) return host_path.substr(root.size());
  return host_path;  // not under root: the caller's contract is broken; chroot will not find it
}

std::string CPythonInstall::work_dir(const std::string& host_dir) const {
  if (root.empty()) return host_dir;
  // One folder per interpfuzz process: concurrent runs never share binaries.
  const std::string dir = root + "/tmp/interpfuzz-" + std::to_string(getpid());
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir;
}

std::string CPythonInstall::shell(const std::string& command) const {
  if (root.empty()) return command;
  std::string quoted;  // single-quoted for sh -c
  for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return "chroot '" + root + "' /bin/sh -c '" + quoted + "'";
}

bool CPythonInstall::enter_root_in_child() const {
  if (root.empty()) return true;
  // The mount dies with the namespace, i.e. with the last process of this program: nothing to
  // clean up, and the host's mount table never changes.
  if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) {
    char proc[4096];
    if (snprintf(proc, sizeof proc, "%s/proc", root.c_str()) < static_cast<int>(sizeof proc)) {
      mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);  // best effort
    }
  }
  return chroot(root.c_str()) == 0 && chdir("/") == 0;
}

namespace {

// The interpreter beside the config script ("python3.11d-config" -> "python3.11d") knows its
// exact version; the config script itself does not print it.
std::string exact_version(const CPythonInstall& in) {
  std::string python = in.config.substr(0, in.config.size() - std::string("-config").size());
  int st = 0;
  std::string v = shell_output(
      in.shell("'" + python + "' -c 'import sys; print(sys.version.split()[0])'") + " 2>/dev/null", &st);
  return st == 0 ? v : "";
}

// -L directories also become rpaths: a prefix install's libpython is not on the loader path.
std::string with_rpaths(const std::string& ldflags) {
  std::istringstream in(ldflags);
  std::string word, out = ldflags;
  while (in >> word) {
    if (word.rfind("-L", 0) == 0) out += " -Wl,-rpath," + word.substr(2);
  }
  return out;
}

// `root` "" for the host. A config script named python3.Yd-config is a debug build.
CPythonInstall probe(const std::string& config, const std::string& where, const std::string& root) {
  CPythonInstall in;
  in.config = config;
  in.root = root;
  const std::string name = fs::path(config).filename().string();  // python3.11d-config
  in.debug = name.size() > 8 && name.compare(name.size() - 8, 8, "d-config") == 0;
  in.minor = std::atoi(name.c_str() + std::string("python3.").size());
  if (!fs::exists(root + config)) {
    in.label = "3." + std::to_string(in.minor) + (in.debug ? "-dbg" : "") + " (" + where + ")";
    in.missing = root + config + " not found" +
                 (root.empty() ? " (ci/bootstrap installs it)" : " (ci/cpythons prepares the root)");
    return in;
  }
  const std::string version = exact_version(in);
  in.label = (version.empty() ? "3." + std::to_string(in.minor) : version) +
             (in.debug ? "-dbg" : "") + " (" + where + ")";
  int st = 0;
  in.cflags = shell_output(in.shell("'" + config + "' --includes"), &st);
  if (st != 0) in.missing = config + " --includes failed";
  // --embed exists from 3.8 (bpo-36721); before, --ldflags already links libpython.
  std::string ld = shell_output(in.shell("'" + config + "' --ldflags --embed") + " 2>/dev/null", &st);
  if (st != 0) ld = shell_output(in.shell("'" + config + "' --ldflags"), &st);
  if (st != 0) in.missing = config + " --ldflags failed";
  in.ldflags = with_rpaths(ld);
  return in;
}

bool is_config_script(const std::string& n) {
  // python3.Y-config or python3.Yd-config, not python3-config nor the 3.6/3.7 "m" ABI twin.
  return n.rfind("python3.", 0) == 0 && n.size() > 15 && n.substr(n.size() - 7) == "-config" &&
         n[n.size() - 8] != 'm';
}

}  // namespace

std::optional<CPythonInstall> install_from_spec(const std::string& spec, std::string* error) {
  if (spec.rfind("chroot:", 0) == 0) {
    const size_t colon = spec.find(':', 7);
    if (colon == std::string::npos || colon == 7 || colon + 1 == spec.size()) {
      *error = "--cpython " + spec + ": a chroot SPEC is chroot:ROOT:CONFIG (ci/cpythons prints them)";
      return std::nullopt;
    }
    std::string root = spec.substr(7, colon - 7);
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    const std::string config = spec.substr(colon + 1);
    if (config.empty() || config[0] != '/' || !is_config_script(fs::path(config).filename().string())) {
      *error = "--cpython " + spec + ": CONFIG must be the absolute path of a python3.Y[d]-config inside ROOT";
      return std::nullopt;
    }
    if (!fs::exists(root + config)) {
      *error = "--cpython " + spec + ": " + root + config + " not found (ci/cpythons prepares the root)";
      return std::nullopt;
    }
    return probe(config, "chroot " + fs::path(root).filename().string(), root);
  }
  std::string found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(spec) / "bin", ec)) {
    const std::string n = e.path().filename().string();
    // The release build's script when both are there (the shorter name).
    if (is_config_script(n) && (found.empty() || n.size() < fs::path(found).filename().string().size())) {
      found = e.path().string();
    }
  }
  if (found.empty()) {
    *error = "--cpython " + spec + ": no python3.Y-config in " + spec +
             "/bin (a SPEC is an install prefix or chroot:ROOT:CONFIG)";
    return std::nullopt;
  }
  return probe(found, spec, "");
}

std::optional<CPythonInstall> find_install(const std::string& spec, std::string* error) {
  static const std::regex debian(R"(debian-3\.(\d+)(-dbg)?)");
  std::smatch m;
  if (std::regex_match(spec, m, debian)) {
    return probe("/usr/bin/python3." + m[1].str() + (m[2].matched ? "d" : "") + "-config", "Debian", "");
  }
  std::error_code ec;
  if (spec.rfind("chroot:", 0) != 0 && !fs::is_directory(spec, ec)) {
    *error = "--cpython '" + spec + "' is neither debian-3.Y[-dbg], chroot:ROOT:CONFIG nor an install prefix (a directory)";
    return std::nullopt;
  }
  return install_from_spec(spec, error);
}

std::vector<CPythonInstall> find_installs(const std::vector<std::string>& specs,
                                          std::string* error) {
  // Absolute paths: a pyenv (or venv) earlier on PATH would shadow Debian's scripts.
  std::vector<CPythonInstall> out = {
      probe("/usr/bin/python3.11-config", "Debian", ""),
      probe("/usr/bin/python3.11d-config", "Debian", ""),
  };
  for (const std::string& spec : specs) {
    std::optional<CPythonInstall> in = install_from_spec(spec, error);
    if (!in) return {};
    out.push_back(std::move(*in));
  }
  return out;
}

}  // namespace ifz::harness::conform

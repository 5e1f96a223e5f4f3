// SPDX-License-Identifier: Apache-2.0
// cpython_install.cc — see cpython_install.h.
#include "harness/conform/cpython_install.h"

#include <sys/wait.h>

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

namespace {

// The interpreter beside the config script ("python3.11d-config" -> "python3.11d") knows its
// exact version; the config script itself does not print it.
std::string exact_version(const std::string& config) {
  std::string python = config.substr(0, config.size() - std::string("-config").size());
  int st = 0;
  std::string v = shell_output("'" + python + "' -c 'import sys; print(sys.version.split()[0])' 2>/dev/null", &st);
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

CPythonInstall probe(const std::string& config, const std::string& where, bool debug) {
  CPythonInstall in;
  in.config = config;
  in.debug = debug;
  const std::string name = fs::path(config).filename().string();  // python3.11d-config
  in.minor = std::atoi(name.c_str() + std::string("python3.").size());
  const std::string version = exact_version(config);
  in.label = (version.empty() ? "3." + std::to_string(in.minor) : version) +
             (debug ? "-dbg" : "") + " (" + where + ")";
  if (!fs::exists(config)) {
    in.missing = config + " not found (ci/bootstrap installs it)";
    return in;
  }
  int st = 0;
  in.cflags = shell_output("'" + config + "' --includes", &st);
  if (st != 0) in.missing = config + " --includes failed";
  // --embed exists from 3.8 (bpo-36721); before, --ldflags already links libpython.
  std::string ld = shell_output("'" + config + "' --ldflags --embed 2>/dev/null", &st);
  if (st != 0) ld = shell_output("'" + config + "' --ldflags", &st);
  if (st != 0) in.missing = config + " --ldflags failed";
  in.ldflags = with_rpaths(ld);
  return in;
}

}  // namespace

namespace {

// PREFIX/bin/python3.Y-config (the shortest such name: not the debug twin).
std::optional<CPythonInstall> prefix_install(const std::string& prefix, std::string* error) {
  std::string found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(prefix) / "bin", ec)) {
    const std::string n = e.path().filename().string();
    // python3.Y-config, not python3-config nor the 3.6/3.7 "m" ABI twin.
    if (n.rfind("python3.", 0) == 0 && n.size() > 15 && n.substr(n.size() - 7) == "-config" &&
        n[n.size() - 8] != 'm' && (found.empty() || n.size() < fs::path(found).filename().string().size())) {
      found = e.path().string();
    }
  }
  if (found.empty()) {
    *error = "no python3.Y-config in " + prefix + "/bin (--cpython takes an install prefix)";
    return std::nullopt;
  }
  return probe(found, prefix, false);
}

}  // namespace

std::vector<CPythonInstall> find_installs(const std::vector<std::string>& prefixes,
                                          std::string* error) {
  // Absolute paths: a pyenv (or venv) earlier on PATH would shadow Debian's scripts.
  std::vector<CPythonInstall> out = {
      probe("/usr/bin/python3.11-config", "Debian", false),
      probe("/usr/bin/python3.11d-config", "Debian", true),
  };
  for (const std::string& prefix : prefixes) {
    std::string err;
    auto in = prefix_install(prefix, &err);
    if (!in) {
      *error = "interpfuzz conform: " + err;
      return {};
    }
    out.push_back(*in);
  }
  return out;
}

std::optional<CPythonInstall> find_install(const std::string& spec, std::string* error) {
  static const std::regex debian(R"(debian-3\.(\d+)(-dbg)?)");
  std::smatch m;
  if (std::regex_match(spec, m, debian)) {
    const bool dbg = m[2].matched;
    return probe("/usr/bin/python3." + m[1].str() + (dbg ? "d" : "") + "-config", "Debian", dbg);
  }
  std::error_code ec;
  if (!fs::is_directory(spec, ec)) {
    *error = "'" + spec + "' is neither debian-3.Y[-dbg] nor an install prefix (a directory)";
    return std::nullopt;
  }
  return prefix_install(spec, error);
}

}  // namespace ifz::harness::conform

// SPDX-License-Identifier: Apache-2.0
// atomic_file.cc — write_file_atomic and commit_file (see atomic_file.h).
#include "base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace ifz::base {

namespace {

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void set_error(std::string* error, const std::string& what, const std::string& path) {
  if (error) *error = what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir + "." + name + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
}

bool commit_file(const std::string& tmp, const std::string& path, std::string* error) {
  const int fd = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    set_error(error, "cannot sync", tmp);
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return false;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    set_error(error, "cannot rename " + tmp + " to", path);
    unlink(tmp.c_str());
    return false;
  }
  // The rename is durable once the directory is: without this a power loss may forget it.
  // A directory that cannot be opened or synced (some file systems refuse) loses nothing that
  // a reader could see, so it is not an error.
  const int dir = open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return true;
}

bool write_file_atomic(const std::string& path, std::string_view content, std::string* error) {
  const std::string tmp = temp_name_for(path);
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_error(error, "cannot create", tmp);
    return false;
  }
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      set_error(error, "cannot write", tmp);
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    set_error(error, "cannot write", tmp);
    unlink(tmp.c_str());
    return false;
  }
  // fsync through a new descriptor syncs the same inode: one code path for both callers.
  return commit_file(tmp, path, error);
}

}  // namespace ifz::base

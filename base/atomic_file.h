// SPDX-License-Identifier: Apache-2.0
// atomic_file.h — the one way a file is written so that it is never seen half-written and
// survives a crash or power loss once the call returns true: a temporary file in the same
// directory, written whole, fsync'ed, renamed over the target, and the directory fsync'ed
// (the rename itself lives in the directory's data). A reader sees the old file or the new
// one, never a mix; a crash leaves at most a dot-named temporary, which corpus readers skip.
#pragma once

#include <string>
#include <string_view>

namespace ifz::base {

/// Writes `content` to `path` atomically and durably. Returns false and sets `error` (if not
/// null) on failure, leaving no temporary behind.
bool write_file_atomic(const std::string& path, std::string_view content, std::string* error);

/// The last step of write_file_atomic, for a file made by someone else (a compiler's output):
/// fsyncs `tmp`, renames it to `path` (same directory) and fsyncs the directory. Returns false
/// and sets `error` on failure; `tmp` is removed then.
bool commit_file(const std::string& tmp, const std::string& path, std::string* error);

/// A temporary name for `path` in its directory: `.<name>.tmp.<pid>.<n>`, unique within the
/// machine's processes and within this one.
std::string temp_name_for(const std::string& path);

}  // namespace ifz::base

#include "windows/program_search.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/exec_errors.h"
#include "procsandbox/environment.h"
#include "windows/environment_block.h"

namespace procsandbox::windows_internal {
namespace {

bool IsSeparator(char c) { return c == '\\' || c == '/'; }

bool HasDrive(absl::string_view path) {
  return path.size() >= 2 && absl::ascii_isalpha(path[0]) && path[1] == ':';
}

bool IsPath(absl::string_view program) {
  return program.find_first_of("/\\") != absl::string_view::npos ||
         HasDrive(program);
}

// Rooted ("\\x", "\\\\server\\share") or on a drive ("C:\\x", and "C:x",
// which is relative to that drive's directory: not to join either).
bool IsAbsolute(absl::string_view path) {
  return (!path.empty() && IsSeparator(path[0])) || HasDrive(path);
}

std::string Join(absl::string_view dir, absl::string_view name) {
  if (dir.empty()) return std::string(name);
  if (IsSeparator(dir.back())) return absl::StrCat(dir, name);
  return absl::StrCat(dir, "\\", name);
}

// `path` as the child would find it from `working_dir`.
std::string AsSeenByChild(absl::string_view path,
                          absl::string_view working_dir) {
  if (IsAbsolute(path)) return std::string(path);
  return Join(working_dir, path);
}

bool HasExtension(absl::string_view path) {
  const std::size_t last = path.find_last_of("/\\:");
  const absl::string_view name =
      last == absl::string_view::npos ? path : path.substr(last + 1);
  return name.find('.') != absl::string_view::npos;
}

// The last component of `path` as Windows opens it: without a "::$DATA"
// stream suffix and trailing dots and spaces.
absl::string_view FileNameAsOpened(absl::string_view path) {
  const std::size_t last = path.find_last_of("/\\");
  absl::string_view name =
      last == absl::string_view::npos ? path : path.substr(last + 1);
  if (HasDrive(name) && last == absl::string_view::npos) name.remove_prefix(2);
  constexpr absl::string_view kDataStream = "::$DATA";
  if (name.size() >= kDataStream.size() &&
      absl::EqualsIgnoreCase(name.substr(name.size() - kDataStream.size()),
                             kDataStream)) {
    name.remove_suffix(kDataStream.size());
  }
  while (!name.empty() && (name.back() == '.' || name.back() == ' ')) {
    name.remove_suffix(1);
  }
  return name;
}

std::string Variable(const Environment& env, absl::string_view name,
                     absl::string_view fallback) {
  const Environment::Entry* entry = FindVariable(env, name);
  return entry != nullptr ? entry->value : std::string(fallback);
}

// The files `base` may be, in the order they are tried.
std::vector<std::string> Candidates(const std::string& base,
                                    const std::vector<std::string>& exts) {
  std::vector<std::string> candidates;
  if (HasExtension(base)) candidates.push_back(base);
  for (const std::string& ext : exts) candidates.push_back(base + ext);
  return candidates;
}

std::vector<std::string> Entries(absl::string_view list) {
  std::vector<std::string> entries;
  for (absl::string_view entry : absl::StrSplit(list, ';')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.size() >= 2 && entry.front() == '"' && entry.back() == '"') {
      entry = entry.substr(1, entry.size() - 2);
    }
    if (!entry.empty()) entries.emplace_back(entry);
  }
  return entries;
}

}  // namespace

absl::Status CheckNotBatchFile(absl::string_view program,
                               absl::string_view found) {
  const absl::string_view name = FileNameAsOpened(found);
  const std::size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos) return absl::OkStatus();
  const absl::string_view extension = name.substr(dot);
  if (!absl::EqualsIgnoreCase(extension, ".bat") &&
      !absl::EqualsIgnoreCase(extension, ".cmd")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "start \"", program,
      "\": a batch file (.bat, .cmd) runs through cmd.exe, which parses "
      "its arguments again by other rules ('&', '|', '%' run commands "
      "there); start cmd.exe /d /c with a command line quoted for cmd "
      "instead"));
}

internal::ProgramSearch SearchOf(absl::string_view program,
                                 const Environment& env) {
  internal::ProgramSearch search;
  search.is_path = IsPath(program);
  const Environment::Entry* path = FindVariable(env, "PATH");
  if (!search.is_path && path != nullptr) search.search_path = path->value;
  search.secret = path != nullptr && path->secret;
  return search;
}

absl::StatusOr<std::string> FindProgram(
    absl::string_view program, const Environment& env,
    absl::string_view working_dir,
    const std::function<bool(const std::string&)>& exists) {
  const std::vector<std::string> exts =
      Entries(Variable(env, "PATHEXT", kDefaultPathExt));
  std::vector<std::string> dirs;
  if (IsPath(program)) {
    dirs.emplace_back();  // the program itself, no directory to add
  } else {
    dirs = Entries(Variable(env, "PATH", ""));
  }
  for (const std::string& dir : dirs) {
    const std::string base = AsSeenByChild(Join(dir, program), working_dir);
    for (const std::string& candidate : Candidates(base, exts)) {
      if (exists(candidate)) return candidate;
    }
  }
  return internal::ProgramNotFoundError(program, SearchOf(program, env));
}

}  // namespace procsandbox::windows_internal

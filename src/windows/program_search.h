// Finding the program to start on Windows, in the parent: CreateProcessW
// is given the file itself (lpApplicationName), never asked to search.
//
// CreateProcessW's own search would look in the host's directory, its
// current directory and system directories before PATH, with the host's
// PATH rather than the child's: neither is what the Command says. This is
// the POSIX backends' rule in Windows' spelling: a bare name is looked up in
// the command's PATH only (no implicit current directory), trying the
// extensions of PATHEXT.
//
// Example:
//   absl::StatusOr<std::string> program = FindProgram(
//       "git", command.env, command.working_dir, [](const std::string& p) {
//         DWORD a = GetFileAttributesW(...p...);
//         return a != INVALID_FILE_ATTRIBUTES &&
//                !(a & FILE_ATTRIBUTE_DIRECTORY);
//       });
//   // "C:\\Program Files\\Git\\cmd\\git.exe"
#ifndef PROCSANDBOX_SRC_WINDOWS_PROGRAM_SEARCH_H_
#define PROCSANDBOX_SRC_WINDOWS_PROGRAM_SEARCH_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/exec_errors.h"
#include "procsandbox/environment.h"

namespace procsandbox::windows_internal {

// PATHEXT when the environment has none.
inline constexpr absl::string_view kDefaultPathExt = ".COM;.EXE;.BAT;.CMD";

// The file to start for `program`; `exists(path)` says whether a regular
// file is there (injected: tests fake the disk; it is called with the paths
// tried, in order).
// - A program with a '/' or '\\', or a drive ("C:"), is a path, tried as
//   given; a relative one is relative to `working_dir` (as the child would
//   see it; CreateProcessW would resolve it against the host's directory).
// - A bare name is tried in each entry of env's PATH (';'-separated,
//   surrounding quotes stripped, empty entries skipped; a relative entry is
//   relative to `working_dir`) and nowhere else.
// - In each place: the name as given when it has an extension (a '.' in its
//   last component), then the name with each PATHEXT entry (env's, else
//   kDefaultPathExt). The first file that exists wins.
// PATH and PATHEXT are found ignoring case ("Path"), as Windows does.
// NotFound with the POSIX backends' texts (common/exec_errors.h): `exec
// "go": not found in PATH "C:\bin;D:\x" (ENOENT)`, `in PATH <redacted>`
// when PATH is a secret, `exec "C:\no\such.exe": no such file (ENOENT)`.
absl::StatusOr<std::string> FindProgram(
    absl::string_view program, const Environment& env,
    absl::string_view working_dir,
    const std::function<bool(const std::string&)>& exists);

// Refuses a batch file: `found` (FindProgram's result) whose last component
// ends in ".bat" or ".cmd", ignoring case and what Windows ignores when it
// opens a file (trailing dots and spaces, a "::$DATA" stream suffix).
// CreateProcessW runs a batch file through cmd.exe, which parses the
// command line again by its own rules ('&', '|', '%VAR%', '^' and quotes
// mean other things there), so arguments quoted for a program could run
// commands ("BatBadBut", CVE-2024-24576 and its siblings in Node, Go, Rust).
// Node refuses the same way. InvalidArgument naming `program` and saying
// what to do instead: start cmd.exe /d /c with a line quoted for cmd.
absl::Status CheckNotBatchFile(absl::string_view program,
                               absl::string_view found);

// What FindProgram searched for `program`, for the start errors that follow
// it (common/exec_errors.h: ProgramNotExecutableError(program, found,
// search) for access denied never shows a path found on a secret PATH).
internal::ProgramSearch SearchOf(absl::string_view program,
                                 const Environment& env);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_PROGRAM_SEARCH_H_

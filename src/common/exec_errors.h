// Start-failure Statuses that every manager reports in the same words, so a
// host's handling of them is tested on the fake and holds on the OS.
//
// None shows a secret: when the command's PATH is a secret
// (Environment::SetSecret), neither it nor a path found on it is shown.
#ifndef PROCSANDBOX_SRC_COMMON_EXEC_ERRORS_H_
#define PROCSANDBOX_SRC_COMMON_EXEC_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "procsandbox/environment.h"

namespace procsandbox::internal {

// The PATH searched when a command's environment has none.
inline constexpr absl::string_view kDefaultSearchPath =
    "/usr/local/bin:/usr/bin:/bin";

// The PATH a command's program is looked up in: env's PATH, else the default.
std::string SearchPathOf(const Environment& env);

// How start errors name the program `found` at: `"/usr/bin/go"`, or
// `"go" in PATH <redacted>` when the bare name `program` was looked up in a
// secret PATH (the path found would show one of its entries).
std::string ShownProgram(absl::string_view program, absl::string_view found,
                         const Environment& env);

// NotFound: `exec "go": not found in PATH "/usr/bin:/bin" (ENOENT)` (`in PATH
// <redacted>` when env's PATH is a secret), or for a path:
// `exec "/no/such": no such file (ENOENT)`.
absl::Status ProgramNotFoundError(absl::string_view program,
                                  const Environment& env);
// PermissionDenied: `exec "/etc/passwd": permission denied (EACCES)`, the
// program named as ShownProgram() does.
absl::Status ProgramNotExecutableError(absl::string_view program,
                                       absl::string_view found,
                                       const Environment& env);
// The same three, for a platform whose own rules say whether `program` is a
// path (Windows: a '\\' or a drive too) and where its PATH is (Windows:
// "Path" in any case): `search_path` was searched, `secret` says whether it
// may be shown.
struct ProgramSearch {
  bool is_path = false;
  std::string search_path;
  bool secret = false;
};
std::string ShownProgram(absl::string_view program, absl::string_view found,
                         const ProgramSearch& search);
absl::Status ProgramNotFoundError(absl::string_view program,
                                  const ProgramSearch& search);
absl::Status ProgramNotExecutableError(absl::string_view program,
                                       absl::string_view found,
                                       const ProgramSearch& search);

// NotFound: `open stdin file "in.txt": no such file (ENOENT)`.
absl::Status StdinFileNotFoundError(absl::string_view path);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_EXEC_ERRORS_H_

#include "posix/program_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/exec_errors.h"

namespace procsandbox::posix_internal {
namespace {

// The path as the child will see it after chdir(working_dir).
std::string AsSeenByChild(absl::string_view path,
                          absl::string_view working_dir) {
  if (working_dir.empty() || absl::StartsWith(path, "/"))
    return std::string(path);
  return absl::StrCat(working_dir, "/", path);
}

}  // namespace

absl::StatusOr<std::string> ResolveProgram(absl::string_view program,
                                           const Environment& env,
                                           absl::string_view working_dir) {
  if (program.find('/') != absl::string_view::npos) return std::string(program);
  std::optional<std::string> not_executable;
  const std::string search_path = internal::SearchPathOf(env);
  for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
    const std::string candidate =
        absl::StrCat(dir.empty() ? "." : dir, "/", program);
    const std::string checked = AsSeenByChild(candidate, working_dir);
    struct stat st;
    if (stat(checked.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (faccessat(AT_FDCWD, checked.c_str(), X_OK, AT_EACCESS) == 0) {
      return candidate;
    }
    if (!not_executable.has_value()) not_executable = candidate;
  }
  if (not_executable.has_value()) {
    return internal::ProgramNotExecutableError(program, *not_executable, env);
  }
  return internal::ProgramNotFoundError(program, env);
}

}  // namespace procsandbox::posix_internal

#include "common/exec_errors.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/environment.h"

namespace procsandbox::internal {

std::string SearchPathOf(const Environment& env) {
  std::optional<std::string> path = env.Get("PATH");
  return path.has_value() ? *std::move(path) : std::string(kDefaultSearchPath);
}

absl::Status ProgramNotFoundError(absl::string_view program,
                                  absl::string_view search_path) {
  if (program.find('/') != absl::string_view::npos) {
    return absl::NotFoundError(
        fmt::format("exec \"{}\": no such file (ENOENT)", program));
  }
  return absl::NotFoundError(fmt::format(
      "exec \"{}\": not found in PATH \"{}\" (ENOENT)", program, search_path));
}

absl::Status ProgramNotExecutableError(absl::string_view path) {
  return absl::PermissionDeniedError(
      fmt::format("exec \"{}\": permission denied (EACCES)", path));
}

absl::Status StdinFileNotFoundError(absl::string_view path) {
  return absl::NotFoundError(
      fmt::format("open stdin file \"{}\": no such file (ENOENT)", path));
}

}  // namespace procsandbox::internal

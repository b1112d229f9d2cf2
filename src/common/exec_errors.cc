#include "common/exec_errors.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/environment.h"

namespace procsandbox::internal {
namespace {

constexpr absl::string_view kRedactedPath = "PATH <redacted>";

bool IsPath(absl::string_view program) {
  return program.find('/') != absl::string_view::npos;
}

}  // namespace

std::string SearchPathOf(const Environment& env) {
  std::optional<std::string> path = env.Get("PATH");
  return path.has_value() ? *std::move(path) : std::string(kDefaultSearchPath);
}

std::string ShownProgram(absl::string_view program, absl::string_view found,
                         const Environment& env) {
  if (!IsPath(program) && env.IsSecret("PATH")) {
    return fmt::format("\"{}\" in {}", program, kRedactedPath);
  }
  return fmt::format("\"{}\"", found);
}

absl::Status ProgramNotFoundError(absl::string_view program,
                                  const Environment& env) {
  if (IsPath(program)) {
    return absl::NotFoundError(
        fmt::format("exec \"{}\": no such file (ENOENT)", program));
  }
  const std::string searched =
      env.IsSecret("PATH") ? std::string(kRedactedPath)
                           : fmt::format("PATH \"{}\"", SearchPathOf(env));
  return absl::NotFoundError(
      fmt::format("exec \"{}\": not found in {} (ENOENT)", program, searched));
}

absl::Status ProgramNotExecutableError(absl::string_view program,
                                       absl::string_view found,
                                       const Environment& env) {
  return absl::PermissionDeniedError(
      fmt::format("exec {}: permission denied (EACCES)",
                  ShownProgram(program, found, env)));
}

absl::Status StdinFileNotFoundError(absl::string_view path) {
  return absl::NotFoundError(
      fmt::format("open stdin file \"{}\": no such file (ENOENT)", path));
}

}  // namespace procsandbox::internal

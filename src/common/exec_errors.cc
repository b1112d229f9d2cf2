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

// What a POSIX backend searched for `program`.
ProgramSearch PosixSearch(absl::string_view program, const Environment& env) {
  const bool is_path = program.find('/') != absl::string_view::npos;
  return ProgramSearch{is_path, is_path ? std::string() : SearchPathOf(env),
                       env.IsSecret("PATH")};
}

}  // namespace

std::string SearchPathOf(const Environment& env) {
  std::optional<std::string> path = env.Get("PATH");
  return path.has_value() ? *std::move(path) : std::string(kDefaultSearchPath);
}

std::string ShownProgram(absl::string_view program, absl::string_view found,
                         const ProgramSearch& search) {
  if (!search.is_path && search.secret) {
    return fmt::format("\"{}\" in {}", program, kRedactedPath);
  }
  return fmt::format("\"{}\"", found);
}

absl::Status ProgramNotFoundError(absl::string_view program,
                                  const ProgramSearch& search) {
  if (search.is_path) {
    return absl::NotFoundError(
        fmt::format("exec \"{}\": no such file (ENOENT)", program));
  }
  const std::string searched =
      search.secret ? std::string(kRedactedPath)
                    : fmt::format("PATH \"{}\"", search.search_path);
  return absl::NotFoundError(
      fmt::format("exec \"{}\": not found in {} (ENOENT)", program, searched));
}

absl::Status ProgramNotExecutableError(absl::string_view program,
                                       absl::string_view found,
                                       const ProgramSearch& search) {
  return absl::PermissionDeniedError(
      fmt::format("exec {}: permission denied (EACCES)",
                  ShownProgram(program, found, search)));
}

std::string ShownProgram(absl::string_view program, absl::string_view found,
                         const Environment& env) {
  return ShownProgram(program, found, PosixSearch(program, env));
}

absl::Status ProgramNotFoundError(absl::string_view program,
                                  const Environment& env) {
  return ProgramNotFoundError(program, PosixSearch(program, env));
}

absl::Status ProgramNotExecutableError(absl::string_view program,
                                       absl::string_view found,
                                       const Environment& env) {
  return ProgramNotExecutableError(program, found, PosixSearch(program, env));
}

absl::Status StdinFileNotFoundError(absl::string_view path) {
  return absl::NotFoundError(
      fmt::format("open stdin file \"{}\": no such file (ENOENT)", path));
}

}  // namespace procsandbox::internal

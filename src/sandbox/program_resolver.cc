// ProgramResolver: the host's file system (POSIX realpath and stat) and the
// table the tests use.
#include <limits.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/sandbox.h"

namespace procsandbox {
namespace {

// The places `program` may be: itself when it is a path, else each absolute
// directory of `search_path` joined with it (relative and empty entries are
// skipped: they would depend on the working directory).
std::vector<std::string> Candidates(absl::string_view program,
                                    absl::string_view search_path) {
  if (absl::StrContains(program, '/')) return {std::string(program)};
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
    if (!absl::StartsWith(dir, "/")) continue;
    out.push_back(
        absl::StrCat(dir, absl::EndsWith(dir, "/") ? "" : "/", program));
  }
  return out;
}

absl::Status NotFound(absl::string_view program,
                      absl::string_view search_path) {
  if (absl::StrContains(program, '/')) {
    return absl::NotFoundError(
        fmt::format("resolve \"{}\": no such file", absl::CEscape(program)));
  }
  return absl::NotFoundError(
      fmt::format("resolve \"{}\": not found on PATH \"{}\"",
                  absl::CEscape(program), absl::CEscape(search_path)));
}

absl::Status CheckRequest(absl::string_view program) {
  if (program.empty() || absl::StrContains(program, '\0')) {
    return absl::InvalidArgumentError(fmt::format(
        "resolve \"{}\": empty or with a NUL byte", absl::CEscape(program)));
  }
  if (absl::StrContains(program, '/') && !absl::StartsWith(program, "/")) {
    return absl::InvalidArgumentError(
        fmt::format("resolve \"{}\": a relative path", absl::CEscape(program)));
  }
  return absl::OkStatus();
}

class HostResolver final : public ProgramResolver {
 public:
  absl::StatusOr<ProgramFile> Resolve(
      absl::string_view program, absl::string_view search_path) const override {
    if (absl::Status s = CheckRequest(program); !s.ok()) return s;
    std::optional<std::string> found;
    for (const std::string& candidate : Candidates(program, search_path)) {
      struct stat st;
      if (stat(candidate.c_str(), &st) != 0) continue;
      if (!found.has_value()) found = candidate;
      // As execvpe: the first executable regular file wins.
      if (S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) {
        found = candidate;
        break;
      }
    }
    if (!found.has_value()) return NotFound(program, search_path);
    char resolved[PATH_MAX];
    if (realpath(found->c_str(), resolved) == nullptr) {
      return absl::ErrnoToStatus(
          errno, fmt::format("resolve \"{}\"", absl::CEscape(*found)));
    }
    struct stat st;
    if (stat(resolved, &st) != 0) {
      return absl::ErrnoToStatus(
          errno, fmt::format("stat \"{}\"", absl::CEscape(resolved)));
    }
    ProgramFile file;
    file.path = resolved;
    file.regular_file = S_ISREG(st.st_mode);
    file.executable = (st.st_mode & 0111) != 0;
    file.mode = static_cast<uint32_t>(st.st_mode & 07777);
    return file;
  }
};

}  // namespace

ProgramResolver::~ProgramResolver() = default;

std::shared_ptr<const ProgramResolver> HostProgramResolver() {
  static const auto* const kResolver =
      new std::shared_ptr<const ProgramResolver>(
          std::make_shared<HostResolver>());
  return *kResolver;
}

void FakeProgramResolver::AddProgram(std::string path, uint32_t mode,
                                     bool regular_file) {
  ProgramFile file;
  file.path = path;
  file.regular_file = regular_file;
  file.executable = (mode & 0111) != 0;
  file.mode = mode & 07777;
  files_[std::move(path)] = std::move(file);
}

void FakeProgramResolver::AddSymlink(std::string link, std::string target) {
  links_[std::move(link)] = std::move(target);
}

absl::StatusOr<ProgramFile> FakeProgramResolver::Resolve(
    absl::string_view program, absl::string_view search_path) const {
  if (absl::Status s = CheckRequest(program); !s.ok()) return s;
  for (std::string path : Candidates(program, search_path)) {
    // Follows links as the kernel does, giving up where it would (ELOOP).
    for (int hops = 0; hops < 40; ++hops) {
      auto link = links_.find(path);
      if (link == links_.end()) break;
      path = link->second;
    }
    auto file = files_.find(path);
    if (file != files_.end()) return file->second;
  }
  return NotFound(program, search_path);
}

}  // namespace procsandbox

// ProgramResolver: the host's file system (POSIX realpath and stat) and the
// table the tests use.
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
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
#include "posix/errno_status.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/sandbox/policy.h"

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

// The directories of absolute `path` from "/" down to its parent.
std::vector<std::string> Directories(absl::string_view path) {
  std::vector<std::string> dirs = {"/"};
  for (std::size_t slash = path.find('/', 1); slash != absl::string_view::npos;
       slash = path.find('/', slash + 1)) {
    dirs.emplace_back(path.substr(0, slash));
  }
  return dirs;
}

// Group or others may add, rename and remove its entries.
bool OthersMayReplaceEntries(uint32_t mode) {
  return (mode & 0022) != 0 && (mode & S_ISVTX) == 0;
}

// See ProgramFile::unsafe_location: "" when only root and this user can
// change `path` (resolved: no symlink in it) or the directories above it.
std::string UnsafeLocation(const std::string& path, const struct stat& file) {
  const uid_t me = geteuid();
  auto foreign = [me](uid_t uid) { return uid != 0 && uid != me; };
  for (const std::string& dir : Directories(path)) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
      return std::string(
          posix_internal::ErrnoStatus(
              errno, fmt::format("directory {} cannot be checked", dir))
              .message());
    }
    if (foreign(st.st_uid)) {
      return fmt::format("directory {} is owned by uid {}", dir, st.st_uid);
    }
    if (OthersMayReplaceEntries(static_cast<uint32_t>(st.st_mode))) {
      return fmt::format(
          "directory {} is writable by group or others without the sticky "
          "bit (mode {:04o})",
          dir, st.st_mode & 07777);
    }
  }
  if (foreign(file.st_uid)) {
    return fmt::format("the file is owned by uid {}", file.st_uid);
  }
  return "";
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
      return posix_internal::ErrnoStatus(
          errno, fmt::format("resolve \"{}\"", absl::CEscape(*found)));
    }
    struct stat st;
    if (stat(resolved, &st) != 0) {
      return posix_internal::ErrnoStatus(
          errno, fmt::format("stat \"{}\"", absl::CEscape(resolved)));
    }
    ProgramFile file;
    file.path = resolved;
    file.regular_file = S_ISREG(st.st_mode);
    file.executable = (st.st_mode & 0111) != 0;
    file.mode = static_cast<uint32_t>(st.st_mode & 07777);
    file.unsafe_location = UnsafeLocation(file.path, st);
    return file;
  }
};

// The in-memory fake's registrations, asked at each call.
class MemoryResolver final : public ProgramResolver {
 public:
  explicit MemoryResolver(const MemoryManager& fake) : fake_(fake) {}

  absl::StatusOr<ProgramFile> Resolve(
      absl::string_view program, absl::string_view search_path) const override {
    if (absl::Status s = CheckRequest(program); !s.ok()) return s;
    const std::vector<FakeRegistration> registered = fake_.Registrations();
    auto find =
        [&registered](absl::string_view key) -> const FakeRegistration* {
      auto it =
          std::lower_bound(registered.begin(), registered.end(), key,
                           [](const FakeRegistration& r, absl::string_view k) {
                             return r.name_or_path < k;
                           });
      return it != registered.end() && it->name_or_path == key ? &*it : nullptr;
    };
    for (const std::string& candidate : Candidates(program, search_path)) {
      const FakeRegistration* r = find(candidate);
      if (r == nullptr) continue;
      const bool executable = r->kind != FakeRegistration::Kind::kNotExecutable;
      ProgramFile file;
      file.path = candidate;
      file.regular_file = true;
      file.executable = executable;
      file.mode = executable ? 0755 : 0644;
      return file;
    }
    if (!absl::StrContains(program, '/') && find(program) != nullptr) {
      return absl::NotFoundError(fmt::format(
          "resolve \"{}\": registered with the in-memory manager by bare "
          "name only; a Sandbox runs absolute paths: register a path such as "
          "\"/usr/bin/{}\"",
          absl::CEscape(program), absl::CEscape(program)));
    }
    return NotFound(program, search_path);
  }

 private:
  const MemoryManager& fake_;
};

}  // namespace

ProgramResolver::~ProgramResolver() = default;

std::shared_ptr<const ProgramResolver> MemoryProgramResolver(
    const MemoryManager& fake) {
  return std::make_shared<MemoryResolver>(fake);
}

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

void FakeProgramResolver::AddDirectory(std::string path, uint32_t mode) {
  while (path.size() > 1 && absl::EndsWith(path, "/")) path.pop_back();
  directories_[std::move(path)] = mode & 07777;
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
    if (file == files_.end()) continue;
    ProgramFile found = file->second;
    for (const std::string& dir : Directories(path)) {
      auto d = directories_.find(dir);
      if (d != directories_.end() && OthersMayReplaceEntries(d->second)) {
        found.unsafe_location = fmt::format(
            "directory {} is writable by group or others without the sticky "
            "bit (mode {:04o})",
            dir, d->second);
        break;
      }
    }
    return found;
  }
  return NotFound(program, search_path);
}

}  // namespace procsandbox

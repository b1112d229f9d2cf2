#include "workdir.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "posix/errno_status.h"

namespace procsandbox::cli {
namespace {

absl::Status ErrnoError(absl::string_view what, int err) {
  return posix_internal::ErrnoStatus(err, what);
}

int RemoveEntry(const char* path, const struct stat*, int type, struct FTW*) {
  // FTW_DP: a directory after its contents; everything else is unlinked,
  // symbolic links included (FTW_PHYS: never followed).
  const int rc = type == FTW_DP ? rmdir(path) : unlink(path);
  return rc == 0 || errno == ENOENT ? 0 : errno;
}

}  // namespace

absl::StatusOr<std::string> MakeWorkdir(const std::string& root) {
  std::string templ = root + "/run-XXXXXX";
  std::vector<char> buffer(templ.begin(), templ.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return ErrnoError(
        absl::StrCat("create a working directory in \"", root, "\""), errno);
  }
  return std::string(buffer.data());
}

absl::Status RemoveWorkdir(const std::string& dir) {
  // A program may have made a directory unreadable or unwritable: give the
  // owner access back first (chmod does not follow links under FTW_PHYS).
  nftw(
      dir.c_str(),
      [](const char* path, const struct stat* st, int type, struct FTW*) {
        if (type == FTW_D || type == FTW_DNR) {
          chmod(path, (st->st_mode & 07777) | S_IRWXU);
        }
        return 0;
      },
      64, FTW_PHYS);
  const int err = nftw(dir.c_str(), RemoveEntry, 64, FTW_DEPTH | FTW_PHYS);
  if (err != 0) {
    return ErrnoError(
        absl::StrCat("remove the working directory \"", dir, "\""),
        err > 0 ? err : errno);
  }
  return absl::OkStatus();
}

}  // namespace procsandbox::cli

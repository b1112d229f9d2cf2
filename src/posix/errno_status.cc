#include "posix/errno_status.h"

#include <string.h>

#include <cctype>
#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace procsandbox::posix_internal {

const char* ErrnoNameFromTable(int error_number) {
  switch (error_number) {
    // clang-format off
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EMLINK: return "EMLINK";
    case EPIPE: return "EPIPE";
    case EDOM: return "EDOM";
    case ERANGE: return "ERANGE";
    case EDEADLK: return "EDEADLK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOLCK: return "ENOLCK";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    // clang-format on
    default:
      return nullptr;
  }
}

namespace {

// strerrorname_np and strerrordesc_np are glibc's (2.32+); elsewhere (macOS)
// the table above and strerror_r. Told by the libc's own version macros, not
// a build definition: tools/ compiles this file too.
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#define PROCSANDBOX_HAVE_STRERRORNAME_NP 1
#endif

const char* NameOf(int error_number) {
#if defined(PROCSANDBOX_HAVE_STRERRORNAME_NP)
  return strerrorname_np(error_number);
#else
  return ErrnoNameFromTable(error_number);
#endif
}

std::string DescriptionOf(int error_number) {
#if defined(PROCSANDBOX_HAVE_STRERRORNAME_NP)
  const char* description = strerrordesc_np(error_number);
  return description != nullptr ? description : "unknown error";
#else
  char buffer[256] = {};
  // The XSI strerror_r (int), as macOS has it.
  if (strerror_r(error_number, buffer, sizeof(buffer)) != 0) {
    return "unknown error";
  }
  return buffer;
#endif
}

}  // namespace

const char* ErrnoName(int error_number) {
  const char* name = NameOf(error_number);
  return name != nullptr ? name : "errno ?";
}

absl::Status ErrnoStatus(int error_number, absl::string_view what) {
  std::string cause = DescriptionOf(error_number);
  if (!cause.empty()) {
    cause[0] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  }
  const char* name = NameOf(error_number);
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      absl::StrCat(what, ": ", cause, " (",
                   name != nullptr ? std::string(name)
                                   : absl::StrCat("errno ", error_number),
                   ")"));
}

}  // namespace procsandbox::posix_internal

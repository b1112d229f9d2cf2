#include "posix/errno_status.h"

#include <string.h>

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace procsandbox::posix_internal {

const char* ErrnoName(int error_number) {
  // glibc >= 2.32.
  const char* name = strerrorname_np(error_number);
  return name != nullptr ? name : "errno ?";
}

absl::Status ErrnoStatus(int error_number, absl::string_view what) {
  const char* description = strerrordesc_np(error_number);
  std::string cause = description != nullptr ? description : "unknown error";
  if (!cause.empty()) {
    cause[0] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  }
  const char* name = strerrorname_np(error_number);
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      absl::StrCat(what, ": ", cause, " (",
                   name != nullptr ? std::string(name)
                                   : absl::StrCat("errno ", error_number),
                   ")"));
}

}  // namespace procsandbox::posix_internal

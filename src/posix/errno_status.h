// errno -> absl::Status, once, at the syscall: the canonical code for the
// errno, and a message `<what>: <description> (<ENAME>)`.
#ifndef PROCSANDBOX_SRC_POSIX_ERRNO_STATUS_H_
#define PROCSANDBOX_SRC_POSIX_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace procsandbox::posix_internal {

// "ENOENT" for ENOENT; "errno 4242" for an unknown number.
const char* ErrnoName(int error_number);

// ErrnoStatus(ENOENT, "exec \"/x\"") ->
// NotFound("exec \"/x\": no such file or directory (ENOENT)").
absl::Status ErrnoStatus(int error_number, absl::string_view what);

// Implementation details follow.

// The name of the errnos the library meets, from a table: what ErrnoName
// uses where the libc has no strerrorname_np (macOS); null for others.
const char* ErrnoNameFromTable(int error_number);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_ERRNO_STATUS_H_

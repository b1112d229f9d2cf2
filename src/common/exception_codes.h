// The Windows exception statuses a process can end with, for every manager:
// the Windows backend maps a child's exit code through this table, the fake
// simulates such an end (FakeProcess::Raise), and Outcome's ToString names it,
// on every platform.
//
// A Windows program killed by an unhandled exception (an access violation, a
// stack overflow, __fastfail) "exits" with the exception's NTSTATUS code as
// its exit code. Reported as an exit, 0xC0000005 would read as an exit code
// of -1073741819; these codes are the Windows form of a death by signal, and
// the Outcome says so: kSignaled, the POSIX-numbered signal nearest in
// meaning (SIGSEGV), and Outcome::exception_code.
#ifndef PROCSANDBOX_SRC_COMMON_EXCEPTION_CODES_H_
#define PROCSANDBOX_SRC_COMMON_EXCEPTION_CODES_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace procsandbox::internal {

struct ExceptionExit {
  uint32_t code;           // 0xC0000005
  absl::string_view name;  // "STATUS_ACCESS_VIOLATION"
  int signal;              // the POSIX-numbered equivalent (signals.h)
};

// The entry of a known exception status (see the table in the .cc), or
// null for an ordinary exit code (0, 1, 0xFFFFFFFF, an unknown 0xC...).
const ExceptionExit* FindExceptionExit(uint32_t exit_code);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_EXCEPTION_CODES_H_

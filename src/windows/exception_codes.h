// A Windows child's exit code, read as the neutral OS manager wants it.
//
// GetExitCodeProcess gives one 32-bit code for every end: ExitProcess(3)'s
// 3, ExitProcess(-1)'s 0xFFFFFFFF, and an unhandled exception's NTSTATUS
// (0xC0000005). The known exception statuses are the Windows form of a
// death by signal (common/exception_codes.h holds the table, shared with the
// fake and Outcome's ToString); everything else is an exit.
//
// Example:
//   DWORD code;
//   GetExitCodeProcess(process, &code);
//   os_internal::ChildExit exit;
//   SetExitFromCode(code, &exit);  // 0xC0000005: signaled, SIGSEGV
//   events->OnExit(exit);
#ifndef PROCSANDBOX_SRC_WINDOWS_EXCEPTION_CODES_H_
#define PROCSANDBOX_SRC_WINDOWS_EXCEPTION_CODES_H_

#include <cstdint>

#include "common/exception_codes.h"
#include "os/platform.h"

namespace procsandbox::windows_internal {

// {code, name, signal}: 0xC0000005, "STATUS_ACCESS_VIOLATION", SIGSEGV.
using ExceptionExit = internal::ExceptionExit;
// The known NTSTATUS exception exits; null for an ordinary exit code.
using internal::FindExceptionExit;

// Fills exit's signaled, exit_code, signal and exception_code from
// `exit_code`: a known exception status is signaled with its POSIX-numbered
// signal and exception_code; any other code is an exit with the code as an
// int (0xFFFFFFFF is -1). The caller's cause (a kill of ours, a memory
// limit) still decides the Outcome's reason.
void SetExitFromCode(uint32_t exit_code, os_internal::ChildExit* exit);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_EXCEPTION_CODES_H_

#include "common/exception_codes.h"

#include <cstdint>

#include "common/signals.h"

namespace procsandbox::internal {
namespace {

// Exception statuses (ntstatus.h) that end a process that does not handle
// them, with the signal a POSIX system would have sent for the same fault.
// Not listed: STATUS_DLL_NOT_FOUND and the loader's other codes (the program
// never ran: an exit code), and abort(), which exits with 3.
constexpr ExceptionExit kExceptionExits[] = {
    {0x80000002, "STATUS_DATATYPE_MISALIGNMENT", kSigBus},
    {0x80000003, "STATUS_BREAKPOINT", kSigTrap},
    {0x80000004, "STATUS_SINGLE_STEP", kSigTrap},
    {0xC0000005, "STATUS_ACCESS_VIOLATION", kSigSegv},
    {0xC0000006, "STATUS_IN_PAGE_ERROR", kSigBus},
    // A failed allocation that raises (HEAP_GENERATE_EXCEPTIONS): SIGKILL,
    // as Linux's OOM killer ends a process.
    {0xC0000017, "STATUS_NO_MEMORY", kSigKill},
    {0xC000001D, "STATUS_ILLEGAL_INSTRUCTION", kSigIll},
    {0xC0000025, "STATUS_NONCONTINUABLE_EXCEPTION", kSigAbrt},
    {0xC0000026, "STATUS_INVALID_DISPOSITION", kSigAbrt},
    {0xC000008C, "STATUS_ARRAY_BOUNDS_EXCEEDED", kSigSegv},
    {0xC000008D, "STATUS_FLOAT_DENORMAL_OPERAND", kSigFpe},
    {0xC000008E, "STATUS_FLOAT_DIVIDE_BY_ZERO", kSigFpe},
    {0xC000008F, "STATUS_FLOAT_INEXACT_RESULT", kSigFpe},
    {0xC0000090, "STATUS_FLOAT_INVALID_OPERATION", kSigFpe},
    {0xC0000091, "STATUS_FLOAT_OVERFLOW", kSigFpe},
    {0xC0000092, "STATUS_FLOAT_STACK_CHECK", kSigFpe},
    {0xC0000093, "STATUS_FLOAT_UNDERFLOW", kSigFpe},
    {0xC0000094, "STATUS_INTEGER_DIVIDE_BY_ZERO", kSigFpe},
    {0xC0000095, "STATUS_INTEGER_OVERFLOW", kSigFpe},
    {0xC0000096, "STATUS_PRIVILEGED_INSTRUCTION", kSigIll},
    {0xC00000FD, "STATUS_STACK_OVERFLOW", kSigSegv},
    // Ctrl+C or Ctrl+Break reached a console program that did not handle it.
    {0xC000013A, "STATUS_CONTROL_C_EXIT", kSigInt},
    {0xC0000374, "STATUS_HEAP_CORRUPTION", kSigAbrt},
    // __fastfail (and the /GS stack-cookie check): the CRT's abort path.
    {0xC0000409, "STATUS_STACK_BUFFER_OVERRUN", kSigAbrt},
};

}  // namespace

const ExceptionExit* FindExceptionExit(uint32_t exit_code) {
  for (const ExceptionExit& exit : kExceptionExits) {
    if (exit.code == exit_code) return &exit;
  }
  return nullptr;
}

}  // namespace procsandbox::internal

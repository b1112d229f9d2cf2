#include "windows/exception_codes.h"

#include <cstdint>

#include "common/exception_codes.h"
#include "os/platform.h"

namespace procsandbox::windows_internal {

void SetExitFromCode(uint32_t exit_code, os_internal::ChildExit* exit) {
  const ExceptionExit* exception = FindExceptionExit(exit_code);
  exit->signaled = exception != nullptr;
  exit->exit_code = exception != nullptr ? -1 : static_cast<int>(exit_code);
  exit->signal = exception != nullptr ? exception->signal : 0;
  exit->exception_code = exception != nullptr ? exit_code : 0;
}

}  // namespace procsandbox::windows_internal

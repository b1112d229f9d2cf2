#include "windows/exception_codes.h"

#include <cstdint>

#include "common/signals.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os/platform.h"

namespace procsandbox::windows_internal {
namespace {

TEST(FindExceptionExitTest, KnowsTheCommonCrashesWithTheirSignals) {
  struct Case {
    uint32_t code;
    const char* name;
    int signal;
  };
  const Case kCases[] = {
      {0xC0000005, "STATUS_ACCESS_VIOLATION", internal::kSigSegv},
      {0xC00000FD, "STATUS_STACK_OVERFLOW", internal::kSigSegv},
      {0xC0000094, "STATUS_INTEGER_DIVIDE_BY_ZERO", internal::kSigFpe},
      {0xC0000095, "STATUS_INTEGER_OVERFLOW", internal::kSigFpe},
      {0xC000001D, "STATUS_ILLEGAL_INSTRUCTION", internal::kSigIll},
      {0xC0000409, "STATUS_STACK_BUFFER_OVERRUN", internal::kSigAbrt},
      {0x80000003, "STATUS_BREAKPOINT", internal::kSigTrap},
      {0xC000013A, "STATUS_CONTROL_C_EXIT", internal::kSigInt},
      {0xC0000017, "STATUS_NO_MEMORY", internal::kSigKill},
  };
  for (const Case& c : kCases) {
    const ExceptionExit* exit = FindExceptionExit(c.code);
    ASSERT_NE(exit, nullptr) << c.name;
    EXPECT_EQ(exit->code, c.code);
    EXPECT_EQ(exit->name, c.name);
    EXPECT_EQ(exit->signal, c.signal) << c.name;
  }
}

TEST(FindExceptionExitTest, AnOrdinaryExitCodeIsNoException) {
  for (uint32_t code : {0u, 1u, 3u, 255u, 0xFFFFFFFFu, 0xC0000135u}) {
    EXPECT_EQ(FindExceptionExit(code), nullptr) << code;
  }
}

TEST(SetExitFromCodeTest, AnExceptionIsSignaledWithItsCode) {
  os_internal::ChildExit exit;
  SetExitFromCode(0xC0000005, &exit);
  EXPECT_TRUE(exit.signaled);
  EXPECT_EQ(exit.exit_code, -1);
  EXPECT_EQ(exit.signal, internal::kSigSegv);
  EXPECT_EQ(exit.exception_code, 0xC0000005u);
}

TEST(SetExitFromCodeTest, AnyOtherCodeIsAnExitAsAnInt) {
  os_internal::ChildExit exit;
  SetExitFromCode(0xFFFFFFFF, &exit);  // ExitProcess(-1)
  EXPECT_FALSE(exit.signaled);
  EXPECT_EQ(exit.exit_code, -1);
  EXPECT_EQ(exit.signal, 0);
  EXPECT_EQ(exit.exception_code, 0u);
  SetExitFromCode(42, &exit);
  EXPECT_EQ(exit.exit_code, 42);
}

}  // namespace
}  // namespace procsandbox::windows_internal

// The errno names of src/posix where the libc has no strerrorname_np (macOS):
// the table gives glibc's names, checked here against glibc itself.
#include <string.h>

#include <cerrno>

#include "gtest/gtest.h"
#include "posix/errno_status.h"

namespace procsandbox::posix_internal {
namespace {

TEST(ErrnoNamesTest, TheTableNamesEachErrnoAsGlibcDoes) {
  int named = 0;
  for (int e = 1; e < 200; ++e) {
    const char* table = ErrnoNameFromTable(e);
    if (table == nullptr) continue;
    ++named;
#if defined(__GLIBC__)
    const char* glibc = strerrorname_np(e);
    ASSERT_NE(glibc, nullptr) << e;
    EXPECT_STREQ(table, glibc) << e;
#endif
  }
  EXPECT_GE(named, 40);
  EXPECT_STREQ(ErrnoNameFromTable(ENOENT), "ENOENT");
  EXPECT_EQ(ErrnoNameFromTable(0), nullptr);
}

}  // namespace
}  // namespace procsandbox::posix_internal

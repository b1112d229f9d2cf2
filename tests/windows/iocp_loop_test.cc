// IocpLoop, the Windows manager's thread over a completion port: an
// overlapped read still in flight when the loop stops (a child reaped
// while its output drained, as the manager goes) is ended with it, never
// left to the system with its operation freed.
#ifdef _WIN32

#include "windows/iocp_loop.h"

#include <windows.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "windows/pipes.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {
namespace {

TEST(IocpLoopTest, StopEndsTheReadsStillInFlight) {
  absl::StatusOr<std::unique_ptr<IocpLoop>> loop = IocpLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  UniqueHandle ours;
  UniqueHandle theirs;
  ASSERT_TRUE(
      MakePipe(/*parent_reads=*/true, /*overlapped=*/true, 4096, ours, theirs)
          .ok());
  ASSERT_TRUE((*loop)->Associate(ours.get()).ok());
  std::string block(64, '\0');
  HANDLE h = ours.get();
  char* data = block.data();
  auto owner = std::make_shared<int>(0);
  const std::weak_ptr<int> watched = owner;
  ASSERT_EQ((*loop)->StartIo(
                h,
                [h, data](OVERLAPPED* ov) {
                  return ReadFile(h, data, 64, nullptr, ov);
                },
                [owner](DWORD, DWORD) {}),
            DWORD{0});
  owner.reset();
  (*loop)->Stop();
  EXPECT_TRUE(watched.expired());  // the operation is freed
  // So the read is over: what comes now stays in the pipe, rather than
  // going to a read whose OVERLAPPED the system would write once freed.
  DWORD written = 0;
  ASSERT_TRUE(WriteFile(theirs.get(), "late", 4, &written, nullptr));
  DWORD available = 0;
  ASSERT_TRUE(
      PeekNamedPipe(ours.get(), nullptr, 0, nullptr, &available, nullptr));
  EXPECT_EQ(available, DWORD{4});
  EXPECT_EQ(block, std::string(64, '\0'));
}

}  // namespace
}  // namespace procsandbox::windows_internal

#endif  // _WIN32

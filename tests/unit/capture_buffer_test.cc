// CaptureBuffer (src/os): the text Stdio::Capture keeps of a stream, grown
// up to the output cap, its pages advised and prefaulted before the writes.
#include "os/capture_buffer.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "os/platform.h"

namespace procsandbox::os_internal {
namespace {

// Records the hints; spawns nothing.
class HintPlatform final : public Platform {
 public:
  struct Range {
    uintptr_t begin;
    uintptr_t end;
  };

  EventLoop& loop() override { std::abort(); }
  const Capabilities& capabilities() const override { return capabilities_; }
  absl::Status CheckHost(absl::string_view) const override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<Child>> Spawn(const SpawnRequest&) override {
    return absl::UnimplementedError("spawn: not in this test");
  }
  void Started(const Child&) override {}
  void AdviseBulkWrite(char* block, std::size_t size) override {
    advised.push_back(At(block, size));
  }
  void Prefault(char* begin, std::size_t size) override {
    prefaulted.push_back(At(begin, size));
  }
  void StopLoop() override {}
  void RemoveContainers() override {}

  // Whether the prefaulted ranges cover [begin, begin + size).
  bool Covered(const char* begin, std::size_t size) const {
    uintptr_t at = reinterpret_cast<uintptr_t>(begin);
    const uintptr_t end = at + size;
    for (bool grew = true; grew && at < end;) {
      grew = false;
      for (const Range& r : prefaulted) {
        if (r.begin <= at && at < r.end) {
          at = r.end;
          grew = true;
        }
      }
    }
    return at >= end;
  }

  std::vector<Range> advised;
  std::vector<Range> prefaulted;

 private:
  static Range At(const char* p, std::size_t size) {
    const auto begin = reinterpret_cast<uintptr_t>(p);
    return {begin, begin + size};
  }
  Capabilities capabilities_;
};

std::string Block(std::size_t size, char c) { return std::string(size, c); }

TEST(CaptureBufferTest, KeepsWhatIsAppendedAndHandsItOverOnce) {
  HintPlatform platform;
  CaptureBuffer buffer;
  std::string expected;
  for (int i = 0; i < 40; ++i) {
    const std::string block = Block(100'000 + i, static_cast<char>('a' + i));
    buffer.Append(block, std::nullopt, platform);
    expected += block;
    ASSERT_EQ(buffer.text(), expected);
    // Every byte kept was written to prefaulted pages.
    EXPECT_TRUE(platform.Covered(buffer.text().data(), buffer.text().size()))
        << "after block " << i;
  }
  const char* data = buffer.text().data();
  std::string taken = buffer.Take();
  EXPECT_EQ(taken, expected);
  EXPECT_EQ(taken.data(), data);  // moved, not copied
  EXPECT_TRUE(buffer.text().empty());
  buffer.Append("more", std::nullopt, platform);
  EXPECT_EQ(buffer.text(), "more");
}

TEST(CaptureBufferTest, GrowsGeometricallyAndAdvisesEachNewBlock) {
  HintPlatform platform;
  CaptureBuffer buffer;
  const std::string block = Block(256 * 1024, 'x');
  for (int i = 0; i < 64; ++i) buffer.Append(block, std::nullopt, platform);
  // 16 MiB in 256 KiB blocks: a new block per doubling, not per append.
  EXPECT_LE(platform.advised.size(), 10u);
  EXPECT_GE(buffer.text().capacity(), buffer.text().size());
  EXPECT_LT(buffer.text().capacity(), 2 * buffer.text().size() + 1);
  const HintPlatform::Range& last = platform.advised.back();
  EXPECT_EQ(last.begin, reinterpret_cast<uintptr_t>(buffer.text().data()));
  EXPECT_GE(last.end - last.begin, buffer.text().size());
}

TEST(CaptureBufferTest, NeverGrowsPastWhatTheCapAllows) {
  HintPlatform platform;
  CaptureBuffer buffer;
  constexpr std::size_t kCap = (std::size_t{3} << 20) + 12345;
  const std::string block = Block(256 * 1024, 'y');
  std::size_t kept = 0;
  while (kept < kCap) {
    const std::size_t n = std::min(block.size(), kCap - kept);
    kept += n;
    buffer.Append(absl::string_view(block).substr(0, n), kCap - kept, platform);
    EXPECT_LE(buffer.text().capacity(), kCap) << "at " << kept;
  }
  EXPECT_EQ(buffer.text().size(), kCap);
  // The prefaulting stays inside the block too.
  const auto begin = reinterpret_cast<uintptr_t>(buffer.text().data());
  for (const HintPlatform::Range& r : platform.prefaulted) {
    if (r.begin >= begin && r.begin < begin + buffer.text().capacity()) {
      EXPECT_LE(r.end, begin + buffer.text().capacity());
    }
  }
}

TEST(CaptureBufferTest, GoesStraightToANearCapOnceTheTextIsLarge) {
  HintPlatform platform;
  CaptureBuffer buffer;
  constexpr std::size_t kCap = std::size_t{40} << 20;
  const std::string block = Block(256 * 1024, 'z');
  std::size_t kept = 0;
  while (kept < kCap) {
    kept += block.size();
    buffer.Append(block, kCap - kept, platform);
    if (kept > (std::size_t{4} << 20)) {
      // Past 4 MiB, with the cap within 16x: one block of the cap's size.
      EXPECT_EQ(buffer.text().capacity(), kCap) << "at " << kept;
    }
  }
  EXPECT_EQ(buffer.text().size(), kCap);
  // 256 KiB doubled up to 4 MiB (5 blocks), then the cap.
  EXPECT_EQ(platform.advised.size(), 6u);
  EXPECT_TRUE(platform.Covered(buffer.text().data(), buffer.text().size()));
}

TEST(CaptureBufferTest, DoublesWhenTheCapIsFar) {
  HintPlatform platform;
  CaptureBuffer buffer;
  const std::string block = Block(256 * 1024, 'w');
  std::size_t kept = 0;
  for (int i = 0; i < 40; ++i) {  // 10 MiB of a 1 GiB cap
    kept += block.size();
    buffer.Append(block, (std::size_t{1} << 30) - kept, platform);
  }
  EXPECT_EQ(buffer.text().capacity(), std::size_t{16} << 20);
}

}  // namespace
}  // namespace procsandbox::os_internal

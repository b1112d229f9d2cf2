// The Linux Platform: the reactor as the manager's loop, the capabilities
// probed at creation, and the spawn of a LinuxChild.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "linux/linux_child.h"
#include "os/platform.h"
#include "posix/sigchld.h"

namespace procsandbox::linux_internal {
namespace {

class LinuxPlatform final : public os_internal::Platform {
 public:
  explicit LinuxPlatform(std::shared_ptr<OsManagerCore> core)
      : core_(std::move(core)) {}

  os_internal::EventLoop& loop() override { return *core_->reactor; }

  const Capabilities& capabilities() const override {
    return core_->capabilities;
  }

  absl::Status CheckHost(absl::string_view label) const override {
    // waitid on the pidfd fails for a child the kernel reaped itself.
    return posix_internal::CheckSigchldNotIgnored(label);
  }

  absl::StatusOr<std::shared_ptr<os_internal::Child>> Spawn(
      const os_internal::SpawnRequest& request) override {
    auto child = std::make_shared<LinuxChild>(core_);
    // On failure the child's destructor removes its groups and closes its
    // descriptors.
    if (absl::Status s = child->Start(request); !s.ok()) return s;
    return std::shared_ptr<os_internal::Child>(std::move(child));
  }

  void Started(const os_internal::Child& child) override {
    if (core_->spare_groups > 0 &&
        static_cast<const LinuxChild&>(child).has_cgroups()) {
      // The next process's groups, made after this spawn (not competing
      // with it for the CPU), on the reactor thread.
      core_->reactor->Post([core = core_] { core->PrepareSpares(); });
    }
  }

  void AdviseBulkWrite(char* block, std::size_t size) override {
    // The whole huge pages inside the block only: the memory around it is
    // not ours to advise. (Offsets from the block's own pointer: no
    // integer becomes a pointer.)
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t lead =
        (kHuge - reinterpret_cast<uintptr_t>(block) % kHuge) % kHuge;
    if (size <= lead) return;
    const std::size_t length = (size - lead) / kHuge * kHuge;
    if (length > 0) (void)madvise(block + lead, length, MADV_HUGEPAGE);
  }

  void Prefault(char* begin, std::size_t size) override {
#ifdef MADV_POPULATE_WRITE
    if (size == 0) return;
    // Whole pages: each holds a byte of the range, so each is mapped and
    // writable; populating does not change what they hold. EINVAL before
    // Linux 5.14; then the writes fault the pages in as before.
    static const auto kPageBytes =
        static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t back = reinterpret_cast<uintptr_t>(begin) % kPageBytes;
    const std::size_t length =
        (back + size + kPageBytes - 1) / kPageBytes * kPageBytes;
    (void)madvise(begin - back, length, MADV_POPULATE_WRITE);
#else
    (void)begin;
    (void)size;
#endif
  }

  void StopLoop() override {
    // Stopped before the pointer is cleared: a callback still running may
    // use core_->reactor.
    core_->reactor->Stop();
    core_->reactor.reset();
  }

  void RemoveContainers() override { core_->RemoveGroups(); }

 private:
  std::shared_ptr<OsManagerCore> core_;
};

}  // namespace

std::unique_ptr<os_internal::Platform> NewLinuxPlatform(
    std::shared_ptr<OsManagerCore> core) {
  return std::make_unique<LinuxPlatform>(std::move(core));
}

}  // namespace procsandbox::linux_internal

// WindowsChild's host pipes (os/platform.h): the stdin a host thread
// writes, and the stdout/stderr the loop reads into a buffer for the host.
#include <windows.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "windows/win_error.h"
#include "windows/windows_child.h"

namespace procsandbox::windows_internal {

using ::procsandbox::os_internal::HostRead;
using ::procsandbox::os_internal::HostStdin;

namespace {

// How long DrainHostPipe waits for the read it cancelled.
constexpr int kCancelWaitMs = 100;
// Host stdin goes out in writes this large.
constexpr std::size_t kWriteBlock = std::size_t{1} << 20;

class PipeHostStdin final : public HostStdin {
 public:
  explicit PipeHostStdin(UniqueHandle pipe) : pipe_(std::move(pipe)) {}
  absl::Status Write(absl::string_view data, bool& reader_gone) override {
    absl::MutexLock lock(&mu_);  // one writer at a time keeps bytes whole
    while (!data.empty()) {
      DWORD n = 0;
      const DWORD chunk =
          static_cast<DWORD>(std::min<std::size_t>(data.size(), kWriteBlock));
      if (!WriteFile(pipe_.get(), data.data(), chunk, &n, nullptr)) {
        const DWORD err = GetLastError();
        reader_gone = err == ERROR_NO_DATA || err == ERROR_BROKEN_PIPE;
        return WinErrorStatus(err, "write to stdin");
      }
      data.remove_prefix(n);
    }
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  const UniqueHandle pipe_;
};

}  // namespace

std::shared_ptr<HostStdin> WindowsChild::NewHostStdin(UniqueHandle pipe) {
  return std::make_shared<PipeHostStdin>(std::move(pipe));
}

std::shared_ptr<HostStdin> WindowsChild::TakeHostStdin() {
  return std::move(host_stdin_);
}

bool WindowsChild::HostPipeOpen(Stream stream) const {
  if (stream == Stream::kStdin) return false;
  const Output& o = OutputOf(stream);
  if (o.kind != Stdio::Kind::kPipe) return false;
  absl::MutexLock lock(&o.host_mu);
  return o.host_open;
}

absl::StatusOr<bool> WindowsChild::AwaitHostPipe(Stream stream,
                                                 absl::Duration wait) {
  Output& o = OutputOf(stream);
  const absl::Time deadline = absl::Now() + wait;
  absl::MutexLock lock(&o.host_mu);
  while (o.host_open && o.host.empty() && !o.host_end) {
    if (o.host_cv.WaitWithDeadline(&o.host_mu, deadline)) break;
  }
  return !o.host_open || !o.host.empty() || o.host_end;
}

HostRead WindowsChild::ReadHostPipe(Stream stream, std::string& buffer) {
  Output& o = OutputOf(stream);
  absl::MutexLock lock(&o.host_mu);
  if (!o.host.empty()) {
    buffer.append(o.host);
    o.host.clear();
    if (o.paused) {
      o.paused = false;
      loop_->Post(
          [self = shared_from_this(), stream] { self->IssueRead(stream); });
    }
    return HostRead::kData;
  }
  return o.host_end || !o.host_open ? HostRead::kEnd : HostRead::kNothing;
}

void WindowsChild::DrainHostPipe(Stream stream, std::string& buffer) {
  Output& o = OutputOf(stream);
  if (o.kind != Stdio::Kind::kPipe) return;
  {
    absl::MutexLock lock(&o.host_mu);
    if (!o.host_open) return;
    buffer.append(o.host);
    o.host.clear();
  }
  if (!o.closed && o.handle.valid()) {
    HANDLE h = o.handle.get();
    // Whether a read of ours may still be pending: a new read would queue
    // behind it and could wait for bytes that never come.
    bool read_pending = false;
    if (o.op != nullptr) {
      read_pending = true;
      // The read in flight: what it got is taken now (its completion comes
      // later and finds the output closed).
      // Bounded: a read the cancel does not end at once ends when the
      // handle closes below (its Operation lives until its completion).
      CancelIoEx(h, &o.op->overlapped);
      for (int waited_ms = 0; waited_ms < kCancelWaitMs; ++waited_ms) {
        DWORD n = 0;
        if (GetOverlappedResult(h, &o.op->overlapped, &n, FALSE)) {
          buffer.append(o.block.data(), n);
          read_pending = false;
          break;
        }
        if (GetLastError() != ERROR_IO_INCOMPLETE) {
          read_pending = false;  // cancelled or failed: it is over
          break;
        }
        Sleep(1);
      }
    }
    // What the pipe still holds, without waiting for more: a read with an
    // event of its own, its completion kept off the port (the low bit).
    // Never behind a read still pending: what it holds is then dropped with
    // the pipe (a bounded loss) rather than the loop thread blocked.
    UniqueHandle event(CreateEventW(nullptr, TRUE, FALSE, nullptr));
    DWORD available = 0;
    while (!read_pending && event.valid() &&
           PeekNamedPipe(h, nullptr, 0, nullptr, &available, nullptr) &&
           available > 0) {
      std::string block(std::min<std::size_t>(available, kReadBlock), '\0');
      OVERLAPPED ov = {};
      ov.hEvent = reinterpret_cast<HANDLE>(
          reinterpret_cast<uintptr_t>(event.get()) | 1);
      DWORD n = 0;
      if (!ReadFile(h, block.data(), static_cast<DWORD>(block.size()), nullptr,
                    &ov) &&
          GetLastError() != ERROR_IO_PENDING) {
        break;
      }
      if (!GetOverlappedResult(h, &ov, &n, TRUE) || n == 0) break;
      buffer.append(block.data(), n);
    }
    CloseOutput(o);
  }
  o.closed = true;
  absl::MutexLock lock(&o.host_mu);
  o.host_open = false;
  o.host_end = true;
  o.host_cv.SignalAll();
}

}  // namespace procsandbox::windows_internal

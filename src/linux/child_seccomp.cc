// The seccomp step: the parent's plan (compiled programs, the socket pair),
// the child's install (raw syscalls only: see the rules of spawn_child.cc),
// and the parent's side of the listener.
#include "linux/child_seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/isolation_enforcement.h"
#include "linux/seccomp_filter.h"
#include "posix/errno_status.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::UniqueFd;

namespace {

// A filter that itself rules on sendmsg could stop the child sending the
// listener: it gets the plain program.
bool RulesOnSendmsg(const SeccompFilter& filter) {
  for (const SeccompRule& rule : filter.rules) {
    if (rule.syscall == "sendmsg") return true;
  }
  return false;
}

}  // namespace

bool SeccompListenerAvailable() {
  static const bool kAvailable = [] {
    uint32_t action = SECCOMP_RET_USER_NOTIF;
    return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
  }();
  return kAvailable;
}

IsolationEnforcement ProbeSeccomp() {
  IsolationEnforcement e;
  e.kind = IsolationKind::kSeccomp;
  absl::StatusOr<std::string> library = SeccompLibrary();
  if (!library.ok()) {
    e.detail = std::string(library.status().message());
    return e;
  }
  // SECCOMP_RET_KILL_PROCESS (Linux 4.14) is the least the filters need.
  uint32_t kill = SECCOMP_RET_KILL_PROCESS;
  if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kill) != 0) {
    e.detail = std::string(ErrnoStatus(errno,
                                       "the kernel has no seccomp filters with "
                                       "SECCOMP_RET_KILL_PROCESS (Linux 4.14)")
                               .message());
    return e;
  }
  e.enforced = true;
  e.detail = absl::StrCat(
      "BPF filter (", *library, ") installed before exec; kill rules ",
      SeccompListenerAvailable()
          ? "reported with the call (SECCOMP_RET_USER_NOTIF listener)"
          : "kill the process (SIGSYS; the call is not known)");
  return e;
}

absl::StatusOr<std::shared_ptr<const SeccompPlan>> PlanSeccomp(
    const Isolation& isolation) {
  const SeccompFilter& filter = *isolation.seccomp;
  auto plan = std::make_shared<SeccompPlan>();
  absl::StatusOr<std::vector<sock_filter>> plain =
      CompileSeccompFilter(filter, SeccompCompileOptions{});
  if (!plain.ok()) return plain.status();
  plan->plain = *std::move(plain);
  if (internal::SeccompKills(isolation) && !RulesOnSendmsg(filter) &&
      SeccompListenerAvailable()) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return ErrnoStatus(errno,
                         "start: a socket pair for the seccomp listener");
    }
    // Above the standard descriptors: a host with 0, 1 or 2 closed gets
    // one of them, which the child's stdio step would replace.
    for (int& fd : fds) {
      if (fd >= 3) continue;
      const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      const int err = errno;
      close(fd);
      fd = moved;
      if (moved < 0) {
        for (int other : fds) {
          if (other >= 0) close(other);
        }
        return ErrnoStatus(err, "start: move the seccomp listener's socket");
      }
    }
    plan->parent_socket.reset(fds[0]);
    plan->child_socket.reset(fds[1]);
    plan->child_socket_fd = fds[1];
    SeccompCompileOptions options;
    options.notify_kills = true;
    options.allow_sendmsg_fd = fds[1];
    absl::StatusOr<std::vector<sock_filter>> listened =
        CompileSeccompFilter(filter, options);
    if (!listened.ok()) return listened.status();
    plan->listened = *std::move(listened);
    plan->listened_prog.len = static_cast<uint16_t>(plan->listened.size());
    plan->listened_prog.filter = plan->listened.data();
  }
  plan->plain_prog.len = static_cast<uint16_t>(plan->plain.size());
  plan->plain_prog.filter = plan->plain.data();
  return std::shared_ptr<const SeccompPlan>(std::move(plan));
}

PROCSANDBOX_CHILD_CODE bool InstallSeccomp(const SeccompPlan& plan, int* part) {
  *part = 0;
  if (plan.listened_prog.len != 0) {
    const int64_t listener =
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_NEW_LISTENER, &plan.listened_prog);
    if (listener >= 0) {
      // The listener is close-on-exec (the kernel makes it so), as is the
      // socket: the program holds neither.
      char byte = 0;
      struct iovec iov = {&byte, 1};
      alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
      __builtin_memset(control, 0, sizeof(control));
      struct msghdr msg = {};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      const int fd = static_cast<int>(listener);
      __builtin_memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
      if (syscall(SYS_sendmsg, plan.child_socket_fd, &msg, MSG_NOSIGNAL) != 1) {
        *part = 1;
        return false;
      }
      return true;
    }
    // EBUSY: a filter of the host already has a listener (one per chain).
    if (errno != EBUSY) return false;
  }
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &plan.plain_prog) ==
         0;
}

absl::Status SeccompStepError(int err, int part) {
  return ErrnoStatus(err, part == 1 ? "start: send the seccomp listener"
                                    : "start: install the seccomp filter");
}

UniqueFd ReceiveSeccompListener(const SeccompPlan& plan) {
  if (!plan.parent_socket.valid()) return UniqueFd();
  char byte = 0;
  struct iovec iov = {&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  // The child sent it before execve, which the parent waited for: it is
  // there now, or never (the plain program was installed).
  ssize_t n;
  do {
    n = recvmsg(plan.parent_socket.get(), &msg,
                MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return UniqueFd();
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET ||
      cmsg->cmsg_type != SCM_RIGHTS) {
    return UniqueFd();
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
  return UniqueFd(fd);
}

bool ReadSeccompViolation(int listener, SeccompViolation& violation) {
  // RECV blocks on an empty queue: ask first (another notification may have
  // been taken, or the process killed, since the wake-up).
  struct pollfd p = {listener, POLLIN, 0};
  if (poll(&p, 1, 0) != 1 || (p.revents & POLLIN) == 0) return false;
  struct seccomp_notif notif;
  std::memset(&notif, 0, sizeof(notif));  // the kernel wants it zeroed
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &notif) != 0) return false;
  violation.syscall = notif.data.nr;
  // The pid means that process only while the notification is pending.
  violation.pid = ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &notif.id) == 0
                      ? static_cast<int>(notif.pid)
                      : 0;
  return true;
}

}  // namespace procsandbox::linux_internal

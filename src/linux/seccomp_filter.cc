// Isolation::seccomp compiled by libseccomp, for the native architecture.
#include "linux/seccomp_filter.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "posix/errno_status.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal {
namespace {

// SCMP_A0 without its C99 compound literal (not C++).
scmp_arg_cmp Arg0(scmp_compare op, scmp_datum_t a, scmp_datum_t b) {
  scmp_arg_cmp cmp = {};
  cmp.arg = 0;
  cmp.op = op;
  cmp.datum_a = a;
  cmp.datum_b = b;
  return cmp;
}

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::UniqueFd;

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

uint32_t ActionOf(SeccompAction action, bool notify_kills) {
  switch (action) {
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kEperm:
      return SCMP_ACT_ERRNO(EPERM);
    case SeccompAction::kEnosys:
      return SCMP_ACT_ERRNO(ENOSYS);
    case SeccompAction::kKill:
      return notify_kills ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
  }
  return SCMP_ACT_KILL_PROCESS;
}

absl::Status LibseccompError(int result, absl::string_view what) {
  return absl::InternalError(absl::StrCat(
      "compile the seccomp filter: ", what, ": ",
      posix_internal::ErrnoStatus(-result, "libseccomp").message()));
}

// The BPF program of `ctx`: libseccomp 2.5 exports to a descriptor only,
// so through an anonymous memory file.
absl::StatusOr<std::vector<sock_filter>> Export(const Context& ctx) {
  UniqueFd file(memfd_create("procsandbox-seccomp", MFD_CLOEXEC));
  if (!file.valid()) {
    return ErrnoStatus(errno, "compile the seccomp filter: memfd_create");
  }
  if (int r = seccomp_export_bpf(ctx.get(), file.get()); r != 0) {
    return LibseccompError(r, "export");
  }
  struct stat st = {};
  if (fstat(file.get(), &st) != 0) {
    return ErrnoStatus(errno, "compile the seccomp filter: fstat");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    return absl::InternalError(absl::StrCat(
        "compile the seccomp filter: libseccomp wrote ", size, " bytes"));
  }
  std::vector<sock_filter> program(size / sizeof(sock_filter));
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        pread(file.get(), reinterpret_cast<char*>(program.data()) + done,
              size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return ErrnoStatus(n < 0 ? errno : EIO,
                         "compile the seccomp filter: read it back");
    }
    done += static_cast<std::size_t>(n);
  }
  return program;
}

}  // namespace

absl::StatusOr<std::string> SeccompLibrary() {
  const scmp_version* v = seccomp_version();
  return absl::StrCat("libseccomp ", v->major, ".", v->minor, ".", v->micro);
}

absl::StatusOr<std::vector<sock_filter>> CompileSeccompFilter(
    const SeccompFilter& filter, const SeccompCompileOptions& options) {
  // Names first: every unknown one in a single error.
  std::vector<int> numbers;
  std::vector<std::string> unknown;
  numbers.reserve(filter.rules.size());
  for (const SeccompRule& rule : filter.rules) {
    const int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) unknown.push_back(rule.syscall);
    numbers.push_back(nr);
  }
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("compile the seccomp filter: unknown syscall",
                     unknown.size() > 1 ? "s " : " ",
                     absl::StrJoin(unknown, ", ",
                                   [](std::string* out, const std::string& s) {
                                     absl::StrAppend(out, "\"", s, "\"");
                                   })));
  }

  const uint32_t default_action =
      ActionOf(filter.default_action, options.notify_kills);
  Context ctx(seccomp_init(default_action));
  if (ctx == nullptr) {
    return absl::InternalError(
        "compile the seccomp filter: seccomp_init failed");
  }
  // Another architecture's calls (i386 through int 0x80 on x86_64) would
  // bypass the rules: they kill the process. A binary tree of the calls
  // keeps long allow lists cheap.
  if (int r = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH,
                               SCMP_ACT_KILL_PROCESS);
      r != 0) {
    return LibseccompError(r, "set the bad-architecture action");
  }
  (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  const int execve_nr = seccomp_syscall_resolve_name("execve");
  const int exit_group_nr = seccomp_syscall_resolve_name("exit_group");
  const int sendmsg_nr = seccomp_syscall_resolve_name("sendmsg");
  // A rule on arg0 bits whose action is the default adds nothing by itself
  // (libseccomp refuses it), but it must still win over an unconditional
  // rule for the same call: `allow clone` in an allow list with the deny
  // list's clone(CLONE_NEW*) rule allows only a clone without those bits.
  absl::flat_hash_map<int, uint64_t> default_bits;
  for (std::size_t i = 0; i < filter.rules.size(); ++i) {
    const SeccompRule& rule = filter.rules[i];
    if (rule.arg0_any_bits != 0 &&
        ActionOf(rule.action, options.notify_kills) == default_action) {
      default_bits[numbers[i]] |= rule.arg0_any_bits;
    }
  }
  for (std::size_t i = 0; i < filter.rules.size(); ++i) {
    const SeccompRule& rule = filter.rules[i];
    const int nr = numbers[i];
    // Not on this architecture (a negative pseudo-number): nothing to do.
    if (nr < 0 || nr == execve_nr || nr == exit_group_nr) continue;
    const uint32_t action = ActionOf(rule.action, options.notify_kills);
    if (action == default_action) continue;  // libseccomp refuses those
    int r = 0;
    if (rule.arg0_any_bits == 0) {
      const auto bits = default_bits.find(nr);
      r = bits == default_bits.end()
              ? seccomp_rule_add(ctx.get(), action, nr, 0)
              : seccomp_rule_add(ctx.get(), action, nr, 1,
                                 Arg0(SCMP_CMP_MASKED_EQ, bits->second, 0));
    } else {
      // "Any of these bits": one masked comparison per bit.
      for (int bit = 0; bit < 64 && r == 0; ++bit) {
        const uint64_t b = uint64_t{1} << bit;
        if ((rule.arg0_any_bits & b) == 0) continue;
        r = seccomp_rule_add(ctx.get(), action, nr, 1,
                             Arg0(SCMP_CMP_MASKED_EQ, b, b));
      }
    }
    if (r == -EEXIST || r == -EINVAL) {
      return absl::InvalidArgumentError(
          absl::StrCat("compile the seccomp filter: the rule ",
                       SeccompActionName(rule.action), " \"", rule.syscall,
                       "\" conflicts with another rule for that call"));
    }
    if (r != 0) {
      return LibseccompError(
          r, absl::StrCat("add the rule for \"", rule.syscall, "\""));
    }
  }
  const uint32_t allow = SCMP_ACT_ALLOW;
  if (default_action != allow) {
    for (int nr : {execve_nr, exit_group_nr}) {
      if (int r = seccomp_rule_add(ctx.get(), allow, nr, 0); r != 0) {
        return LibseccompError(r, "allow execve and exit_group");
      }
    }
    if (options.allow_sendmsg_fd >= 0) {
      if (int r = seccomp_rule_add(
              ctx.get(), allow, sendmsg_nr, 1,
              Arg0(SCMP_CMP_EQ,
                   static_cast<scmp_datum_t>(options.allow_sendmsg_fd), 0));
          r != 0) {
        return LibseccompError(r, "allow sending the listener");
      }
    }
  }
  return Export(ctx);
}

std::string SyscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  if (name == nullptr) return "";
  std::string result(name);
  std::free(name);
  return result;
}

}  // namespace procsandbox::linux_internal

#include "darwin/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "posix/errno_status.h"
#include "posix/spawn_errors.h"
#include "posix/unique_fd.h"

namespace procsandbox::darwin_internal {

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::ExecError;
using ::procsandbox::posix_internal::PointersTo;
using ::procsandbox::posix_internal::ShownProgram;
using ::procsandbox::posix_internal::SpawnStep;
using ::procsandbox::posix_internal::SpawnStepError;
using ::procsandbox::posix_internal::UniqueFd;
using ::procsandbox::posix_internal::WorkingDirError;

namespace {

// What this libc's posix_spawn can do (CMake's check_symbol_exists, and
// the flag macros themselves).
#if defined(PROCSANDBOX_HAVE_ADDCHDIR_NP)
constexpr bool kSpawnChdir = true;
#else
constexpr bool kSpawnChdir = false;
#endif
#if defined(__APPLE__) || defined(PROCSANDBOX_HAVE_ADDCLOSEFROM_NP)
constexpr bool kSpawnClosesFds = true;  // CLOEXEC_DEFAULT or addclosefrom_np
#else
constexpr bool kSpawnClosesFds = false;
#endif
#if defined(POSIX_SPAWN_SETSID)
constexpr bool kSpawnSetsid = true;
#else
constexpr bool kSpawnSetsid = false;
#endif

// posix_spawnattr_t and posix_spawn_file_actions_t, destroyed at scope end.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    attr_ok_ = posix_spawnattr_init(&attr_) == 0;
    actions_ok_ = posix_spawn_file_actions_init(&actions_) == 0;
  }
  ~SpawnAttributes() {
    if (attr_ok_) posix_spawnattr_destroy(&attr_);
    if (actions_ok_) posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;

  bool ok() const { return attr_ok_ && actions_ok_; }
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
  bool attr_ok_ = false;
  bool actions_ok_ = false;
};

// Fills the attributes and file actions for `plan`, whose stdio sources are
// `sources` (LiftStdio). Returns the errno of the call that failed, or 0.
int Prepare(const SpawnPlan& plan, const std::array<int, 3>& sources,
            SpawnAttributes& spawn) {
  // The type posix_spawnattr_setflags takes.
  short flags =  // NOLINT(google-runtime-int)
      POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (plan.new_session) {
#if defined(POSIX_SPAWN_SETSID)
    flags |= POSIX_SPAWN_SETSID;
#endif
  } else if (plan.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    if (int e = posix_spawnattr_setpgroup(spawn.attr(), 0); e != 0) return e;
  }
#if defined(__APPLE__)
  // Every descriptor not named by a file action is closed at exec.
  flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
  if (int e = posix_spawnattr_setflags(spawn.attr(), flags); e != 0) return e;
  sigset_t none;
  sigemptyset(&none);
  if (int e = posix_spawnattr_setsigmask(spawn.attr(), &none); e != 0) {
    return e;
  }
  // Every signal to its default action (the kernel ignores SIGKILL and
  // SIGSTOP here): the program starts as from a fresh shell.
  sigset_t all;
  sigfillset(&all);
  if (int e = posix_spawnattr_setsigdefault(spawn.attr(), &all); e != 0) {
    return e;
  }

  // The working directory first: a relative program path is then relative
  // to it, as execve after chdir sees it.
  if (!plan.working_dir.empty()) {
#if defined(PROCSANDBOX_HAVE_ADDCHDIR_NP)
    if (int e = posix_spawn_file_actions_addchdir_np(spawn.actions(),
                                                     plan.working_dir.c_str());
        e != 0) {
      return e;
    }
#else
    return ENOSYS;  // PathFor() sends such plans down the fork path
#endif
  }
  for (int i = 0; i < 3; ++i) {
    if (sources[i] == kKeepFd) {
#if defined(__APPLE__)
      if (int e = posix_spawn_file_actions_addinherit_np(spawn.actions(), i);
          e != 0) {
        return e;
      }
#endif
      continue;
    }
    // adddup2(fd, fd) clears FD_CLOEXEC (POSIX 2024; glibc, macOS).
    if (int e =
            posix_spawn_file_actions_adddup2(spawn.actions(), sources[i], i);
        e != 0) {
      return e;
    }
  }
#if defined(PROCSANDBOX_HAVE_ADDCLOSEFROM_NP) && !defined(__APPLE__)
  if (int e = posix_spawn_file_actions_addclosefrom_np(spawn.actions(), 3);
      e != 0) {
    return e;
  }
#endif
  return 0;
}

// posix_spawn returned `err`: which step failed. Its one number cannot say
// whether chdir, a dup2 or execve failed, so the parent checks the first two
// now (a directory changed in between is named as it is found).
absl::Status SpawnError(const SpawnPlan& plan,
                        const std::array<int, 3>& sources, int err) {
  if (!plan.working_dir.empty()) {
    struct stat st = {};
    if (stat(plan.working_dir.c_str(), &st) != 0) {
      return WorkingDirError(errno, plan.working_dir);
    }
    if (!S_ISDIR(st.st_mode)) return WorkingDirError(ENOTDIR, plan.working_dir);
    if (access(plan.working_dir.c_str(), X_OK) != 0) {
      return WorkingDirError(errno, plan.working_dir);
    }
  }
  if (err == EBADF) {
    for (int i = 0; i < 3; ++i) {
      if (sources[i] != kKeepFd && fcntl(sources[i], F_GETFD) < 0) {
        return SpawnStepError(SpawnStep::kStdio, EBADF, i);
      }
    }
  }
  if (err == EAGAIN) {
    // A limit reached (RLIMIT_NPROC), not a passing state (Unavailable).
    return absl::ResourceExhaustedError(
        ErrnoStatus(err, "spawn: posix_spawn").message());
  }
  return ExecError(err, ShownProgram(plan));
}

}  // namespace

absl::StatusOr<std::array<int, 3>> LiftStdio(const SpawnPlan& plan,
                                             std::vector<UniqueFd>& held) {
  std::array<int, 3> sources = plan.stdio;
  for (int i = 0; i < 3; ++i) {
    if (sources[i] >= 0 && sources[i] < 3 && sources[i] != i) {
      UniqueFd copy(fcntl(sources[i], F_DUPFD_CLOEXEC, 3));
      if (!copy.valid()) return SpawnStepError(SpawnStep::kStdio, errno, i);
      sources[i] = copy.get();
      held.push_back(std::move(copy));
    }
  }
  return sources;
}

SpawnPath PathFor(const SpawnPlan& plan) {
  const bool needs_fork =
      !plan.rlimits.empty() || plan.uid.has_value() || plan.gid.has_value() ||
      (!plan.working_dir.empty() && !kSpawnChdir) || !kSpawnClosesFds ||
      (plan.new_session && !kSpawnSetsid);
  return needs_fork ? SpawnPath::kFork : SpawnPath::kPosixSpawn;
}

absl::StatusOr<pid_t> SpawnByPosixSpawn(const SpawnPlan& plan) {
  if (plan.path.empty() || plan.argv.empty()) {
    return absl::InvalidArgumentError("spawn: empty program path or argv");
  }
  if (PathFor(plan) != SpawnPath::kPosixSpawn) {
    return absl::FailedPreconditionError(
        "spawn: posix_spawn cannot express this plan here");
  }
  std::vector<UniqueFd> held;
  absl::StatusOr<std::array<int, 3>> sources = LiftStdio(plan, held);
  if (!sources.ok()) return sources.status();
  SpawnAttributes spawn;
  if (!spawn.ok()) return ErrnoStatus(ENOMEM, "spawn: posix_spawn attributes");
  if (int e = Prepare(plan, *sources, spawn); e != 0) {
    return ErrnoStatus(e, "spawn: posix_spawn attributes");
  }
  const std::vector<char*> argv = PointersTo(plan.argv);
  const std::vector<char*> envp = PointersTo(plan.envp);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, plan.path.c_str(), spawn.actions(),
                              spawn.attr(), argv.data(), envp.data());
  if (err != 0) return SpawnError(plan, *sources, err);
  return pid;
}

absl::StatusOr<pid_t> Spawn(const SpawnPlan& plan) {
  return PathFor(plan) == SpawnPath::kPosixSpawn ? SpawnByPosixSpawn(plan)
                                                 : SpawnByFork(plan);
}

}  // namespace procsandbox::darwin_internal

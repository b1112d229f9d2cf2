// The filesystem a child sees: its mount namespace (Isolation::mounts,
// Namespaces::mount). The parent turns the list into a `MountPlan`, a flat
// sequence of raw operations with every path, file system type and option
// string spelled out; the child runs it at the [mounts] step of ChildMain
// with raw syscalls only, in its new mount namespace (as root of the host,
// or of its user namespace).
//
// The child's sequence, after bubblewrap's:
//   1. "/" becomes MS_REC|MS_PRIVATE: nothing propagates either way (not
//      MS_SLAVE: a host mount made later would appear, writable, inside a
//      read-only view). A namespace without a mount list stops here: a
//      private copy of the host's view.
//   2. A small tmpfs on an existing directory of the host (/tmp) holds
//      newroot/ (a tmpfs of its own: the program's root) and oldroot/;
//      pivot_root into it puts the host's root at /oldroot.
//   3. Each entry, in order: its mount point is made under /newroot (the
//      directories, or an empty file for a file bind), then the bind of
//      /oldroot<source> (MS_BIND|MS_REC; read-only through
//      mount_setattr(AT_RECURSIVE), submounts included), the tmpfs
//      (size=, mode=1777, nosuid, nodev), the proc (nosuid, nodev, noexec;
//      its sys, sysrq-trigger, irq and bus read-only) or the /dev tree.
//   4. The root itself becomes read-only when no entry covers "/", the old
//      root is detached, pivot_root("/newroot") and the tmpfs of step 2 is
//      detached too; the child's directory is "/" (or the host's one when
//      the command gives none and the view shows it).
#ifndef PROCSANDBOX_SRC_LINUX_CHILD_MOUNTS_H_
#define PROCSANDBOX_SRC_LINUX_CHILD_MOUNTS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "linux/spawn.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"

namespace procsandbox::linux_internal {

// One raw operation of the child.
struct MountOp {
  enum class Kind : int {
    kMount,       // mount(source, path, fstype, flags, data)
    kMkdir,       // mkdirat(path, 0755); EEXIST is fine
    kCreateFile,  // mknodat(path, S_IFREG | 0644); EEXIST is fine
    kSymlink,     // symlinkat(source, path)
    kReadOnly,    // mount_setattr(path, flags (AT_RECURSIVE or 0), RDONLY)
    kPivotRoot,   // pivot_root(source, path)
    kDetach,      // umount2(path, MNT_DETACH)
    kChdir,       // chdir(path)
  };
  Kind kind = Kind::kMount;
  const char* source = nullptr;
  const char* path = nullptr;
  const char* fstype = nullptr;
  const char* data = nullptr;
  uint64_t flags = 0;  // mount(2)'s unsigned long (64 bits here)
  // A failure with errno ENOENT (optional_enoent) or any errno (optional)
  // skips the operation instead of failing the start.
  bool optional = false;
  bool optional_enoent = false;
  // Which Isolation::mounts entry this serves; -1: the view as a whole.
  int entry = -1;
  // What it does, for the error ("create the mount point", "bind").
  const char* what = "";
  // The path as the program sees it, for the error ("" for none).
  const char* shown = "";
};

// Everything the child needs, owned here; `ops`/`op_count` point into the
// storage (which never moves: the plan is built once and shared as const).
struct MountPlan {
  MountPlan() = default;
  MountPlan(const MountPlan&) = delete;
  MountPlan& operator=(const MountPlan&) = delete;

  const MountOp* ops = nullptr;
  std::size_t op_count = 0;

  // The parent's side: the entries (for errors), the strings the ops point
  // to, the ops.
  std::vector<Mount> entries;
  std::deque<std::string> strings;
  std::vector<MountOp> op_storage;
};

// The [mounts] part of PlanIsolation: when `isolation` asks for a mount
// namespace (namespaces.mount or a mount list), adds CLONE_NEWNS to
// plan.clone_namespace_flags and sets plan.mounts. Checks at Start():
// NotFound naming the mount whose source is missing; FailedPrecondition
// when the working directory is not in the view, or a read-only bind
// cannot be had (no mount_setattr). A relative working directory or
// program path is made absolute (the child resolves them in the view).
absl::Status PlanMounts(const Isolation& isolation, SpawnPlan& plan);

// The [mounts] part of ProbeIsolation: kMountNamespace, available with
// CAP_SYS_ADMIN or through the user namespace (its entry, probed before),
// and whether read-only binds can be had (mount_setattr).
void ProbeMounts(std::vector<IsolationEnforcement>& isolation);

// mount_setattr(2) exists (Linux 5.12+) and is not filtered out.
bool MountSetattrAvailable();

// The Status of a failed operation `index` of `plan` with `err`:
// `isolation mount bind "/srv" -> "/data": bind: <errno text>`.
absl::Status MountStepError(const MountPlan& plan, int err, int index);

// Runs the plan in the child. False on failure, errno set and `*failed`
// the index of the operation. Raw syscalls only (spawn_child.cc's rules).
bool ApplyMountPlan(const MountPlan& plan, int* failed);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CHILD_MOUNTS_H_

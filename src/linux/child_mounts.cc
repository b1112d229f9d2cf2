#include "linux/child_mounts.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/isolation_enforcement.h"
#include "common/quote.h"
#include "linux/child_namespaces.h"
#include "linux/spawn_child.h"
#include "posix/errno_status.h"

// mount_setattr(2) (Linux 5.12): the same number on every architecture.
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

namespace procsandbox::linux_internal {

using ::procsandbox::internal::Quote;
using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

// <linux/mount.h>'s, spelled out (it clashes with <sys/mount.h>).
constexpr uint64_t kMountAttrRdonly = 0x00000001;
constexpr unsigned int kAtRecursive = 0x8000;
struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

// The host directory the temporary root goes on, the devices /dev binds.
constexpr const char* kTmpBaseCandidates[] = {"/tmp", "/run", "/mnt", "/"};
constexpr const char* kDevices[] = {"null",   "zero",    "full",
                                    "random", "urandom", "tty"};
// The parts of a fresh /proc that reach the host's kernel: read-only.
constexpr const char* kProcReadOnly[] = {"sys", "sysrq-trigger", "irq", "bus"};

using Kind = MountOp::Kind;

// A bind's source, checked: a directory, or a file (any other kind).
struct BindSource {
  std::string path;  // canonical: symlinks resolved on the host
  bool directory = true;
};

bool IsBind(const Mount& m) {
  return m.type == Mount::Type::kBindReadOnly || m.type == Mount::Type::kBind;
}

// path lies at or below dir ("/" holds everything).
bool Under(absl::string_view path, absl::string_view dir) {
  if (dir == "/") return true;
  return path == dir || (absl::StartsWith(path, dir) &&
                         path.size() > dir.size() && path[dir.size()] == '/');
}

// "/newroot" + path, "/newroot" for "/".
std::string InNewRoot(absl::string_view path) {
  return path == "/" ? std::string("/newroot") : absl::StrCat("/newroot", path);
}

std::string InOldRoot(absl::string_view path) {
  return path == "/" ? std::string("/oldroot") : absl::StrCat("/oldroot", path);
}

class PlanBuilder {
 public:
  explicit PlanBuilder(MountPlan& plan) : plan_(plan) {}

  const char* Str(std::string s) {
    plan_.strings.push_back(std::move(s));
    return plan_.strings.back().c_str();
  }

  MountOp& Add(Kind kind, const char* what, int entry = -1) {
    MountOp op;
    op.kind = kind;
    op.what = what;
    op.entry = entry;
    plan_.op_storage.push_back(op);
    return plan_.op_storage.back();
  }

  MountOp& MountFs(const char* source, const std::string& path,
                   const char* fstype, uint64_t flags, std::string data,
                   const char* what, int entry, absl::string_view shown) {
    const char* p = Str(path);
    const char* d = data.empty() ? nullptr : Str(std::move(data));
    const char* s = Str(std::string(shown));
    MountOp& op = Add(Kind::kMount, what, entry);
    op.source = source;
    op.path = p;
    op.fstype = fstype;
    op.flags = flags;
    op.data = d;
    op.shown = s;
    return op;
  }

  // mkdir -p of `target` (as the program sees it) under /newroot; with
  // `file`, its last part is an empty file.
  void MountPoint(absl::string_view target, bool file, int entry) {
    if (target == "/") return;
    const char* shown = Str(std::string(target));
    std::size_t at = 1;
    for (;;) {
      const std::size_t slash = target.find('/', at);
      const bool last = slash == absl::string_view::npos;
      const absl::string_view prefix = last ? target : target.substr(0, slash);
      MountOp& op = Add(last && file ? Kind::kCreateFile : Kind::kMkdir,
                        "create the mount point", entry);
      op.path = Str(InNewRoot(prefix));
      op.shown = shown;
      if (last) return;
      at = slash + 1;
    }
  }

  MountOp& ReadOnly(const std::string& path, bool recursive, const char* what,
                    int entry, absl::string_view shown) {
    const char* p = Str(path);
    const char* s = Str(std::string(shown));
    MountOp& op = Add(Kind::kReadOnly, what, entry);
    op.path = p;
    op.flags = recursive ? kAtRecursive : 0;
    op.shown = s;
    return op;
  }

  void Simple(Kind kind, const char* source, const char* path,
              const char* what) {
    MountOp& op = Add(kind, what);
    op.source = source;
    op.path = path;
  }

 private:
  MountPlan& plan_;
};

std::string SizeOption(int64_t size_bytes) {
  return size_bytes > 0 ? absl::StrCat(",size=", size_bytes) : std::string();
}

void PlanDev(PlanBuilder& b, const Mount& m, int entry) {
  const std::string& t = m.target;
  const std::string root = InNewRoot(t);
  b.MountFs("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k",
            "mount the /dev tmpfs", entry, t);
  for (const char* name : kDevices) {
    const std::string host = absl::StrCat("/dev/", name);
    struct stat st;
    if (stat(host.c_str(), &st) != 0) continue;  // a host without it
    const std::string shown = absl::StrCat(t, "/", name);
    MountOp& file = b.Add(Kind::kCreateFile, "create the device node", entry);
    file.path = b.Str(InNewRoot(shown));
    file.shown = b.Str(shown);
    b.MountFs(b.Str(InOldRoot(host)), InNewRoot(shown), nullptr, MS_BIND, "",
              "bind the device", entry, shown);
  }
  const std::pair<const char*, const char*> links[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
      {"pts/ptmx", "ptmx"},
  };
  for (const auto& [to, name] : links) {
    const std::string shown = absl::StrCat(t, "/", name);
    MountOp& op = b.Add(Kind::kSymlink, "create the symlink", entry);
    op.source = to;
    op.path = b.Str(InNewRoot(shown));
    op.shown = b.Str(shown);
  }
  const std::string shm = absl::StrCat(t, "/shm");
  b.MountPoint(shm, false, entry);
  b.MountFs("tmpfs", InNewRoot(shm), "tmpfs", MS_NOSUID | MS_NODEV,
            absl::StrCat("mode=1777", SizeOption(m.size_bytes)),
            "mount the shm tmpfs", entry, shm);
  const std::string pts = absl::StrCat(t, "/pts");
  b.MountPoint(pts, false, entry);
  // Where devpts cannot be had, /dev goes on without pseudo-terminals.
  b.MountFs("devpts", InNewRoot(pts), "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=620", "mount devpts", entry, pts)
      .optional = true;
}

void PlanProc(PlanBuilder& b, const Mount& m, int entry, bool read_only_ok) {
  const std::string& t = m.target;
  b.MountFs("proc", InNewRoot(t), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "",
            "mount proc", entry, t);
  if (!read_only_ok) return;
  // As bubblewrap: what writes to the host's kernel stays read-only (the
  // kernel has no irq or bus on some machines: skipped then).
  for (const char* name : kProcReadOnly) {
    const std::string shown = absl::StrCat(t == "/" ? "" : t, "/", name);
    const std::string path = InNewRoot(shown);
    b.MountFs(b.Str(path), path, nullptr, MS_BIND | MS_REC, "",
              "bind over itself", entry, shown)
        .optional_enoent = true;
    b.ReadOnly(path, /*recursive=*/true, "make read-only", entry, shown)
        .optional_enoent = true;
  }
}

// The last entry whose target holds `path`: what the program sees there.
const Mount* Covering(const std::vector<Mount>& mounts, absl::string_view path,
                      std::size_t* index) {
  for (std::size_t i = mounts.size(); i-- > 0;) {
    if (Under(path, mounts[i].target)) {
      *index = i;
      return &mounts[i];
    }
  }
  return nullptr;
}

// Does the view of `mounts` show `path` (a directory with `directory`)?
// Through a bind: what the host has below its source; otherwise only the
// target itself, or a mount point made for a later entry.
bool Visible(const std::vector<Mount>& mounts,
             const std::vector<BindSource>& sources, absl::string_view path,
             bool directory) {
  std::size_t index = 0;
  const Mount* m = Covering(mounts, path, &index);
  for (std::size_t j = m == nullptr ? 0 : index + 1; j < mounts.size(); ++j) {
    if (Under(mounts[j].target, path)) return directory;  // a mount point
  }
  if (m == nullptr) return false;
  if (!IsBind(*m)) return directory && path == m->target;
  if (!sources[index].directory) return !directory && path == m->target;
  const absl::string_view rest =
      m->target == "/" ? path : path.substr(m->target.size());
  const std::string host =
      absl::StrCat(sources[index].path == "/" ? "" : sources[index].path, rest);
  struct stat st;
  return stat(host.empty() ? "/" : host.c_str(), &st) == 0 &&
         S_ISDIR(st.st_mode) == directory;
}

std::string EntryName(const Mount& m) {
  return absl::StrCat("isolation mount ", ToString(m));
}

// The host path the view shows at `path` through the last of the first
// `count` entries that covers it, when that entry is a bind ("" otherwise).
std::string HostPathOf(const std::vector<Mount>& mounts,
                       const std::vector<BindSource>& sources,
                       std::size_t count, absl::string_view path) {
  for (std::size_t j = count; j-- > 0;) {
    const Mount& m = mounts[j];
    if (!Under(path, m.target)) continue;
    if (!IsBind(m)) return "";
    const absl::string_view rest =
        m.target == "/" ? path : path.substr(m.target.size());
    return absl::StrCat(sources[j].path == "/" ? "" : sources[j].path, rest);
  }
  return "";
}

// A target that goes through a symlink of the view would be resolved by
// the child against the temporary root, not the view's: the mount would
// land outside it. Refused by name instead.
absl::Status CheckTargetSymlinks(const std::vector<Mount>& mounts,
                                 const std::vector<BindSource>& sources) {
  for (std::size_t i = 1; i < mounts.size(); ++i) {
    const absl::string_view target = mounts[i].target;
    for (std::size_t at = 1; at <= target.size(); ++at) {
      if (at != target.size() && target[at] != '/') continue;
      const absl::string_view prefix = target.substr(0, at);
      const std::string host = HostPathOf(mounts, sources, i, prefix);
      struct stat st;
      if (host.empty() || lstat(host.c_str(), &st) != 0 ||
          !S_ISLNK(st.st_mode)) {
        continue;
      }
      char link[PATH_MAX] = {};
      const ssize_t n = readlink(host.c_str(), link, sizeof(link) - 1);
      return absl::FailedPreconditionError(absl::StrCat(
          EntryName(mounts[i]), ": the target goes through the symlink ",
          Quote(prefix), n > 0 ? absl::StrCat(" (-> ", Quote(link), ")") : "",
          " of the view: give the path without it"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool MountSetattrAvailable() {
  // Nothing to set or clear: 0 where the call exists (before the path is
  // even looked up), ENOSYS where not (or EPERM from a container's filter).
  // A host without CAP_SYS_ADMIN gets EPERM from the call's own check
  // (may_mount); its children call it in their user namespace, where they
  // have it.
  static const bool kAvailable = [] {
    MountAttr attr = {};
    if (syscall(SYS_mount_setattr, -1, "", 0, &attr, sizeof(attr)) == 0) {
      return true;
    }
    return errno == EPERM && !HostCanMakeNamespaces();
  }();
  return kAvailable;
}

namespace {

std::shared_ptr<const MountPlan> BuildMountPlan(
    const std::vector<Mount>& mounts, const std::vector<BindSource>& sources,
    const std::string& host_cwd, bool read_only_ok) {
  auto plan = std::make_shared<MountPlan>();
  plan->entries = mounts;
  PlanBuilder b(*plan);
  b.MountFs(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, "",
            "make the host's mounts private", -1, "/");
  if (!mounts.empty()) {
    std::string base;
    for (const char* candidate : kTmpBaseCandidates) {
      struct stat st;
      if (stat(candidate, &st) == 0 && S_ISDIR(st.st_mode)) {
        base = candidate;
        break;
      }
    }
    const std::string prefix = base == "/" ? "" : base;
    const char* base_path = b.Str(base);
    b.MountFs("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV,
              "mode=0755,size=64k", "mount the temporary root", -1, "");
    b.Add(Kind::kMkdir, "create the temporary root").path =
        b.Str(prefix + "/newroot");
    b.Add(Kind::kMkdir, "create the temporary root").path =
        b.Str(prefix + "/oldroot");
    // The program's root when no entry covers "/": empty, and read-only
    // once the mount points are made.
    b.MountFs("tmpfs", prefix + "/newroot", "tmpfs", MS_NOSUID | MS_NODEV,
              "mode=0755,size=64k", "mount the new root", -1, "/");
    b.Simple(Kind::kChdir, nullptr, base_path, "enter the temporary root");
    b.Simple(Kind::kPivotRoot, ".", "oldroot", "pivot into the temporary root");
    b.Simple(Kind::kChdir, nullptr, "/", "enter the temporary root");

    bool covers_root = false;
    for (std::size_t i = 0; i < mounts.size(); ++i) {
      const Mount& m = mounts[i];
      const int e = static_cast<int>(i);
      const std::string target = InNewRoot(m.target);
      covers_root = covers_root || m.target == "/";
      switch (m.type) {
        case Mount::Type::kBindReadOnly:
        case Mount::Type::kBind:
          b.MountPoint(m.target, !sources[i].directory, e);
          b.MountFs(b.Str(InOldRoot(sources[i].path)), target, nullptr,
                    MS_BIND | MS_REC, "", "bind", e, m.target);
          if (m.type == Mount::Type::kBindReadOnly) {
            b.ReadOnly(target, /*recursive=*/true, "make read-only", e,
                       m.target);
          }
          break;
        case Mount::Type::kTmpfs:
          b.MountPoint(m.target, false, e);
          b.MountFs("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
                    absl::StrCat("mode=1777", SizeOption(m.size_bytes)),
                    "mount the tmpfs", e, m.target);
          break;
        case Mount::Type::kProc:
          b.MountPoint(m.target, false, e);
          PlanProc(b, m, e, read_only_ok);
          break;
        case Mount::Type::kDev:
          b.MountPoint(m.target, false, e);
          PlanDev(b, m, e);
          break;
      }
    }
    if (!covers_root && read_only_ok) {
      b.ReadOnly("/newroot", /*recursive=*/false, "make the root read-only", -1,
                 "/");
    }
    // The host's root goes (private first: its unmount must not reach the
    // host), then the new root replaces the temporary one, which goes too.
    b.MountFs(nullptr, "/oldroot", nullptr, MS_REC | MS_PRIVATE, "",
              "make the host's root private", -1, "");
    b.Simple(Kind::kDetach, nullptr, "/oldroot", "detach the host's root");
    b.Simple(Kind::kChdir, nullptr, "/newroot", "enter the new root");
    b.Simple(Kind::kPivotRoot, ".", ".", "pivot into the new root");
    b.Simple(Kind::kDetach, nullptr, ".", "detach the temporary root");
    b.Simple(Kind::kChdir, nullptr, "/", "enter the new root");
    if (!host_cwd.empty()) {
      MountOp& op = b.Add(Kind::kChdir, "enter the host's directory");
      op.path = b.Str(host_cwd);
      op.optional = true;
    }
  }
  plan->ops = plan->op_storage.data();
  plan->op_count = plan->op_storage.size();
  return plan;
}

absl::Status CheckMounts(const std::vector<Mount>& mounts,
                         const std::string& working_dir,
                         const std::string& program, bool read_only_ok,
                         std::vector<BindSource>& sources,
                         std::string& child_cwd) {
  sources.assign(mounts.size(), BindSource());
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = mounts[i];
    if (m.type == Mount::Type::kBindReadOnly && !read_only_ok) {
      return absl::FailedPreconditionError(absl::StrCat(
          EntryName(m),
          ": a read-only bind needs mount_setattr (Linux 5.12+) to make its "
          "submounts read-only too, and this kernel has none"));
    }
    if (!IsBind(m)) continue;
    // Resolved here: in the child an absolute symlink would point into the
    // temporary root, not the host's.
    char resolved[PATH_MAX];
    if (realpath(m.source.c_str(), resolved) == nullptr) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) {
        return absl::NotFoundError(absl::StrCat(
            EntryName(m), ": the source ", Quote(m.source), " does not exist"));
      }
      return ErrnoStatus(
          err,
          absl::StrCat(EntryName(m), ": resolve the source ", Quote(m.source)));
    }
    struct stat st;
    if (stat(resolved, &st) != 0) {
      return ErrnoStatus(errno, absl::StrCat(EntryName(m), ": stat the source ",
                                             Quote(resolved)));
    }
    sources[i].path = resolved;
    sources[i].directory = S_ISDIR(st.st_mode);
  }
  child_cwd.clear();
  if (mounts.empty()) return absl::OkStatus();
  if (absl::Status s = CheckTargetSymlinks(mounts, sources); !s.ok()) {
    return s;
  }
  // (One the host lacks too fails at exec, NotFound, as without mounts.)
  struct stat program_stat;
  if (!program.empty() && stat(program.c_str(), &program_stat) == 0 &&
      !Visible(mounts, sources, program, /*directory=*/false)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "isolation mounts: the program ", Quote(program),
        " is not in the program's view (bind it, or a directory above it)"));
  }
  if (!working_dir.empty()) {
    if (!Visible(mounts, sources, working_dir, /*directory=*/true)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "isolation mounts: the working directory ", Quote(working_dir),
          " is not in the program's view (bind it, or a directory above it)"));
    }
    return absl::OkStatus();
  }
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) != nullptr &&
      Visible(mounts, sources, cwd, /*directory=*/true)) {
    child_cwd = cwd;
  }
  return absl::OkStatus();
}

// `path` made absolute against the parent's directory.
std::string Absolute(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

}  // namespace

void ProbeMounts(std::vector<IsolationEnforcement>& isolation) {
  const bool admin = HostCanMakeNamespaces();
  bool user_namespace = false;
  for (const IsolationEnforcement& e : isolation) {
    if (e.kind == IsolationKind::kUserNamespace) user_namespace = e.enforced;
  }
  std::string detail =
      admin ? "CLONE_NEWNS, pivot_root into a view of binds, tmpfs, proc and "
              "a minimal /dev"
            : "CLONE_NEWNS in the user namespace, pivot_root into a view of "
              "binds, tmpfs, proc (with a pid namespace) and a minimal /dev";
  absl::StrAppend(&detail, MountSetattrAvailable()
                               ? "; read-only binds through mount_setattr"
                               : "; no mount_setattr (Linux < 5.12): "
                                 "read-only binds are refused");
  if (!admin && !user_namespace) {
    detail = "needs CAP_SYS_ADMIN or a user namespace (see user_namespace)";
  }
  internal::SetIsolation(isolation, IsolationKind::kMountNamespace,
                         admin || user_namespace, std::move(detail));
}

absl::Status PlanMounts(const Isolation& isolation, SpawnPlan& plan) {
  if (!isolation.namespaces.mount && isolation.mounts.empty()) {
    return absl::OkStatus();
  }
  plan.clone_namespace_flags |= CLONE_NEWNS;
  if (!isolation.mounts.empty()) {
    // Relative paths were meant from the parent's directory, which the
    // child leaves for the view's root.
    plan.working_dir = Absolute(plan.working_dir);
    if (!plan.path.empty() && plan.path.front() != '/') {
      plan.path = plan.working_dir.empty()
                      ? Absolute(plan.path)
                      : absl::StrCat(plan.working_dir, "/", plan.path);
    }
  }
  const bool read_only_ok = MountSetattrAvailable();
  std::vector<BindSource> sources;
  std::string child_cwd;
  if (absl::Status s = CheckMounts(isolation.mounts, plan.working_dir,
                                   plan.path, read_only_ok, sources, child_cwd);
      !s.ok()) {
    return s;
  }
  plan.mounts =
      BuildMountPlan(isolation.mounts, sources, child_cwd, read_only_ok);
  return absl::OkStatus();
}

absl::Status MountStepError(const MountPlan& plan, int err, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= plan.op_count) {
    return ErrnoStatus(err, "isolation mounts: set up the view");
  }
  const MountOp& op = plan.ops[index];
  std::string subject =
      op.entry >= 0 && static_cast<std::size_t>(op.entry) < plan.entries.size()
          ? EntryName(plan.entries[static_cast<std::size_t>(op.entry)])
          : std::string("isolation mounts");
  absl::StrAppend(&subject, ": ", op.what);
  if (op.shown != nullptr && *op.shown != '\0') {
    absl::StrAppend(&subject, " ", Quote(op.shown));
  }
  if (err == EROFS &&
      (op.kind == Kind::kMkdir || op.kind == Kind::kCreateFile)) {
    return absl::FailedPreconditionError(absl::StrCat(
        subject,
        ": it does not exist under a read-only mount (EROFS); mount a tmpfs "
        "or bind a directory above it first"));
  }
  absl::Status status = ErrnoStatus(err, subject);
  if (err == EPERM && op.kind == Kind::kMount && op.fstype != nullptr &&
      absl::string_view(op.fstype) == "proc") {
    // The kernel's two conditions, which the parent cannot see in advance.
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(),
                     "; in a user namespace proc needs a pid namespace of "
                     "its own (namespaces.pid), and the host's /proc must "
                     "not be partly covered"));
  }
  return status;
}

PROCSANDBOX_CHILD_CODE bool ApplyMountPlan(const MountPlan& plan, int* failed) {
  for (std::size_t i = 0; i < plan.op_count; ++i) {
    const MountOp& op = plan.ops[i];
    int64_t r = 0;
    switch (op.kind) {
      case Kind::kMount:
        r = syscall(SYS_mount, op.source, op.path, op.fstype, op.flags,
                    op.data);
        break;
      case Kind::kMkdir:
        r = syscall(SYS_mkdirat, AT_FDCWD, op.path, 0755);
        if (r != 0 && errno == EEXIST) r = 0;
        break;
      case Kind::kCreateFile:
        r = syscall(SYS_mknodat, AT_FDCWD, op.path, S_IFREG | 0644, 0);
        if (r != 0 && errno == EEXIST) r = 0;
        break;
      case Kind::kSymlink:
        r = syscall(SYS_symlinkat, op.source, AT_FDCWD, op.path);
        break;
      case Kind::kReadOnly: {
        MountAttr attr = {};
        attr.attr_set = kMountAttrRdonly;
        r = syscall(SYS_mount_setattr, AT_FDCWD, op.path,
                    static_cast<unsigned int>(op.flags), &attr, sizeof(attr));
        break;
      }
      case Kind::kPivotRoot:
        r = syscall(SYS_pivot_root, op.source, op.path);
        break;
      case Kind::kDetach:
        r = syscall(SYS_umount2, op.path, MNT_DETACH);
        break;
      case Kind::kChdir:
        r = syscall(SYS_chdir, op.path);
        break;
    }
    if (r == 0 || op.optional || (op.optional_enoent && errno == ENOENT)) {
      continue;
    }
    *failed = static_cast<int>(i);
    return false;
  }
  return true;
}

}  // namespace procsandbox::linux_internal

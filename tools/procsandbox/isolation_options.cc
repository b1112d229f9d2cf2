#include "isolation_options.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {
namespace {

// The absolute path of `path` with links resolved (a bind's source, the
// working directory), or the errno's text.
absl::StatusOr<std::string> Resolve(const std::string& option,
                                    const std::string& value,
                                    const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) {
    const int error = errno;
    return OptionError(option, value, std::strerror(error));
  }
  std::string text = resolved;
  std::free(resolved);
  return text;
}

// `mount` alone, as ValidateIsolation sees it: its message prefixed by the
// option and the value given.
absl::Status CheckMount(const std::string& option, const std::string& value,
                        const Mount& mount) {
  Isolation one;
  one.mounts.push_back(mount);
  if (absl::Status s = ValidateIsolation(one); !s.ok()) {
    return OptionError(option, value, s.message());
  }
  return absl::OkStatus();
}

// --ro-bind SRC[:DST], --bind SRC[:DST]: the source resolved (it must
// exist), the target as given or else the source as given (when absolute:
// `--ro-bind /lib` stays at /lib where /lib links to /usr/lib).
absl::StatusOr<Mount> BindMount(const std::string& option,
                                const std::string& value) {
  const std::size_t colon = value.find(':');
  const std::string source = value.substr(0, colon);
  if (source.empty()) return OptionError(option, value, "want SRC[:DST]");
  absl::StatusOr<std::string> resolved = Resolve(option, value, source);
  if (!resolved.ok()) return resolved.status();
  std::string target =
      colon == std::string::npos ? source : value.substr(colon + 1);
  if (colon == std::string::npos && source[0] != '/') target = *resolved;
  return option == "--bind" ? Mount::Bind(*resolved, target)
                            : Mount::ReadOnlyBind(*resolved, target);
}

// --tmpfs DST[:SIZE] (64M when no size is given), --proc DST, --dev DST.
absl::StatusOr<Mount> OtherMount(const std::string& option,
                                 const std::string& value) {
  if (option == "--proc") return Mount::Proc(value);
  if (option == "--dev") return Mount::Dev(value);
  const std::size_t colon = value.find(':');
  int64_t size = kDefaultTmpfsBytes;
  if (colon != std::string::npos) {
    absl::StatusOr<int64_t> bytes =
        ParseSizeOption("size", value.substr(colon + 1));
    if (!bytes.ok())
      return OptionError(option, value, bytes.status().message());
    size = *bytes;
  }
  return Mount::Tmpfs(value.substr(0, colon), size);
}

absl::Status AddMounts(const RunOptions& o, Isolation& isolation) {
  for (const auto& [option, value] : o.mounts) {
    const bool bind = option == "--ro-bind" || option == "--bind";
    absl::StatusOr<Mount> mount =
        bind ? BindMount(option, value) : OtherMount(option, value);
    if (!mount.ok()) return mount.status();
    if (absl::Status s = CheckMount(option, value, *mount); !s.ok()) return s;
    isolation.mounts.push_back(*std::move(mount));
  }
  return absl::OkStatus();
}

// --unshare NS[,NS...]: user mount pid net ipc uts cgroup, or all (all but
// user, which the library adds where the host needs it).
absl::Status AddNamespaces(const RunOptions& o, Namespaces& namespaces) {
  for (const std::string& list : o.unshare) {
    for (absl::string_view name : absl::StrSplit(list, ',')) {
      const std::pair<absl::string_view, bool*> all[] = {
          {"user", &namespaces.user},    {"mount", &namespaces.mount},
          {"pid", &namespaces.pid},      {"net", &namespaces.net},
          {"ipc", &namespaces.ipc},      {"uts", &namespaces.uts},
          {"cgroup", &namespaces.cgroup}};
      bool known = false;
      for (const auto& [ns, on] : all) {
        if (name == ns) *on = known = true;
      }
      if (name == "all") {
        const bool user = namespaces.user;
        namespaces = Namespaces::All();
        namespaces.user = user;
        known = true;
      }
      if (!known) {
        return OptionError("--unshare", list,
                           absl::StrCat("unknown namespace \"", name,
                                        "\" (want user, mount, pid, net, ipc, "
                                        "uts, cgroup or all)"));
      }
    }
  }
  if (o.net && namespaces.net) {
    return absl::InvalidArgumentError(
        "--net: the host's network, and --unshare net asks for none");
  }
  return absl::OkStatus();
}

absl::Status SetSeccomp(const RunOptions& o, Isolation& isolation) {
  if (o.seccomp.empty()) return absl::OkStatus();
  if (o.seccomp == "none") {
    isolation.seccomp.reset();
    return absl::OkStatus();
  }
  if (o.seccomp == "default") {
    isolation.seccomp = SeccompFilter::DefaultDenyList();
    return absl::OkStatus();
  }
  // At most 1 MiB: a filter is a few lines, and /dev/zero never ends.
  constexpr std::streamsize kMaxFilterBytes = std::streamsize{1} << 20;
  std::ifstream in(o.seccomp, std::ios::binary);
  if (!in) {
    const int error = errno;
    return OptionError("--seccomp", o.seccomp,
                       absl::StrCat("cannot read it: ", std::strerror(error),
                                    " (want default, none or a FILE)"));
  }
  std::string text(static_cast<std::size_t>(kMaxFilterBytes) + 1, '\0');
  in.read(text.data(), kMaxFilterBytes + 1);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    return OptionError("--seccomp", o.seccomp, "cannot read it");
  }
  if (text.size() > static_cast<std::size_t>(kMaxFilterBytes)) {
    return OptionError("--seccomp", o.seccomp, "larger than 1 MiB");
  }
  absl::StatusOr<SeccompFilter> filter = ParseSeccompFilter(text);
  if (!filter.ok()) {
    return OptionError("--seccomp", o.seccomp, filter.status().message());
  }
  isolation.seccomp = *std::move(filter);
  return absl::OkStatus();
}

// --keep-cap NAME (repeatable) keeps those; --keep-cap all keeps every one.
// Without it every capability is dropped.
absl::Status SetCapabilities(const RunOptions& o, RunPlan& plan) {
  Isolation& isolation = plan.command.isolation;
  if (o.keep_caps.empty()) {
    plan.default_capability_drop = !o.isolate;
    isolation.drop_capabilities = true;
    return absl::OkStatus();
  }
  isolation.drop_capabilities = true;
  isolation.keep_capabilities.clear();
  for (const std::string& name : o.keep_caps) {
    if (name == "all") {
      if (o.keep_caps.size() > 1) {
        return OptionError("--keep-cap", name,
                           "keeps every capability: give it alone");
      }
      isolation.drop_capabilities = false;
      return absl::OkStatus();
    }
    if (absl::StatusOr<int> n = ParseCapability(name); !n.ok()) {
      return OptionError("--keep-cap", name, n.status().message());
    }
    isolation.keep_capabilities.push_back(name);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SetIsolation(const RunOptions& o, RunPlan& plan) {
  Command& cmd = plan.command;
  if (!o.isolate && !o.tmp_size.empty()) {
    return OptionError("--tmp-size", o.tmp_size,
                       "only with --isolate (without it: --tmpfs /tmp:SIZE)");
  }
  if (!o.isolate && o.net) {
    return absl::InvalidArgumentError(
        "--net: only with --isolate (without it the program shares the "
        "host's network)");
  }
  if (o.isolate) {
    int64_t tmp = kDefaultTmpfsBytes;
    if (!o.tmp_size.empty()) {
      absl::StatusOr<int64_t> bytes = ParseSizeOption("--tmp-size", o.tmp_size);
      if (!bytes.ok()) return bytes.status();
      tmp = *bytes;
    }
    std::string workdir;
    if (!cmd.working_dir.empty()) {
      absl::StatusOr<std::string> resolved =
          Resolve("--cwd", cmd.working_dir, cmd.working_dir);
      if (!resolved.ok()) return resolved.status();
      workdir = *resolved;
      cmd.working_dir = workdir;
    }
    cmd.isolation = Isolation::Untrusted(workdir, tmp);
    if (!plan.workdir_root.empty()) {
      // Where Untrusted() binds a working directory: the run's own is made
      // at run time (BindWorkdir).
      const std::vector<Mount> with = Isolation::Untrusted("/", tmp).mounts;
      for (std::size_t i = 0; i < with.size(); ++i) {
        if (with[i].type == Mount::Type::kBind) plan.workdir_mount_at = i;
      }
    }
    if (o.net) cmd.isolation.namespaces.net = false;
  }
  Isolation& isolation = cmd.isolation;
  if (absl::Status s = AddNamespaces(o, isolation.namespaces); !s.ok()) {
    return s;
  }
  if (absl::Status s = AddMounts(o, isolation); !s.ok()) return s;
  if (absl::Status s = SetSeccomp(o, isolation); !s.ok()) return s;
  if (absl::Status s = SetCapabilities(o, plan); !s.ok()) return s;
  if (!o.hostname.empty()) {
    isolation.hostname = o.hostname;
    isolation.namespaces.uts = true;
    Isolation check;
    check.namespaces.uts = true;
    check.hostname = o.hostname;
    if (absl::Status s = ValidateIsolation(check); !s.ok()) {
      return OptionError("--hostname", o.hostname, s.message());
    }
  }
  if (absl::Status s = ValidateIsolation(isolation); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  return absl::OkStatus();
}

void BindWorkdir(RunPlan& plan, const std::string& dir) {
  if (!plan.workdir_mount_at.has_value()) return;
  std::vector<Mount>& mounts = plan.command.isolation.mounts;
  const std::size_t at = std::min(*plan.workdir_mount_at, mounts.size());
  mounts.insert(mounts.begin() + static_cast<std::ptrdiff_t>(at),
                Mount::Bind(dir));
}

}  // namespace procsandbox::cli

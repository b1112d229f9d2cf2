// `procsandbox run`'s isolation flags: --isolate (Isolation::Untrusted) and
// the fine-grained ones (--net, --unshare, --ro-bind, --bind, --tmpfs,
// --proc, --dev, --seccomp, --keep-cap, --hostname), turned into the
// command's Isolation.
//
//   RunPlan plan;  // plan.command.working_dir set from --cwd
//   if (absl::Status s = SetIsolation(options, plan); !s.ok()) return s;
//   ... later, once --workdir-root made the run's directory:
//   BindWorkdir(plan, dir);
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_ISOLATION_OPTIONS_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_ISOLATION_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "run_options.h"

namespace procsandbox::cli {

// The size of the private /tmp of --isolate, and of a --tmpfs given none.
inline constexpr int64_t kDefaultTmpfsBytes = int64_t{64} << 20;

// Sets plan.command.isolation from the flags; the working directory (from
// --cwd) is bound writable under --isolate. Without --keep-cap, every
// capability is dropped (plan.default_capability_drop). InvalidArgument
// naming the option and the value: a flag that needs --isolate without it,
// an unknown namespace or capability, a bind source that does not exist, a
// bad mount path or size, a seccomp file that cannot be read or parsed
// (with its line), a bad hostname.
absl::Status SetIsolation(const RunOptions& options, RunPlan& plan);

// Under --isolate with --workdir-root: binds the run's directory `dir`
// writable where plan.workdir_mount_at says. Nothing otherwise.
void BindWorkdir(RunPlan& plan, const std::string& dir);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_ISOLATION_OPTIONS_H_

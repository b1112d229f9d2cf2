// procsandbox/capabilities.h: what a manager can enforce here, and what it did.
//
// `Manager::capabilities()` says, for each limit, which mechanism would
// enforce it on this host (or why none can), and which features are present.
// `Process::enforcement()` says the same for the limits one process asked for.
// In strict mode a limit that cannot be enforced fails Start() with
// FailedPrecondition; otherwise the run goes on and the report says so.
//
// Names. Every name a `Capabilities` reports is a snake_case identifier, and
// `procsandbox doctor --json` uses the same ones as keys: the fields
// (`backend`, `strict`, `tree_kill`, `tree_freeze`, `limits`, `isolation`,
// `features`), the limits (LimitKindName: `wall_time`, `memory_bytes`, ...),
// the isolation mechanisms (IsolationKindName: `no_new_privs`,
// `net_namespace`, ...) and the features below. Mechanism names
// ("cgroup-v2", "job-object") are values, not names. docs/CAPABILITIES.md
// lists each name with its meaning. Features by backend (FeatureNames()):
//   linux:    pidfd, close_range, clone3, cgroups, cgroup_v2, cgroup_v1,
//             root, kernel, namespaces, seccomp, no_new_privs
//   posix:    posix_spawn, exit_watch, no_new_privs, die_with_parent
//   windows:  job_object, handle_list, ctrl_break, die_with_parent,
//             no_new_privs, wine (under Wine only)
//   memory:   virtual_clock
//   slurm:    cluster, accounting, suspend
// Until 0.3, Has() also answers the names of 0.1 (deprecated): "cgroup-v2",
// "cgroup-v1", "virtual-clock", "exit-watch", "job-object", "handle-list",
// "ctrl-break"; "tree-kill" (now `tree_kill`), "freeze" and "suspend" (now
// `tree_freeze`).
//
// Example:
//   for (const auto& e : process->enforcement().limits) {
//     if (!e.enforced()) LOG(WARNING) << e;   // "memory_bytes: none (...)"
//   }
//   if (!manager->capabilities().tree_kill) {
//     // Kill() reaches the child's process group only: a daemon that called
//     // setsid() survives it. tree_kill_detail says why.
//   }
#ifndef PROCSANDBOX_CAPABILITIES_H_
#define PROCSANDBOX_CAPABILITIES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"

namespace procsandbox {

enum class Mechanism {
  kNone,       // not enforced; see the detail for why
  kVirtual,    // the in-memory manager's simulation
  kReactor,    // the library's own timers and accounting
  kRlimit,     // setrlimit in the child (per process, not per tree)
  kCgroupV2,   // a cgroup v2 controller (whole tree)
  kCgroupV1,   // a cgroup v1 controller (whole tree)
  kJobObject,  // a Windows Job Object (whole tree)
  kSlurm,      // the Slurm cluster that runs the job (NewSlurmManager)
};

// "none", "virtual", "reactor", "rlimit", "cgroup-v2", "cgroup-v1",
// "job-object", "slurm".
PROCSANDBOX_EXPORT absl::string_view MechanismName(Mechanism mechanism);

struct PROCSANDBOX_EXPORT LimitEnforcement {
  LimitKind limit = LimitKind::kWallTime;
  Mechanism mechanism = Mechanism::kNone;
  // Why it is not enforced, or what enforces it (a file, a scope).
  std::string detail;

  bool enforced() const { return mechanism != Mechanism::kNone; }

  friend bool operator==(const LimitEnforcement& a, const LimitEnforcement& b) {
    return a.limit == b.limit && a.mechanism == b.mechanism &&
           a.detail == b.detail;
  }
  friend bool operator!=(const LimitEnforcement& a, const LimitEnforcement& b) {
    return !(a == b);
  }
};

// Whether an isolation mechanism is in force (for a process) or can be had
// (for a manager), and how or why not: "CapEff 0, bounding set empty",
// "no user namespaces: /proc/sys/user/max_user_namespaces is 0".
struct PROCSANDBOX_EXPORT IsolationEnforcement {
  IsolationKind kind = IsolationKind::kNoNewPrivs;
  bool enforced = false;
  std::string detail;

  friend bool operator==(const IsolationEnforcement& a,
                         const IsolationEnforcement& b) {
    return a.kind == b.kind && a.enforced == b.enforced && a.detail == b.detail;
  }
  friend bool operator!=(const IsolationEnforcement& a,
                         const IsolationEnforcement& b) {
    return !(a == b);
  }
};

// Per limit and isolation mechanism a process asked for: how it is enforced.
struct PROCSANDBOX_EXPORT Enforcement {
  std::vector<LimitEnforcement> limits;
  // One entry per mechanism of Command::isolation that asks for something
  // (no_new_privs, credentials, capabilities, each namespace, seccomp).
  std::vector<IsolationEnforcement> isolation;

  // The entry for `kind`, or null when the process did not ask for it.
  const LimitEnforcement* Find(LimitKind kind) const;
  // The entry for `kind`, or null when the process did not ask for it.
  const IsolationEnforcement* Find(IsolationKind kind) const;
  // True when every entry (limits and isolation) is enforced.
  bool all_enforced() const;

  friend bool operator==(const Enforcement& a, const Enforcement& b) {
    return a.limits == b.limits && a.isolation == b.isolation;
  }
  friend bool operator!=(const Enforcement& a, const Enforcement& b) {
    return !(a == b);
  }
};

// Every feature name a backend may list, in no particular order (see the
// banner); a backend lists the ones it probes, each once.
PROCSANDBOX_EXPORT const std::vector<std::string>& FeatureNames();

// A named feature of the host ("pidfd", "clone3", "cgroup_v2", ...).
struct PROCSANDBOX_EXPORT Feature {
  std::string name;
  bool available = false;
  std::string detail;

  friend bool operator==(const Feature& a, const Feature& b) {
    return a.name == b.name && a.available == b.available &&
           a.detail == b.detail;
  }
  friend bool operator!=(const Feature& a, const Feature& b) {
    return !(a == b);
  }
};

struct PROCSANDBOX_EXPORT Capabilities {
  // "memory" (the fake), "linux", "posix", "windows".
  std::string backend;
  // Strict mode: Start() fails when a requested limit is not enforced.
  bool strict = false;
  // Kill(), the kill after Terminate()'s grace and a limit's kill reach every
  // process the child started, also one that left its process group (setsid,
  // a double fork). False: they reach the child and its process group only.
  bool tree_kill = false;
  // What kills the tree ("cgroup.kill"), or why nothing can.
  std::string tree_kill_detail;
  // Suspend() freezes every process of the tree at once, as a group none of
  // them can leave or observe (a cgroup freezer, the threads of a Job
  // Object). False: Suspend() sends SIGSTOP to the child and its process
  // group, which a process outside the group escapes.
  bool tree_freeze = false;
  // What freezes the tree ("cgroup.freeze"), or why nothing can.
  std::string tree_freeze_detail;
  // One entry per LimitKind.
  std::vector<LimitEnforcement> limits;
  // One entry per IsolationKind: can it be had here, and how or why not.
  std::vector<IsolationEnforcement> isolation;
  std::vector<Feature> features;

  const LimitEnforcement* Find(LimitKind kind) const;
  const IsolationEnforcement* Find(IsolationKind kind) const;
  // True when a feature of that name is listed and available. Until 0.3 it
  // also answers a deprecated name of 0.1 (see the banner): "tree-kill" is
  // `tree_kill`, "freeze" and "suspend" are `tree_freeze`.
  bool Has(absl::string_view feature) const;

  friend bool operator==(const Capabilities& a, const Capabilities& b) {
    return a.backend == b.backend && a.strict == b.strict &&
           a.tree_kill == b.tree_kill &&
           a.tree_kill_detail == b.tree_kill_detail &&
           a.tree_freeze == b.tree_freeze &&
           a.tree_freeze_detail == b.tree_freeze_detail &&
           a.limits == b.limits && a.isolation == b.isolation &&
           a.features == b.features;
  }
  friend bool operator!=(const Capabilities& a, const Capabilities& b) {
    return !(a == b);
  }
};

// "memory_bytes: cgroup-v1 (memory.limit_in_bytes)", "cpu_weight: none (...)".
PROCSANDBOX_EXPORT std::string ToString(const LimitEnforcement& enforcement);
// "capabilities: yes (CapEff 0)", "net_namespace: no (...)".
PROCSANDBOX_EXPORT std::string ToString(
    const IsolationEnforcement& enforcement);
PROCSANDBOX_EXPORT std::string ToString(const Enforcement& enforcement);
PROCSANDBOX_EXPORT std::string ToString(const Capabilities& capabilities);
inline std::string ToString(Mechanism mechanism) {
  return std::string(MechanismName(mechanism));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::LimitEnforcement)
PROCSANDBOX_FORMATTER(procsandbox::IsolationEnforcement)
PROCSANDBOX_FORMATTER(procsandbox::Enforcement)
PROCSANDBOX_FORMATTER(procsandbox::Capabilities)
PROCSANDBOX_FORMATTER(procsandbox::Mechanism)

#endif  // PROCSANDBOX_CAPABILITIES_H_

// Process::Verify() on Linux (verify.h): the reads of LinuxChild::ReadBack
// and the comparison of what they found with what was asked.
#include "linux/verify.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/verify_checks.h"
#include "fmt/format.h"
#include "linux/cgroup_fs.h"
#include "linux/child_namespaces.h"
#include "linux/linux_child.h"
#include "posix/errno_status.h"
#include "posix/rlimits.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

// --- rlimits ----------------------------------------------------------------

struct RlimitInfo {
  LimitKind limit;
  int resource;
  const char* line;  // its line in /proc/PID/limits
  bool bytes;
};

constexpr RlimitInfo kRlimits[] = {
    {LimitKind::kCpuTime, RLIMIT_CPU, "Max cpu time", false},
    {LimitKind::kMemory, RLIMIT_AS, "Max address space", true},
    {LimitKind::kFileSize, RLIMIT_FSIZE, "Max file size", true},
    {LimitKind::kOpenFiles, RLIMIT_NOFILE, "Max open files", false},
    {LimitKind::kProcesses, RLIMIT_NPROC, "Max processes", false},
};

const RlimitInfo* RlimitOf(LimitKind kind) {
  for (const RlimitInfo& r : kRlimits) {
    if (r.limit == kind) return &r;
  }
  return nullptr;
}
const RlimitInfo* RlimitOfResource(int resource) {
  for (const RlimitInfo& r : kRlimits) {
    if (r.resource == resource) return &r;
  }
  return nullptr;
}

std::string RlimitValue(uint64_t value, const RlimitInfo& info) {
  if (value == RLIM_INFINITY) return "unlimited";
  if (info.bytes && value <= uint64_t{INT64_MAX}) {
    return FormatByteSize(static_cast<int64_t>(value));
  }
  if (info.limit == LimitKind::kCpuTime) return absl::StrCat(value, "s");
  return absl::StrCat(value);
}

// What /proc/PID/limits should say for `kind`: the setting the child got
// (posix/rlimits.h), or nullopt when no rlimit carries it.
std::optional<RlimitSetting> AskedRlimit(const Limits& limits, LimitKind kind,
                                         const RlimitInfo& info) {
  posix_internal::RlimitChoice choice;
  choice.memory = kind == LimitKind::kMemory;
  choice.processes = kind == LimitKind::kProcesses;
  for (const RlimitSetting& s : posix_internal::RlimitPlan(limits, choice)) {
    if (s.resource == info.resource) return s;
  }
  return std::nullopt;
}

void CheckRlimit(const Limits& limits, const ProcessReadings& r,
                 VerificationCheck& c) {
  const RlimitInfo* info = RlimitOf(*c.limit);
  std::optional<RlimitSetting> asked;
  if (info != nullptr) asked = AskedRlimit(limits, *c.limit, *info);
  if (!asked) {
    c.detail = "no rlimit carries it";
    return;
  }
  c.source = absl::StrCat(r.proc_dir, "/limits (", info->line, ")");
  if (!r.limits.ok()) {
    c.detail = absl::StrCat("could not read it: ", r.limits.status().message());
    return;
  }
  std::optional<RlimitSetting> found =
      ParseProcLimit(*r.limits, info->resource);
  if (!found) {
    c.detail = "no such line";
    return;
  }
  c.found = absl::StrCat("soft ", RlimitValue(found->soft, *info), ", hard ",
                         RlimitValue(found->hard, *info));
  const bool soft_ok = found->soft <= asked->soft;
  const bool hard_ok = found->hard <= asked->hard;
  if (soft_ok && hard_ok) {
    c.result = CheckResult::kMatch;
    c.detail = found->soft < asked->soft || found->hard < asked->hard
                   ? "stricter than asked"
                   : "";
    return;
  }
  c.result = CheckResult::kMismatch;
  c.detail =
      absl::StrCat("weaker than asked (soft ", RlimitValue(asked->soft, *info),
                   ", hard ", RlimitValue(asked->hard, *info), ")");
}

// --- cgroups ----------------------------------------------------------------

constexpr int64_t kPageSize = 4096;

void CheckCgroupLimit(const Limits& limits, const CgroupLimitReading& reading,
                      VerificationCheck& c) {
  c.source = reading.path;
  if (!reading.text.ok()) {
    c.detail =
        absl::StrCat("could not read it: ", reading.text.status().message());
    return;
  }
  const absl::string_view text = absl::StripAsciiWhitespace(*reading.text);
  if (*c.limit == LimitKind::kCpuWeight) {
    // A share, not a bound: exactly what was written (v1: as cpu.shares).
    c.found = std::string(text);
    const bool same = text == reading.written;
    c.result = same ? CheckResult::kMatch : CheckResult::kMismatch;
    c.detail =
        !same ? absl::StrCat("changed from outside (written: ", reading.written,
                             ")")
        : c.asked != reading.written
            ? absl::StrCat("written as ", reading.written)
            : "";
    return;
  }
  // memory.max / memory.limit_in_bytes, pids.max: a bound; "max" is none.
  const std::optional<int64_t> value = ParseCgroupInt(text);
  if (!value && text != "max") {
    c.found = std::string(text);
    c.detail = "not a value";
    return;
  }
  if (!value && text == reading.written) {  // "max": pids past PID_MAX
    c.found = std::string(text);
    c.result = CheckResult::kMatch;
    c.detail = "";
    return;
  }
  Limits found;
  (*c.limit == LimitKind::kMemory ? found.memory_bytes : found.processes) =
      value;
  c = internal::CompareLimit(limits, found, *c.limit, reading.path);
  if (c.result == CheckResult::kMismatch) {
    absl::StrAppend(&c.detail,
                    " (changed from outside; written: ", reading.written, ")");
  } else if (*c.limit == LimitKind::kMemory &&
             *value == *limits.memory_bytes / kPageSize * kPageSize) {
    c.detail = "";  // the kernel keeps it in pages: rounded down, not changed
  }
}

// Whether two paths name the same directory (a group path given with a
// symlink or a trailing slash is still the group).
bool SameDirectory(const std::string& a, const std::string& b) {
  if (a == b) return true;
  struct stat sa = {};
  struct stat sb = {};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

VerificationCheck CheckMembership(const ProcessReadings& r,
                                  const CgroupPlace& place) {
  VerificationCheck c;
  c.item = "cgroup";
  c.asked = place.path;
  const bool v2 = place.controller.empty();
  c.source = absl::StrCat(r.proc_dir, "/cgroup (",
                          v2 ? std::string("unified") : place.controller, ")");
  if (!r.cgroups_read.ok()) {
    c.result = CheckResult::kUnverified;
    c.detail = absl::StrCat("could not read it: ", r.cgroups_read.message());
    return c;
  }
  std::string found;
  if (v2) {
    found = r.cgroups_seen.v2_group;
  } else if (const CgroupHost::V1* h =
                 r.cgroups_seen.FindV1(place.controller)) {
    found = h->group;
  }
  c.found = found;
  if (!found.empty() && SameDirectory(found, place.path)) {
    c.result = CheckResult::kMatch;
    return c;
  }
  c.result = CheckResult::kMismatch;
  c.detail = found.empty() ? "not in a group of this hierarchy under its mount"
                           : "moved out of its group";
  return c;
}

// --- /proc/PID/status ------------------------------------------------------

// The ids of a Uid:/Gid: line (real, effective, saved, filesystem).
std::vector<uint64_t> Ids(absl::string_view field) {
  std::vector<uint64_t> ids;
  for (absl::string_view part :
       absl::StrSplit(field, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    uint64_t id = 0;
    if (absl::SimpleAtoi(part, &id)) ids.push_back(id);
  }
  return ids;
}

// `id` as seen inside the process's user namespace, through the text of
// its uid_map/gid_map as the manager reads it ("inside outside count"
// lines); nullopt when unmapped.
std::optional<uint64_t> Inside(uint64_t id, absl::string_view map) {
  for (absl::string_view line : absl::StrSplit(map, '\n', absl::SkipEmpty())) {
    const std::vector<uint64_t> f = Ids(line);
    if (f.size() == 3 && id >= f[1] && id - f[1] < f[2])
      return f[0] + (id - f[1]);
  }
  return std::nullopt;
}

void CheckCredentials(const Isolation& isolation, const ProcessReadings& r,
                      VerificationCheck& c) {
  c.source = absl::StrCat(r.proc_dir, "/status (Uid, Gid, Groups)");
  if (!r.status.ok() || !r.uid_map.ok() || !r.gid_map.ok()) {
    c.detail = "could not read it";
    return;
  }
  // Each id as the program sees it (inside its user namespace, if any).
  auto inside = [](absl::string_view field, const std::string& map) {
    std::vector<uint64_t> ids;
    for (uint64_t id : Ids(field)) ids.push_back(Inside(id, map).value_or(id));
    return ids;
  };
  const std::vector<uint64_t> uids =
      inside(StatusField(*r.status, "Uid").value_or(""), *r.uid_map);
  const std::vector<uint64_t> gids =
      inside(StatusField(*r.status, "Gid").value_or(""), *r.gid_map);
  std::vector<uint64_t> groups =
      inside(StatusField(*r.status, "Groups").value_or(""), *r.gid_map);
  // "uid 1000" when real, effective, saved and filesystem ids agree, else
  // all four; in IsolationAskedText's words otherwise.
  auto text = [](const char* what, const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
      if (id != ids.front())
        return absl::StrCat(what, " ", absl::StrJoin(ids, "/"));
    }
    return ids.empty() ? absl::StrCat(what, " ?")
                       : absl::StrCat(what, " ", ids.front());
  };
  std::vector<std::string> parts;
  if (isolation.uid) parts.push_back(text("uid", uids));
  if (isolation.gid) parts.push_back(text("gid", gids));
  parts.push_back(absl::StrCat("groups [", absl::StrJoin(groups, ","), "]"));
  c.found = absl::StrJoin(parts, ", ");
  const bool same = c.found == c.asked;
  c.result = same ? CheckResult::kMatch : CheckResult::kMismatch;
  c.detail = same ? "" : "other credentials than asked";
}

void CheckNoNewPrivs(const ProcessReadings& r, VerificationCheck& c) {
  c.source = absl::StrCat(r.proc_dir, "/status (NoNewPrivs)");
  std::optional<std::string> field;
  if (r.status.ok()) field = StatusField(*r.status, "NoNewPrivs");
  if (!field) {
    c.detail = "could not read it";
    return;
  }
  const bool on = *field == "1";
  c.found = on ? "on" : "off";
  c.result = on ? CheckResult::kMatch : CheckResult::kMismatch;
  c.detail = on ? "" : "setuid programs would grant privileges";
}

std::string CapabilityNames(uint64_t mask) {
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) {
    if ((mask >> i) & 1) names.push_back(CapabilityName(i));
  }
  return absl::StrJoin(names, ", ");
}

void CheckCapabilities(const Isolation& isolation, const ProcessReadings& r,
                       VerificationCheck& c) {
  c.source =
      absl::StrCat(r.proc_dir, "/status (CapInh CapPrm CapEff CapBnd CapAmb)");
  if (!r.status.ok()) {
    c.detail = "could not read it";
    return;
  }
  uint64_t keep = 0;
  for (const std::string& name : isolation.keep_capabilities) {
    if (absl::StatusOr<int> n = ParseCapability(name); n.ok() && *n < 64) {
      keep |= uint64_t{1} << *n;
    }
  }
  uint64_t held = 0;
  std::vector<std::string> extra;
  bool only_bounding = true;
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    std::optional<std::string> field = StatusField(*r.status, set);
    uint64_t mask = 0;
    if (!field || !absl::SimpleHexAtoi(*field, &mask)) {
      c.detail = absl::StrCat("no ", set, " line");
      return;
    }
    held |= mask;
    if ((mask & ~keep) != 0) {
      extra.push_back(
          absl::StrCat(set, " holds ", CapabilityNames(mask & ~keep)));
      if (absl::string_view(set) != "CapBnd") only_bounding = false;
    }
  }
  c.found = held == 0 ? std::string("all dropped")
                      : absl::StrCat("all dropped but ", CapabilityNames(held));
  if (extra.empty()) {
    c.result = CheckResult::kMatch;
    c.detail = "";
    return;
  }
  if (only_bounding && !r.manager_has_setpcap) {
    // A host without CAP_SETPCAP cannot empty the bounding set; with every
    // other set empty it grants nothing (child_capabilities.h).
    c.result = CheckResult::kMatch;
    c.found = "all dropped";
    c.detail = "bounding set kept: the manager lacks CAP_SETPCAP";
    return;
  }
  c.result = CheckResult::kMismatch;
  c.detail = absl::StrJoin(extra, "; ");
}

void CheckSeccomp(const ProcessReadings& r, VerificationCheck& c) {
  c.source = absl::StrCat(r.proc_dir, "/status (Seccomp, Seccomp_filters)");
  std::optional<std::string> mode;
  std::optional<std::string> filters;
  if (r.status.ok()) {
    mode = StatusField(*r.status, "Seccomp");
    filters = StatusField(*r.status, "Seccomp_filters");
  }
  if (!mode) {
    c.detail = "could not read it";
    return;
  }
  int64_t count = 0;
  const bool counted = filters && absl::SimpleAtoi(*filters, &count);
  c.found = absl::StrCat("mode ", *mode,
                         counted ? absl::StrCat(", ", count, " filters") : "");
  // Mode 2 is "filter"; Seccomp_filters (5.9+) counts them.
  const bool ok = *mode == "2" && (!counted || count >= 1);
  c.result = ok ? CheckResult::kMatch : CheckResult::kMismatch;
  c.detail = ok ? "" : "no seccomp filter in force";
}

void CheckNamespace(const ProcessReadings& r, VerificationCheck& c) {
  const char* file = NamespaceFileName(*c.isolation);
  auto it = r.namespaces.find(*c.isolation);
  if (file == nullptr || it == r.namespaces.end()) return;
  c.source = absl::StrCat(r.proc_dir, "/ns/", file);
  const ProcessReadings::NamespaceLinks& links = it->second;
  if (!links.process.ok() || !links.manager.ok()) {
    c.detail = absl::StrCat(
        "could not read it: ",
        (links.process.ok() ? links.manager.status() : links.process.status())
            .message());
    return;
  }
  const bool own = *links.process != *links.manager;
  c.found =
      absl::StrCat(own ? "own" : "the manager's", " (", *links.process, ")");
  c.result = own ? CheckResult::kMatch : CheckResult::kMismatch;
  c.detail = own ? "" : "shares the manager's namespace";
}

}  // namespace

std::optional<RlimitSetting> ParseProcLimit(absl::string_view limits_text,
                                            int resource) {
  const RlimitInfo* info = RlimitOfResource(resource);
  if (info == nullptr) return std::nullopt;
  for (absl::string_view line :
       absl::StrSplit(limits_text, '\n', absl::SkipEmpty())) {
    // "Max open files            1024                 4096 files"
    if (!absl::ConsumePrefix(&line, info->line) || line.empty() ||
        line.front() != ' ') {
      continue;
    }
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 2) return std::nullopt;
    uint64_t values[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      if (f[i] == "unlimited") {
        values[i] = RLIM_INFINITY;
      } else if (!absl::SimpleAtoi(f[i], &values[i])) {
        return std::nullopt;
      }
    }
    return RlimitSetting{resource, values[0], values[1]};
  }
  return std::nullopt;
}

std::optional<std::string> StatusField(absl::string_view status_text,
                                       absl::string_view key) {
  for (absl::string_view line :
       absl::StrSplit(status_text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, ":")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return std::nullopt;
}

void FillVerification(const Limits& limits, const Enforcement& enforcement,
                      const Isolation& isolation,
                      const ProcessReadings& readings,
                      Verification& verification) {
  for (VerificationCheck& c : verification.checks) {
    if (!internal::AwaitsReadBack(c)) continue;
    if (c.limit) {
      const LimitEnforcement* e = enforcement.Find(*c.limit);
      const Mechanism m = e != nullptr ? e->mechanism : Mechanism::kNone;
      if (m == Mechanism::kRlimit) {
        CheckRlimit(limits, readings, c);
      } else if (m == Mechanism::kCgroupV1 || m == Mechanism::kCgroupV2) {
        if (*c.limit == LimitKind::kCpuTime) {
          c.detail = absl::StrCat(
              "held by the library over the group's CPU accounting (",
              e->detail, "): no limit file holds it");
          continue;
        }
        const CgroupLimitReading* reading = nullptr;
        for (const CgroupLimitReading& r : readings.cgroup_limits) {
          if (r.limit == *c.limit) reading = &r;
        }
        if (reading == nullptr) {
          c.detail = "no limit file of its group holds it";
          continue;
        }
        CheckCgroupLimit(limits, *reading, c);
      }
      continue;
    }
    if (!c.isolation) continue;
    switch (*c.isolation) {
      case IsolationKind::kNoNewPrivs:
        CheckNoNewPrivs(readings, c);
        break;
      case IsolationKind::kCredentials:
        CheckCredentials(isolation, readings, c);
        break;
      case IsolationKind::kCapabilities:
        CheckCapabilities(isolation, readings, c);
        break;
      case IsolationKind::kSeccomp:
        CheckSeccomp(readings, c);
        break;
      default:
        CheckNamespace(readings, c);
        break;
    }
  }
  for (const CgroupPlace& place : readings.places) {
    verification.checks.push_back(CheckMembership(readings, place));
  }
}

// --- The reads
// ----------------------------------------------------------------

absl::Status LinuxChild::ReadBack(const Limits& limits,
                                  const Enforcement& enforcement,
                                  const Isolation& isolation,
                                  Verification& verification) const {
  ProcessReadings r;
  r.proc_dir = fmt::format("/proc/{}", pid_);
  UniqueFd proc;
  {
    absl::MutexLock lock(&mu_);
    // Not reaped (the reap takes this lock): the pid is still this
    // process's, and so is the directory opened now. A descriptor of
    // /proc/PID keeps naming that process: once it is gone, reads through
    // it fail; they never show another process that got the pid.
    if (reaped_) {
      return absl::FailedPreconditionError(
          fmt::format("read {}: the process has ended", r.proc_dir));
    }
    proc =
        UniqueFd(open(r.proc_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!proc.valid())
      return ErrnoStatus(errno, fmt::format("open {}", r.proc_dir));
    for (const auto& group : cgroups_) {
      for (CgroupPlace& p : group->Places()) r.places.push_back(std::move(p));
      for (CgroupLimitReading& l : group->ReadLimits()) {
        r.cgroup_limits.push_back(std::move(l));
      }
    }
  }
  r.limits = ReadCgroupFile(proc.get(), "limits");
  r.status = ReadCgroupFile(proc.get(), "status");
  r.uid_map = ReadCgroupFile(proc.get(), "uid_map");
  r.gid_map = ReadCgroupFile(proc.get(), "gid_map");
  if (!r.places.empty()) {
    absl::StatusOr<std::string> mountinfo =
        ReadCgroupFile(AT_FDCWD, "/proc/self/mountinfo");
    absl::StatusOr<std::string> cgroup = ReadCgroupFile(proc.get(), "cgroup");
    if (mountinfo.ok() && cgroup.ok()) {
      r.cgroups_seen = ParseCgroupHost(*mountinfo, *cgroup);
    } else {
      r.cgroups_read = mountinfo.ok() ? cgroup.status() : mountinfo.status();
    }
  }
  for (const IsolationEnforcement& e : enforcement.isolation) {
    const char* file = NamespaceFileName(e.kind);
    if (file == nullptr || !e.enforced) continue;
    auto link = [](int dir,
                   const std::string& path) -> absl::StatusOr<std::string> {
      char target[256];
      const ssize_t n = readlinkat(dir, path.c_str(), target, sizeof(target));
      if (n < 0) return ErrnoStatus(errno, fmt::format("readlink {}", path));
      return std::string(target, static_cast<std::size_t>(n));
    };
    r.namespaces[e.kind] = {
        link(proc.get(), absl::StrCat("ns/", file)),
        link(AT_FDCWD, absl::StrCat("/proc/self/ns/", file))};
  }
  // The manager's own effective set, from the kernel in one call (what
  // /proc/self/status's CapEff shows, without building that file).
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct own[2] = {};
  if (syscall(SYS_capget, &header, own) == 0) {
    r.manager_has_setpcap = ((own[0].effective >> 8) & 1U) != 0;  // SETPCAP
  }
  // A zombie's files no longer say where it ran: on exit the kernel moves
  // it to the root cgroup of a v1 hierarchy and frees its memory. Readings
  // taken as it exited are not evidence of a mismatch (a program ending
  // with --verify=refuse was killed for "moved out of its group"); asked
  // after the reads, so an exit during them shows here.
  if (Exited()) {
    return absl::FailedPreconditionError(
        fmt::format("read {}: the process has ended", r.proc_dir));
  }
  FillVerification(limits, enforcement, isolation, r, verification);
  return absl::OkStatus();
}

}  // namespace procsandbox::linux_internal

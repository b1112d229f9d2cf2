// The in-memory manager: Start() — validation, lookup, streams, history.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/exec_errors.h"
#include "common/isolation_enforcement.h"
#include "common/process_errors.h"
#include "memory/core.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"

namespace procsandbox::memory_internal {
namespace {

void OpenSink(const Stdio& stdio, OutputSink& sink,
              std::map<std::string, std::string, std::less<>>& files) {
  sink.kind = stdio.kind();
  switch (stdio.kind()) {
    case Stdio::Kind::kDefault:
      sink.kind = Stdio::Kind::kNull;
      break;
    case Stdio::Kind::kLines:
    case Stdio::Kind::kChunks:
      sink.callback = stdio.callback();
      break;
    case Stdio::Kind::kFile: {
      sink.path = stdio.path();
      std::string& file = files[sink.path];
      if (stdio.file_mode() != FileMode::kAppend) file.clear();
      break;
    }
    default:
      break;
  }
}

// Collapses "//", "/./" and a trailing "/." (".." is kept: it may cross a
// symlink).
std::string NormalizePath(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    parts.push_back(part);
  }
  std::string joined = absl::StrJoin(parts, "/");
  if (absl::StartsWith(path, "/")) return absl::StrCat("/", joined);
  return joined.empty() ? "." : joined;
}

}  // namespace

void ClearLimit(Limits& limits, LimitKind kind) {
  switch (kind) {
    case LimitKind::kWallTime:
      limits.wall_time.reset();
      break;
    case LimitKind::kCpuTime:
      limits.cpu_time.reset();
      break;
    case LimitKind::kMemory:
      limits.memory_bytes.reset();
      break;
    case LimitKind::kFileSize:
      limits.file_size_bytes.reset();
      break;
    case LimitKind::kOpenFiles:
      limits.open_files.reset();
      break;
    case LimitKind::kProcesses:
      limits.processes.reset();
      break;
    case LimitKind::kOutput:
      limits.output_bytes.reset();
      break;
    case LimitKind::kCpuWeight:
      limits.cpu_weight.reset();
      break;
  }
}

std::vector<IsolationEnforcement> VirtualIsolation(
    const MemoryManagerOptions& options) {
  std::vector<IsolationEnforcement> isolation;
  for (IsolationKind kind : kAllIsolationKinds) {
    isolation.push_back({kind, true, "virtual"});
    for (const IsolationEnforcement& u : options.unenforced_isolation) {
      if (u.kind == kind) isolation.back() = {kind, false, u.detail};
    }
  }
  return isolation;
}

LimitEnforcement VirtualEnforcement(LimitKind kind) {
  // Scripted programs never compete for a CPU in virtual time, so a weight
  // has nothing to act on; it is recorded, not simulated.
  if (kind == LimitKind::kCpuWeight) {
    return {kind, Mechanism::kVirtual,
            "recorded; no CPU contention in virtual time"};
  }
  return {kind, Mechanism::kVirtual, "simulated"};
}

// --- Start
// --------------------------------------------------------------------

absl::Status Core::ResolveLocked(ProgramState& p) {
  const std::string& program = p.command.program;
  const std::string& cwd = p.command.working_dir;
  // Relative paths, and relative or empty PATH entries, are looked up from
  // the child's working directory, as execve after chdir does.
  auto from_cwd = [&cwd](absl::string_view path) {
    if (cwd.empty() || absl::StartsWith(path, "/")) return NormalizePath(path);
    return NormalizePath(absl::StrCat(cwd, "/", path));
  };
  const Registration* found = nullptr;
  auto try_key = [&](const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (found != nullptr) return;
    auto it = programs.find(key);
    if (it == programs.end()) return;
    found = &it->second;
    p.resolved = key;
  };
  const Environment& env = p.command.env;
  if (program.find('/') != std::string::npos) {
    try_key(program);
    try_key(from_cwd(program));
  } else {
    const std::string search_path = internal::SearchPathOf(env);
    for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
      try_key(from_cwd(absl::StrCat(dir.empty() ? "." : dir, "/", program)));
    }
    try_key(program);  // registered by bare name: found on any PATH
  }
  if (found == nullptr) return internal::ProgramNotFoundError(program, env);
  if (found->not_executable) {
    return internal::ProgramNotExecutableError(program, p.resolved, env);
  }
  if (!found->error.ok()) return found->error;
  p.program = found->program;
  return absl::OkStatus();
}

absl::Status Core::OpenStreamsLocked(ProgramState& p) {
  const Stdio& in = p.command.stdin_;
  switch (in.kind()) {
    case Stdio::Kind::kData:
      p.stdin_buffer = in.data();
      break;
    case Stdio::Kind::kFile: {
      auto it = files.find(in.path());
      if (it == files.end()) return internal::StdinFileNotFoundError(in.path());
      p.stdin_buffer = it->second;
      break;
    }
    case Stdio::Kind::kPipe:
      p.stdin_closed = false;
      break;
    default:
      break;
  }
  OpenSink(p.command.stdout_, p.out, files);
  if (p.command.stderr_.kind() == Stdio::Kind::kToStdout) {
    p.err_to_out = true;
    p.err.kind = Stdio::Kind::kToStdout;
  } else {
    OpenSink(p.command.stderr_, p.err, files);
  }
  return absl::OkStatus();
}

void Core::RecordLocked(const std::shared_ptr<ProgramState>& p) {
  history.push_back(p);
  while (history.size() > options.history_limit) history.pop_front();
}

absl::Status Core::StartLocked(const std::shared_ptr<ProgramState>& p) {
  if (p->phase != Phase::kNew) {
    return internal::AlreadyStartedError("start", p->command, p->pid);
  }
  if (shut_down) {
    return internal::ManagerGoneError("start", p->command, "MemoryManager");
  }
  absl::Status status = [&]()
                            ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) -> absl::Status {
    if (absl::Status s = ValidateCommand(p->command); !s.ok()) return s;
    p->asked = MergeLimits(p->command.limits, defaults);
    p->limits = p->asked;
    p->enforcement.limits.clear();
    for (LimitKind kind : kAllLimitKinds) {
      if (!p->limits.has(kind)) continue;
      LimitEnforcement e = VirtualEnforcement(kind);
      for (const LimitEnforcement& u : options.unenforced) {
        if (u.limit == kind) e = {kind, Mechanism::kNone, u.detail};
      }
      if (!e.enforced()) {
        if (options.strict) {
          return internal::LimitNotEnforceableError(p->command, kind, e.detail);
        }
        ClearLimit(p->limits, kind);  // reported, not applied
      }
      p->enforcement.limits.push_back(std::move(e));
    }
    p->applied = p->limits;
    if (absl::Status s = internal::PlanIsolationEnforcement(
            p->command, VirtualIsolation(options), options.strict,
            p->enforcement.isolation);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ResolveLocked(*p); !s.ok()) return s;
    return OpenStreamsLocked(*p);
  }();
  p->start_status = status;
  if (!status.ok()) {
    // Record the refusal as it was; the process may be fixed and started.
    auto refused = std::make_shared<ProgramState>();
    refused->command = p->command;
    refused->start_status = status;
    refused->start_time = now;
    refused->applied = MergeLimits(p->command.limits, defaults);
    RecordLocked(refused);
    p->resolved.clear();
    p->program = nullptr;
    return status;
  }
  p->pid = next_pid++;
  p->start_time = now;
  p->argv.reserve(p->command.args.size() + 1);
  p->argv.push_back(p->command.program);
  p->argv.insert(p->argv.end(), p->command.args.begin(), p->command.args.end());
  if (p->limits.wall_time.has_value()) {
    p->deadline = now + *p->limits.wall_time;
  }
  if (p->command.monitor.enabled) {
    p->timeline.emplace(p->command.monitor.max_samples);
    p->next_sample = now + p->command.monitor.interval;
  }
  p->phase = Phase::kLazy;
  ++lazy;
  live.emplace(p->pid, p);
  RecordLocked(p);
  return absl::OkStatus();
}

}  // namespace procsandbox::memory_internal

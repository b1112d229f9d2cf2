#include "report.h"

#include <signal.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/isolation_enforcement.h"

namespace procsandbox::cli {
namespace {

nlohmann::ordered_json EnforcementJson(
    const std::vector<LimitEnforcement>& entries) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const LimitEnforcement& e : entries) {
    j[std::string(LimitKindName(e.limit))] = {
        {"mechanism", std::string(MechanismName(e.mechanism))},
        {"detail", e.detail}};
  }
  return j;
}

// Per isolation mechanism: {"enforced": true, "detail": "..."}.
nlohmann::ordered_json IsolationJson(
    const std::vector<IsolationEnforcement>& entries) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const IsolationEnforcement& e : entries) {
    j[std::string(IsolationKindName(e.kind))] = {{"enforced", e.enforced},
                                                 {"detail", e.detail}};
  }
  return j;
}

}  // namespace

nlohmann::ordered_json LimitsJson(const Limits& l) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  auto seconds = [](absl::Duration d) { return absl::ToDoubleSeconds(d); };
  if (l.wall_time) j["wall_time_s"] = seconds(*l.wall_time);
  if (l.cpu_time) j["cpu_time_s"] = seconds(*l.cpu_time);
  if (l.memory_bytes) j["memory_bytes"] = *l.memory_bytes;
  if (l.file_size_bytes) j["file_size_bytes"] = *l.file_size_bytes;
  if (l.open_files) j["open_files"] = *l.open_files;
  if (l.processes) j["processes"] = *l.processes;
  if (l.output_bytes) j["output_bytes"] = *l.output_bytes;
  if (l.cpu_weight) j["cpu_weight"] = *l.cpu_weight;
  return j;
}

nlohmann::ordered_json SampleJson(const UsageSample& s) {
  nlohmann::ordered_json j;
  j["elapsed_ms"] = absl::ToInt64Milliseconds(s.elapsed);
  j["time"] =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", s.time, absl::UTCTimeZone());
  j["user_ms"] = absl::ToInt64Milliseconds(s.user_time);
  j["system_ms"] = absl::ToInt64Milliseconds(s.system_time);
  // A tenth of a percent says all a sampled figure can.
  j["cpu_percent"] = std::round(s.cpu_percent * 10) / 10;
  j["memory_bytes"] = s.memory_bytes;
  j["peak_memory_bytes"] = s.peak_memory_bytes;
  j["processes"] = s.processes;
  j["stdout_bytes"] = s.stdout_bytes;
  j["stderr_bytes"] = s.stderr_bytes;
  j["state"] = std::string(ProcessStateName(s.state));
  return j;
}

int ExitStatusOf(const Outcome& outcome) {
  if (outcome.reason == ExitReason::kTimedOut) return kExitTimedOut;
  // Killed by the filter: as the SIGSYS the kernel sends for it, also when
  // the library ended the tree with SIGKILL (a kill rule's listener).
  if (outcome.reason == ExitReason::kSeccompViolation) return 128 + SIGSYS;
  if (outcome.signal != 0) return 128 + outcome.signal;
  // Output was cut but the program had ended before the stop reached it:
  // never 0, and the same status as when the TERM lands (no race decides
  // what a script sees).
  if (outcome.reason == ExitReason::kOutputExceeded) return 128 + SIGTERM;
  // A cluster's out-of-memory end may carry no signal (Slurm reports its own
  // code): the status of the kill a local run gets.
  if (outcome.reason == ExitReason::kMemoryExceeded) return 128 + SIGKILL;
  // The node failed or another job took its place: never 0 (the program
  // did not finish), the cluster's exit code where it reported one.
  if ((outcome.reason == ExitReason::kNodeFailed ||
       outcome.reason == ExitReason::kPreempted) &&
      outcome.exit_code == 0) {
    return kExitToolFailed;
  }
  return outcome.exit_code;
}

int ExitStatusOfStartFailure(const absl::Status& status) {
  if (absl::IsNotFound(status)) return kExitNotFound;
  // Found but not executable: an exec error (a stream file that may not be
  // opened is PermissionDenied too, and the tool's own failure).
  if (absl::IsPermissionDenied(status) &&
      absl::StartsWith(status.message(), "exec ")) {
    return kExitNotExecutable;
  }
  // ENOEXEC: the file is there but is no program the kernel can run.
  if (absl::IsInvalidArgument(status) &&
      absl::StartsWith(status.message(), "exec ")) {
    return kExitNotExecutable;
  }
  return kExitToolFailed;
}

std::string Summary(const Outcome& outcome, const ResourceUsage& usage) {
  std::string line = ToString(outcome);
  if (usage.forks_refused > 0 && outcome.limits.processes) {
    // pids.max counts tasks: a thread refused counts as a fork refused.
    absl::StrAppend(
        &line, "; ", usage.forks_refused,
        usage.forks_refused == 1 ? " fork or thread" : " forks or threads",
        " refused at the processes limit ", *outcome.limits.processes);
  }
  return line;
}

std::vector<std::string> EnforcementWarnings(const Enforcement& enforcement,
                                             const Capabilities& capabilities) {
  std::vector<std::string> lines;
  for (const LimitEnforcement& e : enforcement.limits) {
    const std::string limit(LimitKindName(e.limit));
    const LimitEnforcement* preferred = capabilities.Find(e.limit);
    if (!e.enforced()) {
      lines.push_back(
          absl::StrCat("limit ", limit, " is not enforced: ", e.detail));
    } else if (preferred != nullptr && preferred->mechanism != e.mechanism) {
      lines.push_back(absl::StrCat(
          "limit ", limit, " is enforced by ", MechanismName(e.mechanism),
          ", not ", MechanismName(preferred->mechanism), ": ", e.detail));
    }
  }
  for (const IsolationEnforcement& e : enforcement.isolation) {
    // no_new_privs is on by default and best effort (not refused in strict
    // mode either): a line on every run of a host without it says nothing.
    if (!e.enforced && e.kind != IsolationKind::kNoNewPrivs) {
      lines.push_back(absl::StrCat("isolation ", IsolationKindName(e.kind),
                                   " is not enforced: ", e.detail));
    }
  }
  return lines;
}

nlohmann::ordered_json ResultJson(const Outcome& o, Pid pid,
                                  const Enforcement& enforcement,
                                  const ResourceUsage& usage,
                                  const std::string& error) {
  nlohmann::ordered_json j;
  j["status"] = std::string(ExitReasonName(o.reason));
  j["exit_code"] = o.signal != 0 ? nlohmann::ordered_json(nullptr)
                                 : nlohmann::ordered_json(o.exit_code);
  j["signal"] = o.signal != 0 ? nlohmann::ordered_json(o.signal)
                              : nlohmann::ordered_json(nullptr);
  j["signal_name"] = o.signal != 0
                         ? nlohmann::ordered_json(SignalName(o.signal))
                         : nlohmann::ordered_json(nullptr);
  j["exception"] = o.exception_code != 0
                       ? nlohmann::ordered_json(ExceptionName(o.exception_code))
                       : nlohmann::ordered_json(nullptr);
  // kSeccompViolation: the call the filter killed the run for.
  const bool seccomp = o.reason == ExitReason::kSeccompViolation;
  j["syscall"] = seccomp && o.syscall >= 0 ? nlohmann::ordered_json(o.syscall)
                                           : nlohmann::ordered_json(nullptr);
  j["syscall_name"] = seccomp && !o.syscall_name.empty()
                          ? nlohmann::ordered_json(o.syscall_name)
                          : nlohmann::ordered_json(nullptr);
  j["wall_time_s"] = absl::ToDoubleSeconds(o.wall_time);
  j["user_time_s"] = absl::ToDoubleSeconds(o.user_time);
  j["system_time_s"] = absl::ToDoubleSeconds(o.system_time);
  j["peak_memory_bytes"] = o.peak_memory_bytes;
  j["forks_refused"] = usage.forks_refused;
  j["pid"] = pid;
  j["limits"] = LimitsJson(o.limits);
  j["enforcement"] = EnforcementJson(enforcement.limits);
  j["isolation"] = IsolationJson(enforcement.isolation);
  j["verification"] = nullptr;  // RunProgram sets it with --verify
  j["error"] = error.empty() ? nlohmann::ordered_json(nullptr)
                             : nlohmann::ordered_json(error);
  j["samples"] = nlohmann::ordered_json::array();
  for (const UsageSample& sample : o.samples) {
    j["samples"].push_back(SampleJson(sample));
  }
  j["audit_error"] = nullptr;  // set by the caller when --audit failed
  return j;
}

nlohmann::ordered_json VerificationJson(const VerifyReport& report) {
  if (report.policy == VerifyPolicy::kOff) return nullptr;
  auto text_or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::ordered_json(nullptr)
                     : nlohmann::ordered_json(s);
  };
  const std::optional<Verification>& v = report.verification;
  nlohmann::ordered_json j;
  j["policy"] = std::string(VerifyPolicyName(report.policy));
  j["ok"] = v ? nlohmann::ordered_json(v->ok()) : nullptr;
  j["all_verified"] = v ? nlohmann::ordered_json(v->all_verified()) : nullptr;
  j["refused"] = report.refused;
  j["summary"] = v ? nlohmann::ordered_json(ToString(*v)) : nullptr;
  j["error"] = text_or_null(report.error);
  j["checks"] = nlohmann::ordered_json::array();
  if (v) {
    for (const VerificationCheck& c : v->checks) {
      j["checks"].push_back({{"item", c.item},
                             {"asked", c.asked},
                             {"found", text_or_null(c.found)},
                             {"source", text_or_null(c.source)},
                             {"result", std::string(CheckResultName(c.result))},
                             {"detail", text_or_null(c.detail)}});
    }
  }
  return j;
}

nlohmann::ordered_json StartFailureJson(const absl::Status& status,
                                        const Command& command,
                                        const Capabilities& capabilities) {
  const Limits& limits = command.limits;
  nlohmann::ordered_json j;
  j["status"] = "start_failed";
  j["exit_code"] = nullptr;
  j["signal"] = nullptr;
  j["signal_name"] = nullptr;
  j["exception"] = nullptr;
  j["syscall"] = nullptr;
  j["syscall_name"] = nullptr;
  j["wall_time_s"] = 0.0;
  j["user_time_s"] = 0.0;
  j["system_time_s"] = 0.0;
  j["peak_memory_bytes"] = 0;
  j["forks_refused"] = 0;
  j["pid"] = nullptr;
  j["limits"] = LimitsJson(limits);
  std::vector<LimitEnforcement> asked;
  for (LimitKind kind : kAllLimitKinds) {
    const LimitEnforcement* e = capabilities.Find(kind);
    if (limits.has(kind) && e != nullptr) asked.push_back(*e);
  }
  j["enforcement"] = EnforcementJson(asked);
  // What the host could give for each mechanism asked for.
  std::vector<IsolationEnforcement> isolation;
  for (IsolationKind kind : internal::RequestedIsolation(command.isolation)) {
    const IsolationEnforcement* e = capabilities.Find(kind);
    isolation.push_back(
        e != nullptr ? *e
                     : IsolationEnforcement{kind, false,
                                            "not available on this manager"});
  }
  j["isolation"] = IsolationJson(isolation);
  j["verification"] = nullptr;
  j["error"] = std::string(status.message());
  j["samples"] = nlohmann::ordered_json::array();
  j["audit_error"] = nullptr;
  return j;
}

nlohmann::ordered_json CancelledBeforeStartJson(
    int signal, const Command& command, const Capabilities& capabilities) {
  nlohmann::ordered_json j =
      StartFailureJson(absl::CancelledError(absl::StrCat(
                           SignalName(signal), " before the program started")),
                       command, capabilities);
  j["status"] = std::string(ExitReasonName(ExitReason::kCancelled));
  return j;
}

std::string JsonText(const nlohmann::ordered_json& json) {
  // The default handler throws on bytes that are not UTF-8 (an argument, a
  // path, a cgroup name): the tool would abort and write no JSON at all.
  return json.dump(2, ' ', /*ensure_ascii=*/false,
                   nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

}  // namespace procsandbox::cli

#include "slurm/slurm_parse.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "common/quote.h"
#include "fmt/format.h"

namespace procsandbox::slurm_internal {
namespace {

using ::procsandbox::internal::Quote;

constexpr int64_t kMiB = int64_t{1} << 20;

// --- Job states --------------------------------------------------------------

struct StateName {
  absl::string_view name;     // as scontrol, squeue %T and sacct print it
  absl::string_view compact;  // as squeue %t prints it
  JobState state;
};

// squeue(1) and sacct(1), JOB STATE CODES. The flags Slurm prints in place
// of the base state (job_state_string()) map to the state they stand for:
// a held job is pending, a signaled one running, a staging-out one still
// completing. A state's own name comes first (JobStateName).
constexpr StateName kStateNames[] = {
    {"BOOT_FAIL", "BF", JobState::kBootFail},
    {"CANCELLED", "CA", JobState::kCancelled},
    {"COMPLETED", "CD", JobState::kCompleted},
    {"CONFIGURING", "CF", JobState::kConfiguring},
    {"COMPLETING", "CG", JobState::kCompleting},
    {"DEADLINE", "DL", JobState::kDeadline},
    {"FAILED", "F", JobState::kFailed},
    {"NODE_FAIL", "NF", JobState::kNodeFail},
    {"OUT_OF_MEMORY", "OOM", JobState::kOutOfMemory},
    {"PENDING", "PD", JobState::kPending},
    {"PREEMPTED", "PR", JobState::kPreempted},
    {"RUNNING", "R", JobState::kRunning},
    {"RESV_DEL_HOLD", "RD", JobState::kPending},
    {"REQUEUED", "RQ", JobState::kRequeued},
    {"REQUEUE_FED", "RF", JobState::kRequeued},
    {"REQUEUE_HOLD", "RH", JobState::kRequeued},
    {"RESIZING", "RS", JobState::kResizing},
    {"REVOKED", "RV", JobState::kRevoked},
    {"SIGNALING", "SI", JobState::kRunning},
    {"SPECIAL_EXIT", "SE", JobState::kSpecialExit},
    {"STAGE_OUT", "SO", JobState::kCompleting},
    {"STOPPED", "ST", JobState::kStopped},
    {"SUSPENDED", "S", JobState::kSuspended},
    {"TIMEOUT", "TO", JobState::kTimeout},
};

absl::Status InvalidText(absl::string_view what, absl::string_view text,
                         absl::string_view cause) {
  return absl::InvalidArgumentError(
      fmt::format("parse {} {}: {}", what, Quote(text), cause));
}

// --- Key=Value text ----------------------------------------------------------

bool IsKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '/' || c == ':';
}

// "Key=..." with Key = [A-Za-z][A-Za-z0-9_/:]*: the start of a pair.
std::optional<absl::string_view> KeyOf(absl::string_view token) {
  const size_t eq = token.find('=');
  if (eq == absl::string_view::npos || eq == 0) return std::nullopt;
  absl::string_view key = token.substr(0, eq);
  if (!absl::ascii_isalpha(static_cast<unsigned char>(key[0])) ||
      !absl::c_all_of(key, IsKeyChar)) {
    return std::nullopt;
  }
  return key;
}

// Slurm prints "(null)" for an unset string.
std::string Unnull(absl::string_view value) {
  return value == "(null)" ? std::string() : std::string(value);
}

std::string ValueOr(const absl::flat_hash_map<std::string, std::string>& map,
                    absl::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? std::string() : it->second;
}

// --- Numbers -----------------------------------------------------------------

absl::StatusOr<int64_t> ParseCount(absl::string_view what,
                                   absl::string_view text) {
  int64_t value = 0;
  if (text.empty() || !absl::c_all_of(text, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &value)) {
    return InvalidText(what, text, "not a non-negative integer");
  }
  return value;
}

// "SS[.fff]": seconds and their fraction (sacct's CPU times carry
// milliseconds, its man page says microseconds).
absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view text,
                                            absl::string_view whole) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('.', 1));
  absl::StatusOr<int64_t> seconds = ParseCount("Slurm duration", parts.first);
  if (!seconds.ok()) return InvalidText("Slurm duration", whole, "bad seconds");
  absl::Duration result = absl::Seconds(*seconds);
  if (text.find('.') == absl::string_view::npos) return result;
  absl::StatusOr<int64_t> fraction = ParseCount("Slurm duration", parts.second);
  if (!fraction.ok() || parts.second.size() > 9) {
    return InvalidText("Slurm duration", whole, "bad fraction of a second");
  }
  int64_t nanos = *fraction;
  for (size_t i = parts.second.size(); i < 9; ++i) nanos *= 10;
  return result + absl::Nanoseconds(nanos);
}

// A "N sec" / "N min" value of `scontrol show config`.
absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view key,
                                                   absl::string_view text) {
  if (text == "UNLIMITED" || text == "INFINITE") {
    return absl::InfiniteDuration();
  }
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits(' ', 1));
  absl::StatusOr<int64_t> count = ParseCount(key, parts.first);
  if (count.ok() && parts.second == "sec") return absl::Seconds(*count);
  if (count.ok() && parts.second == "min") return absl::Minutes(*count);
  return InvalidText(key, text, "expected \"<n> sec\" or \"<n> min\"");
}

// --- Records -----------------------------------------------------------------

absl::StatusOr<std::string> Required(
    const absl::flat_hash_map<std::string, std::string>& record,
    absl::string_view key, absl::string_view what, absl::string_view text) {
  auto it = record.find(key);
  if (it == record.end()) {
    return InvalidText(what, text.substr(0, 200), absl::StrCat("no ", key));
  }
  return it->second;
}

// A field's parse error names the field.
absl::Status InField(absl::string_view key, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", status.message()));
}

absl::StatusOr<std::optional<absl::Duration>> OptionalDuration(
    const absl::flat_hash_map<std::string, std::string>& record,
    absl::string_view key) {
  auto it = record.find(key);
  if (it == record.end()) return std::optional<absl::Duration>();
  absl::StatusOr<absl::Duration> value = ParseSlurmDuration(it->second);
  if (!value.ok()) return InField(key, value.status());
  return std::optional<absl::Duration>(*value);
}

// Bytes of a memory field; nullopt when absent or 0 (none asked for).
absl::StatusOr<std::optional<int64_t>> OptionalBytes(
    const absl::flat_hash_map<std::string, std::string>& record,
    absl::string_view key) {
  auto it = record.find(key);
  if (it == record.end()) return std::optional<int64_t>();
  absl::StatusOr<int64_t> value = ParseSlurmBytes(it->second);
  if (!value.ok()) return InField(key, value.status());
  if (*value == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(*value);
}

// NumCPUs: "2", or a range "1-4" for a pending job (its minimum).
absl::StatusOr<int> ParseNumCpus(absl::string_view text) {
  absl::string_view first = *absl::StrSplit(text, '-').begin();
  absl::StatusOr<int64_t> count = ParseCount("NumCPUs", first);
  if (!count.ok() || *count > std::numeric_limits<int>::max()) {
    return InvalidText("NumCPUs", text, "not a CPU count");
  }
  return static_cast<int>(*count);
}

absl::Status FillJobMemory(
    const absl::flat_hash_map<std::string, std::string>& record,
    JobRecord& job) {
  absl::StatusOr<std::optional<int64_t>> per_node =
      OptionalBytes(record, "MinMemoryNode");
  if (!per_node.ok()) return per_node.status();
  absl::StatusOr<std::optional<int64_t>> per_cpu =
      OptionalBytes(record, "MinMemoryCPU");
  if (!per_cpu.ok()) return per_cpu.status();
  if (per_node->has_value()) {
    job.memory_bytes = *per_node;
  } else if (per_cpu->has_value()) {
    job.memory_bytes = **per_cpu * std::max(job.num_cpus, 1);
  }
  return absl::OkStatus();
}

absl::Status FillJobTimes(
    const absl::flat_hash_map<std::string, std::string>& record,
    JobRecord& job) {
  absl::StatusOr<std::optional<absl::Duration>> run_time =
      OptionalDuration(record, "RunTime");
  if (!run_time.ok()) return run_time.status();
  absl::StatusOr<std::optional<absl::Duration>> time_limit =
      OptionalDuration(record, "TimeLimit");
  if (!time_limit.ok()) return time_limit.status();
  job.run_time = *run_time;
  job.time_limit = *time_limit;
  return absl::OkStatus();
}

absl::StatusOr<JobRecord> JobFromRecord(
    const absl::flat_hash_map<std::string, std::string>& record,
    absl::string_view line) {
  constexpr absl::string_view kWhat = "scontrol show job";
  absl::StatusOr<std::string> id = Required(record, "JobId", kWhat, line);
  absl::StatusOr<std::string> state = Required(record, "JobState", kWhat, line);
  absl::StatusOr<std::string> exit = Required(record, "ExitCode", kWhat, line);
  for (const auto* field : {&id, &state, &exit}) {
    if (!field->ok()) return field->status();
  }
  JobRecord job;
  absl::StatusOr<int64_t> job_id = ParseCount("JobId", *id);
  if (!job_id.ok()) return job_id.status();
  absl::StatusOr<std::pair<int, int>> exit_code = ParseExitCode(*exit);
  if (!exit_code.ok()) return InField("ExitCode", exit_code.status());
  job.job_id = *job_id;
  job.state_text = *state;
  job.state = ParseJobState(*state);
  std::tie(job.exit_code, job.signal) = *exit_code;
  job.reason = ValueOr(record, "Reason");
  job.node_list = Unnull(ValueOr(record, "NodeList"));
  job.partition = Unnull(ValueOr(record, "Partition"));
  job.name = ValueOr(record, "JobName");
  if (auto it = record.find("NumCPUs"); it != record.end()) {
    absl::StatusOr<int> cpus = ParseNumCpus(it->second);
    if (!cpus.ok()) return cpus.status();
    job.num_cpus = *cpus;
  }
  if (absl::Status s = FillJobTimes(record, job); !s.ok()) return s;
  if (absl::Status s = FillJobMemory(record, job); !s.ok()) return s;
  return job;
}

// One `sacct -P` line: JobID|State|ExitCode|UserCPU|SystemCPU|Elapsed|MaxRSS.
struct SacctLine {
  absl::string_view job;   // "123" of "123.batch"
  absl::string_view step;  // "batch", "extern", "0"; empty on the job's line
  std::vector<absl::string_view> fields;
};

absl::StatusOr<SacctLine> SplitSacctLine(absl::string_view line) {
  SacctLine result;
  result.fields = absl::StrSplit(line, '|');
  if (result.fields.size() != 7) {
    return InvalidText("sacct line", line,
                       fmt::format("{} fields, expected 7 (JobID,State,"
                                   "ExitCode,UserCPU,SystemCPU,Elapsed,MaxRSS)",
                                   result.fields.size()));
  }
  std::pair<absl::string_view, absl::string_view> id =
      absl::StrSplit(result.fields[0], absl::MaxSplits('.', 1));
  result.job = id.first;
  result.step = id.second;
  return result;
}

// A duration field of sacct; empty is zero (a step that never ran).
absl::StatusOr<absl::Duration> SacctDuration(absl::string_view key,
                                             absl::string_view text) {
  if (text.empty()) return absl::ZeroDuration();
  absl::StatusOr<absl::Duration> value = ParseSlurmDuration(text);
  if (!value.ok()) return InField(key, value.status());
  return *value;
}

absl::Status FillAccountingFromJobLine(const SacctLine& line,
                                       AccountingRecord& record) {
  absl::StatusOr<std::pair<int, int>> exit = ParseExitCode(line.fields[2]);
  if (!exit.ok()) return InField("ExitCode", exit.status());
  absl::StatusOr<absl::Duration> user =
      SacctDuration("UserCPU", line.fields[3]);
  if (!user.ok()) return user.status();
  absl::StatusOr<absl::Duration> system =
      SacctDuration("SystemCPU", line.fields[4]);
  if (!system.ok()) return system.status();
  absl::StatusOr<absl::Duration> elapsed =
      SacctDuration("Elapsed", line.fields[5]);
  if (!elapsed.ok()) return elapsed.status();
  record.state = ParseJobState(line.fields[1]);
  std::tie(record.exit_code, record.signal) = *exit;
  record.user_time = *user;
  record.system_time = *system;
  record.elapsed = *elapsed;
  return absl::OkStatus();
}

}  // namespace

JobState ParseJobState(absl::string_view text) {
  // sacct: "CANCELLED by 1000"; a narrow column: "CANCELLED+".
  absl::string_view name = *absl::StrSplit(text, absl::ByAnyChar(" +")).begin();
  for (const StateName& entry : kStateNames) {
    if (name == entry.name || name == entry.compact) return entry.state;
  }
  return JobState::kUnknown;
}

absl::string_view JobStateName(JobState state) {
  for (const StateName& entry : kStateNames) {
    if (entry.state == state) return entry.name;
  }
  return "UNKNOWN";
}

bool IsFinal(JobState state) {
  switch (state) {
    case JobState::kCompleted:
    case JobState::kFailed:
    case JobState::kTimeout:
    case JobState::kOutOfMemory:
    case JobState::kCancelled:
    case JobState::kNodeFail:
    case JobState::kBootFail:
    case JobState::kDeadline:
    case JobState::kPreempted:
    case JobState::kRevoked:
    case JobState::kSpecialExit:
      return true;
    default:
      return false;
  }
}

bool IsPending(JobState state) {
  return state == JobState::kPending || state == JobState::kConfiguring;
}

absl::flat_hash_map<std::string, std::string> ParseOneLineRecord(
    absl::string_view line) {
  absl::flat_hash_map<std::string, std::string> record;
  std::string* value = nullptr;
  for (absl::string_view token :
       absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), ' ')) {
    if (std::optional<absl::string_view> key = KeyOf(token); key.has_value()) {
      value = &record[*key];
      *value = std::string(token.substr(key->size() + 1));
    } else if (value != nullptr) {
      absl::StrAppend(value, " ", token);
    }
  }
  // "Comment=a b  Power=": the space before the next key is no part of it.
  for (auto& [key, text] : record) absl::StripTrailingAsciiWhitespace(&text);
  return record;
}

absl::flat_hash_map<std::string, std::string> ParseConfigText(
    absl::string_view text) {
  absl::flat_hash_map<std::string, std::string> config;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    size_t eq = line.find(" = ");
    // "PowerPlugin             = ": an empty value, its space stripped.
    if (eq == absl::string_view::npos && absl::EndsWith(line, " =")) {
      eq = line.size() - 2;
    }
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, eq));
    if (key.empty() || absl::StrContains(key, ' ')) continue;
    config[key] = std::string(
        absl::StripAsciiWhitespace(line.substr(std::min(eq + 3, line.size()))));
  }
  return config;
}

absl::StatusOr<absl::Duration> ParseSlurmDuration(absl::string_view text) {
  if (text == "UNLIMITED" || text == "INFINITE" || text == "Partition_Limit") {
    return absl::InfiniteDuration();
  }
  absl::string_view rest = text;
  int64_t days = 0;
  if (size_t dash = rest.find('-'); dash != absl::string_view::npos) {
    absl::StatusOr<int64_t> d =
        ParseCount("Slurm duration", rest.substr(0, dash));
    if (!d.ok()) return InvalidText("Slurm duration", text, "bad days");
    days = *d;
    rest = rest.substr(dash + 1);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, ':');
  if (parts.size() > 3 || (text != rest && parts.size() != 3)) {
    return InvalidText("Slurm duration", text,
                       "expected [DD-HH:]MM:SS[.fff], HH:MM:SS or SS");
  }
  absl::StatusOr<absl::Duration> seconds = ParseSeconds(parts.back(), text);
  if (!seconds.ok()) return seconds.status();
  absl::Duration total = absl::Hours(24) * days + *seconds;
  absl::Duration unit = absl::Minutes(1);
  for (size_t i = parts.size() - 1; i-- > 0; unit *= 60) {
    absl::StatusOr<int64_t> n = ParseCount("Slurm duration", parts[i]);
    if (!n.ok()) return InvalidText("Slurm duration", text, "bad field");
    total += unit * *n;
  }
  return total;
}

absl::StatusOr<int64_t> ParseSlurmBytes(absl::string_view text) {
  constexpr absl::string_view kUnits = "KMGTPE";
  absl::string_view number = text;
  int shift = 0;
  if (!text.empty() && !absl::ascii_isdigit(text.back())) {
    const size_t unit = kUnits.find(absl::ascii_toupper(text.back()));
    if (unit == absl::string_view::npos) {
      return InvalidText("Slurm size", text, "unknown unit (K, M, G, T, P, E)");
    }
    shift = 10 * static_cast<int>(unit + 1);
    number.remove_suffix(1);
  }
  double value = 0;
  const bool digits = !number.empty() && absl::ascii_isdigit(number[0]) &&
                      absl::c_all_of(number, [](char c) {
                        return absl::ascii_isdigit(c) || c == '.';
                      });
  if (!digits || !absl::SimpleAtod(number, &value)) {
    return InvalidText("Slurm size", text, "not a number of bytes");
  }
  const double bytes = value * static_cast<double>(int64_t{1} << shift);
  if (bytes >= 9.2e18) return InvalidText("Slurm size", text, "too large");
  return static_cast<int64_t>(std::llround(bytes));
}

absl::StatusOr<std::pair<int, int>> ParseExitCode(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int code = 0;
  int signal = 0;
  if (parts.size() != 2 || !absl::c_all_of(parts[0], absl::ascii_isdigit) ||
      !absl::c_all_of(parts[1], absl::ascii_isdigit) ||
      !absl::SimpleAtoi(parts[0], &code) ||
      !absl::SimpleAtoi(parts[1], &signal)) {
    return InvalidText("Slurm exit code", text, "expected <code>:<signal>");
  }
  return std::make_pair(code, signal);
}

std::string FormatTimeLimit(absl::Duration wall_time) {
  if (wall_time == absl::InfiniteDuration()) return "UNLIMITED";
  const int64_t minutes =
      absl::ToInt64Minutes(absl::Ceil(wall_time, absl::Minutes(1)));
  return absl::StrCat(std::max<int64_t>(minutes, 1));
}

std::string FormatMemory(int64_t bytes) {
  const int64_t mib = bytes / kMiB + (bytes % kMiB > 0 ? 1 : 0);
  return absl::StrCat(std::max<int64_t>(mib, 1), "M");
}

absl::StatusOr<JobRecord> ParseScontrolJob(absl::string_view text) {
  if (absl::StrContains(text, "Invalid job id specified")) {
    return absl::NotFoundError(fmt::format(
        "scontrol show job: {}", Quote(absl::StripAsciiWhitespace(text))));
  }
  // The first record: a job array prints one line per task.
  absl::string_view line =
      *absl::StrSplit(absl::StripLeadingAsciiWhitespace(text), '\n').begin();
  return JobFromRecord(ParseOneLineRecord(line), line);
}

absl::StatusOr<std::vector<QueueEntry>> ParseSqueue(absl::string_view text) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipWhitespace());
  std::vector<QueueEntry> entries;
  entries.reserve(lines.size());
  for (absl::string_view line : lines) {
    // The name is last: a '|' in it stays in it.
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits('|', 3));
    if (fields.size() != 4) {
      return InvalidText("squeue line", line, "expected %i|%T|%r|%j");
    }
    absl::StatusOr<int64_t> id = ParseCount("squeue job id", fields[0]);
    if (!id.ok()) return InvalidText("squeue line", line, "bad job id");
    entries.push_back({*id, ParseJobState(fields[1]), std::string(fields[2]),
                       std::string(fields[3])});
  }
  return entries;
}

absl::StatusOr<AccountingRecord> ParseSacct(absl::string_view text,
                                            int64_t job_id) {
  const std::string id = absl::StrCat(job_id);
  AccountingRecord record;
  record.job_id = job_id;
  bool found = false;
  for (absl::string_view line :
       absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    absl::StatusOr<SacctLine> fields =
        SplitSacctLine(absl::StripTrailingAsciiWhitespace(line));
    if (!fields.ok()) return fields.status();
    if (fields->job != id) continue;
    if (fields->step.empty()) {
      if (absl::Status s = FillAccountingFromJobLine(*fields, record);
          !s.ok()) {
        return s;
      }
      found = true;
    }
    // Empty on the job's line, and on a step that has not reported yet.
    if (fields->fields[6].empty()) continue;
    absl::StatusOr<int64_t> rss = ParseSlurmBytes(fields->fields[6]);
    if (!rss.ok()) return InField("MaxRSS", rss.status());
    record.peak_memory_bytes = std::max(record.peak_memory_bytes, *rss);
  }
  if (!found) {
    return absl::NotFoundError(
        fmt::format("sacct: no line for job {}", job_id));
  }
  return record;
}

absl::StatusOr<ClusterConfig> ParseClusterConfig(absl::string_view text) {
  absl::flat_hash_map<std::string, std::string> map = ParseConfigText(text);
  ClusterConfig config;
  for (absl::string_view key : {"ClusterName", "SLURM_VERSION"}) {
    if (!map.contains(key)) {
      return absl::InvalidArgumentError(fmt::format(
          "parse scontrol show config: no {}: not a Slurm configuration", key));
    }
  }
  config.cluster_name = map["ClusterName"];
  config.version = map["SLURM_VERSION"];
  config.task_plugin = Unnull(ValueOr(map, "TaskPlugin"));
  config.proctrack_type = Unnull(ValueOr(map, "ProctrackType"));
  config.select_type_parameters = Unnull(ValueOr(map, "SelectTypeParameters"));
  config.jobacct_gather_type = Unnull(ValueOr(map, "JobAcctGatherType"));
  config.jobacct_gather_params = Unnull(ValueOr(map, "JobAcctGatherParams"));
  config.accounting_storage_type =
      Unnull(ValueOr(map, "AccountingStorageType"));
  config.propagate_resource_limits =
      Unnull(ValueOr(map, "PropagateResourceLimits"));
  config.constrain_ram_space =
      absl::EqualsIgnoreCase(ValueOr(map, "ConstrainRAMSpace"), "yes");
  config.constrain_swap_space =
      absl::EqualsIgnoreCase(ValueOr(map, "ConstrainSwapSpace"), "yes");
  struct DurationField {
    absl::string_view key;
    absl::Duration* field;
  };
  for (const DurationField& f :
       {DurationField{"KillWait", &config.kill_wait},
        DurationField{"MinJobAge", &config.min_job_age},
        DurationField{"OverTimeLimit", &config.over_time_limit}}) {
    auto it = map.find(f.key);
    if (it == map.end()) continue;
    absl::StatusOr<absl::Duration> value =
        ParseConfigDuration(f.key, it->second);
    if (!value.ok()) return value.status();
    *f.field = *value;
  }
  return config;
}

}  // namespace procsandbox::slurm_internal

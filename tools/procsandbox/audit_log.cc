#include "audit_log.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace procsandbox::cli {
namespace {

// Who, what and where: the command as the tool was given it.
AuditRecord CommandRecord(const Command& command) {
  AuditRecord record;
  record.program = command.program;
  record.argv.push_back(command.program);
  record.argv.insert(record.argv.end(), command.args.begin(),
                     command.args.end());
  for (const Environment::Entry& e : command.env.entries()) {
    record.env_names.push_back(e.name);
    if (e.secret) record.secret_names.push_back(e.name);
  }
  std::sort(record.env_names.begin(), record.env_names.end());
  std::sort(record.secret_names.begin(), record.secret_names.end());
  record.working_dir = command.working_dir;
  record.limits_asked = command.limits;
  record.limits = command.limits;
  return record;
}

}  // namespace

std::string NewRunId() {
  std::random_device random;  // the system's source (getrandom, /dev/urandom)
  const uint64_t id = (static_cast<uint64_t>(random()) << 32) | random();
  return absl::StrFormat("cli-%016x", id);
}

std::string RealUserName() {
  const uid_t uid = getuid();
  std::vector<char> buffer(16384);
  struct passwd entry;
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr && found->pw_name != nullptr && *found->pw_name) {
    return found->pw_name;
  }
  return absl::StrCat("uid ", uid);
}

absl::Status AuditLog::Append(AuditRecord record) const {
  if (!wanted()) return absl::OkStatus();
  record.run_id = run_id;
  record.principal = principal;
  record.queued_at = received_at;
  record.time = absl::Now();
  record.finished_at = record.time;
  record.duration = record.finished_at - record.queued_at;
  return AuditFileSink(path)(record);
}

AuditRecord RecordOfRun(const Command& command, const Outcome& outcome, Pid pid,
                        const Enforcement& enforcement, absl::Time started_at) {
  AuditRecord record = CommandRecord(command);
  record.limits = outcome.limits;
  record.enforcement = enforcement;
  record.status = std::string(SandboxStatusName(StatusOf(outcome)));
  record.outcome = outcome;
  record.pid = pid;
  record.started_at = started_at;
  return record;
}

AuditRecord RecordOfStartFailure(const Command& command,
                                 const absl::Status& why) {
  AuditRecord record = CommandRecord(command);
  record.status = std::string(
      SandboxStatusName(StatusOf(absl::StatusOr<SandboxResult>(why))));
  record.error_code = absl::StatusCodeToString(why.code());
  record.error = std::string(why.message());
  return record;
}

}  // namespace procsandbox::cli

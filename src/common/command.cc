#include "procsandbox/command.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/quote.h"
#include "common/redactor.h"
#include "procsandbox/environment.h"
#include "procsandbox/limits.h"
#include "procsandbox/stdio.h"

namespace procsandbox {
namespace {

absl::Status CommandError(absl::string_view subject, absl::string_view cause) {
  return absl::InvalidArgumentError(absl::StrCat(subject, ": ", cause));
}

bool HasNul(absl::string_view text) {
  return text.find('\0') != absl::string_view::npos;
}

// Characters a POSIX shell takes literally in an unquoted word.
bool IsShellSafe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         absl::string_view("@%+=:,./-_").find(c) != absl::string_view::npos;
}

bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

// One argv word as a POSIX shell would need it: bare when safe, in single
// quotes otherwise, and in bash's $'...' when it holds control bytes (a
// newline or a NUL must stay visible on one line).
std::string ShellQuote(absl::string_view word) {
  bool safe = !word.empty();
  bool control = false;
  for (char c : word) {
    safe = safe && IsShellSafe(c);
    control = control || IsControl(c);
  }
  if (safe) return std::string(word);
  if (control) return absl::StrCat("$'", absl::Utf8SafeCHexEscape(word), "'");
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += "'";
  return quoted;
}

absl::Status ValidateStreams(const Command& command) {
  const std::pair<Stream, const Stdio*> streams[] = {
      {Stream::kStdin, &command.stdin_},
      {Stream::kStdout, &command.stdout_},
      {Stream::kStderr, &command.stderr_},
  };
  for (const auto& [stream, stdio] : streams) {
    if (absl::Status s = ValidateStdio(stream, *stdio); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateKillGrace(absl::Duration grace) {
  if (grace == absl::InfiniteDuration() || grace == -absl::InfiniteDuration()) {
    return CommandError(
        "kill_grace",
        absl::StrCat(procsandbox::FormatDuration(grace), " is not finite"));
  }
  if (grace < absl::ZeroDuration()) {
    return CommandError(
        "kill_grace",
        absl::StrCat(procsandbox::FormatDuration(grace), " is negative"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMonitoring(const Monitoring& monitor) {
  if (monitor.interval < absl::Milliseconds(1)) {
    return CommandError(
        "monitor.interval",
        absl::StrCat(procsandbox::FormatDuration(monitor.interval),
                     " is under 1ms"));
  }
  if (monitor.max_samples < 2) {
    return CommandError("monitor.max_samples",
                        absl::StrCat(monitor.max_samples, " is under 2"));
  }
  return absl::OkStatus();
}

}  // namespace

bool operator==(const Command& a, const Command& b) {
  return a.program == b.program && a.args == b.args && a.env == b.env &&
         a.working_dir == b.working_dir && a.stdin_ == b.stdin_ &&
         a.stdout_ == b.stdout_ && a.stderr_ == b.stderr_ &&
         a.limits == b.limits && a.kill_grace == b.kill_grace &&
         a.on_output_limit == b.on_output_limit && a.isolation == b.isolation &&
         a.monitor == b.monitor && a.name == b.name;
}

absl::Status ValidateCommand(const Command& command) {
  if (command.program.empty()) {
    return CommandError("program", "is empty");
  }
  if (HasNul(command.program)) {
    return CommandError(
        absl::StrCat("program ", internal::Quote(command.program)),
        "contains a NUL byte");
  }
  // Numbered as in argv: args[0] is argument 1.
  for (std::size_t i = 0; i < command.args.size(); ++i) {
    if (HasNul(command.args[i])) {
      return CommandError(absl::StrCat("argument ", i + 1),
                          "contains a NUL byte");
    }
  }
  if (HasNul(command.working_dir)) {
    return CommandError(absl::StrCat("working directory ",
                                     internal::Quote(command.working_dir)),
                        "contains a NUL byte");
  }
  if (absl::Status s = command.env.Validate(); !s.ok()) return s;
  if (absl::Status s = ValidateLimits(command.limits); !s.ok()) return s;
  if (absl::Status s = ValidateStreams(command); !s.ok()) return s;
  if (absl::Status s = ValidateKillGrace(command.kill_grace); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateIsolation(command.isolation); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateMonitoring(command.monitor); !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

std::string FormatArgv(const Command& command) {
  std::string text = ShellQuote(command.program);
  for (const std::string& arg : command.args) {
    absl::StrAppend(&text, " ", ShellQuote(arg));
  }
  return text;
}

absl::string_view OutputLimitActionName(OutputLimitAction action) {
  switch (action) {
    case OutputLimitAction::kTruncate:
      return "truncate";
    case OutputLimitAction::kStop:
      return "stop";
  }
  return "unknown";
}

namespace {

std::string Format(const Command& command) {
  std::vector<std::string> parts;
  if (!command.working_dir.empty()) {
    parts.push_back(absl::StrCat("cwd ", internal::Quote(command.working_dir)));
  }
  if (!command.env.empty()) {
    parts.push_back(absl::StrCat("env ", ToString(command.env)));
  }
  const std::pair<Stream, const Stdio*> streams[] = {
      {Stream::kStdin, &command.stdin_},
      {Stream::kStdout, &command.stdout_},
      {Stream::kStderr, &command.stderr_},
  };
  for (const auto& [stream, stdio] : streams) {
    if (stdio->kind() != Stdio::Kind::kDefault) {
      parts.push_back(absl::StrCat(StreamName(stream), " ", ToString(*stdio)));
    }
  }
  if (!command.limits.empty()) {
    parts.push_back(absl::StrCat("limits ", ToString(command.limits)));
  }
  if (command.kill_grace != kDefaultKillGrace) {
    parts.push_back(absl::StrCat(
        "kill_grace ", procsandbox::FormatDuration(command.kill_grace)));
  }
  if (command.on_output_limit != OutputLimitAction::kTruncate) {
    parts.push_back(absl::StrCat(
        "on_output_limit ", OutputLimitActionName(command.on_output_limit)));
  }
  if (command.isolation != Isolation()) {
    parts.push_back(absl::StrCat("isolation ", ToString(command.isolation)));
  }
  if (!command.name.empty() && command.name != command.program) {
    parts.push_back(absl::StrCat("name ", internal::Quote(command.name)));
  }
  std::string text = FormatArgv(command);
  if (!parts.empty()) {
    absl::StrAppend(&text, " (", absl::StrJoin(parts, ", "), ")");
  }
  return text;
}

}  // namespace

std::string ToString(const Command& command) {
  internal::Redactor redactor;
  redactor.AddSecrets(command.env);
  if (redactor.empty()) return Format(command);
  // Taken out of each field before quoting could hide a value, and out of
  // the whole text after.
  return redactor.Redact(Format(redactor.Redact(command)));
}

}  // namespace procsandbox

// AuditRecordJson(): an audit record as one line of JSON (schema in
// docs/AUDIT.md), through a small writer that always emits valid UTF-8.
#include "procsandbox/sandbox/audit.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/utf8.h"
#include "fmt/format.h"
#include "procsandbox/monitor.h"

namespace procsandbox {
namespace {

// Writes JSON text: values in the order given, commas and escaping done
// here. Strings are always valid UTF-8 on output.
class JsonWriter {
 public:
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  // The key of the next value, inside an object.
  JsonWriter& Key(absl::string_view key) {
    Separate();
    Quoted(key);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(absl::string_view text) {
    Separate();
    Quoted(text);
    return *this;
  }
  JsonWriter& Int(int64_t n) {
    Separate();
    out_ += fmt::format("{}", n);
    return *this;
  }
  JsonWriter& Bool(bool b) {
    Separate();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& Null() {
    Separate();
    out_ += "null";
    return *this;
  }
  // Finite numbers only; anything else is null.
  JsonWriter& Double(double d) {
    if (!std::isfinite(d)) return Null();
    Separate();
    out_ += fmt::format("{}", d);
    return *this;
  }
  // Milliseconds, to the microsecond: 1500, 12.25, 0.001.
  JsonWriter& Millis(absl::Duration d) {
    if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
      return Null();
    }
    Separate();
    const int64_t us = absl::ToInt64Microseconds(d);
    const uint64_t abs_us =
        us < 0 ? 0 - static_cast<uint64_t>(us) : static_cast<uint64_t>(us);
    if (us < 0) out_ += '-';
    out_ += fmt::format("{}", abs_us / 1000);
    if (abs_us % 1000 != 0) {
      std::string frac = fmt::format("{:03}", abs_us % 1000);
      while (frac.back() == '0') frac.pop_back();
      out_ += '.';
      out_ += frac;
    }
    return *this;
  }
  // RFC 3339 in UTC with microseconds: "2026-12-03T17:46:32.000000Z".
  JsonWriter& Time(absl::Time t) {
    if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
      return Null();
    }
    return String(
        absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone()));
  }
  JsonWriter& StringOrNull(absl::string_view text) {
    return text.empty() ? Null() : String(text);
  }
  JsonWriter& Strings(const std::vector<std::string>& texts) {
    BeginArray();
    for (const std::string& t : texts) String(t);
    return EndArray();
  }

  std::string Take() { return std::move(out_); }

 private:
  JsonWriter& Open(char c) {
    Separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& Close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  // A comma before every value but the first of its container, and none
  // after a key.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  void Quoted(absl::string_view text) {
    out_ += '"';
    std::size_t pos = 0;
    while (pos < text.size()) {
      char32_t cp;
      if (!internal::DecodeUtf8(text, &pos, &cp)) {
        out_ += "\xEF\xBF\xBD";  // U+FFFD for each byte that is not UTF-8
        ++pos;
        continue;
      }
      switch (cp) {
        case '"':
          out_ += "\\\"";
          continue;
        case '\\':
          out_ += "\\\\";
          continue;
        case '\n':
          out_ += "\\n";
          continue;
        case '\r':
          out_ += "\\r";
          continue;
        case '\t':
          out_ += "\\t";
          continue;
        default:
          break;
      }
      // C0, DEL and C1 controls, and the line and paragraph separators
      // (line breaks to JavaScript and some log viewers).
      if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
          cp == 0x2029) {
        out_ += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
        continue;
      }
      Append(cp);
    }
    out_ += '"';
  }
  void Append(char32_t cp) {
    if (cp < 0x80) {
      out_ += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out_ += static_cast<char>(0xC0 | (cp >> 6));
      out_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out_ += static_cast<char>(0xE0 | (cp >> 12));
      out_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out_ += static_cast<char>(0xF0 | (cp >> 18));
      out_ += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out_ += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

// Only the limits that are set: an absent key is no limit.
void WriteLimits(JsonWriter& w, const Limits& l) {
  w.BeginObject();
  if (l.wall_time) w.Key("wall_time_ms").Millis(*l.wall_time);
  if (l.cpu_time) w.Key("cpu_time_ms").Millis(*l.cpu_time);
  if (l.memory_bytes) w.Key("memory_bytes").Int(*l.memory_bytes);
  if (l.file_size_bytes) w.Key("file_size_bytes").Int(*l.file_size_bytes);
  if (l.open_files) w.Key("open_files").Int(*l.open_files);
  if (l.processes) w.Key("processes").Int(*l.processes);
  if (l.output_bytes) w.Key("output_bytes").Int(*l.output_bytes);
  if (l.cpu_weight) w.Key("cpu_weight").Int(*l.cpu_weight);
  w.EndObject();
}

void WriteEnforcement(JsonWriter& w, const Enforcement& e) {
  w.BeginObject().Key("limits").BeginArray();
  for (const LimitEnforcement& l : e.limits) {
    w.BeginObject()
        .Key("limit")
        .String(LimitKindName(l.limit))
        .Key("mechanism")
        .String(MechanismName(l.mechanism))
        .Key("enforced")
        .Bool(l.enforced())
        .Key("detail")
        .String(l.detail)
        .EndObject();
  }
  w.EndArray().Key("isolation").BeginArray();
  for (const IsolationEnforcement& i : e.isolation) {
    w.BeginObject()
        .Key("kind")
        .String(IsolationKindName(i.kind))
        .Key("enforced")
        .Bool(i.enforced)
        .Key("detail")
        .String(i.detail)
        .EndObject();
  }
  w.EndArray().EndObject();
}

void WriteVerification(JsonWriter& w, const Verification& v) {
  w.BeginObject()
      .Key("ok")
      .Bool(v.ok())
      .Key("all_verified")
      .Bool(v.all_verified())
      .Key("time")
      .Time(v.time)
      .Key("checks")
      .BeginArray();
  for (const VerificationCheck& c : v.checks) {
    w.BeginObject()
        .Key("item")
        .String(c.item)
        .Key("result")
        .String(CheckResultName(c.result))
        .Key("asked")
        .String(c.asked)
        .Key("found")
        .String(c.found)
        .Key("source")
        .String(c.source)
        .Key("detail")
        .String(c.detail)
        .EndObject();
  }
  w.EndArray().EndObject();
}

void WriteSample(JsonWriter& w, const UsageSample& s) {
  w.BeginObject()
      .Key("time")
      .Time(s.time)
      .Key("elapsed_ms")
      .Millis(s.elapsed)
      .Key("user_time_ms")
      .Millis(s.user_time)
      .Key("system_time_ms")
      .Millis(s.system_time)
      .Key("cpu_percent")
      .Double(s.cpu_percent)
      .Key("memory_bytes")
      .Int(s.memory_bytes)
      .Key("peak_memory_bytes")
      .Int(s.peak_memory_bytes)
      .Key("processes")
      .Int(s.processes)
      .Key("stdout_bytes")
      .Int(s.stdout_bytes)
      .Key("stderr_bytes")
      .Int(s.stderr_bytes)
      .Key("state")
      .String(ProcessStateName(s.state))
      .EndObject();
}

void WriteOutcome(JsonWriter& w, const Outcome& o) {
  const bool seccomp = o.reason == ExitReason::kSeccompViolation;
  w.BeginObject().Key("reason").String(ExitReasonName(o.reason));
  w.Key("exit_code");
  o.signal != 0 ? w.Null() : w.Int(o.exit_code);
  w.Key("signal");
  o.signal != 0 ? w.Int(o.signal) : w.Null();
  w.Key("signal_name");
  o.signal != 0 ? w.String(SignalName(o.signal)) : w.Null();
  w.Key("exception");
  o.exception_code != 0 ? w.String(ExceptionName(o.exception_code)) : w.Null();
  w.Key("syscall");
  seccomp&& o.syscall >= 0 ? w.Int(o.syscall) : w.Null();
  w.Key("syscall_name").StringOrNull(seccomp ? o.syscall_name : "");
  w.Key("wall_time_ms")
      .Millis(o.wall_time)
      .Key("user_time_ms")
      .Millis(o.user_time)
      .Key("system_time_ms")
      .Millis(o.system_time)
      .Key("peak_memory_bytes")
      .Int(o.peak_memory_bytes)
      .Key("samples")
      .BeginArray();
  for (const UsageSample& s : o.samples) WriteSample(w, s);
  w.EndArray().EndObject();
}

void WriteViolation(JsonWriter& w, const SecurityViolation& v) {
  w.BeginObject()
      .Key("kind")
      .String(SecurityViolationKindName(v.kind))
      .Key("severity")
      .String(SeverityName(v.severity))
      .Key("subject")
      .String(v.subject)
      .Key("message")
      .String(v.message)
      .EndObject();
}

}  // namespace

std::string AuditRecordJson(const AuditRecord& r) {
  JsonWriter w;
  w.BeginObject()
      .Key("schema")
      .Int(r.schema)
      .Key("time")
      .Time(r.time)
      .Key("run_id")
      .String(r.run_id)
      .Key("principal")
      .String(r.principal)
      .Key("quota_key")
      .String(r.quota_key)
      .Key("program")
      .String(r.program)
      .Key("program_path")
      .String(r.program_path)
      .Key("argv")
      .Strings(r.argv)
      .Key("env_names")
      .Strings(r.env_names)
      .Key("secret_names")
      .Strings(r.secret_names)
      .Key("working_dir")
      .String(r.working_dir)
      .Key("limits_asked");
  WriteLimits(w, r.limits_asked);
  w.Key("limits");
  WriteLimits(w, r.limits);
  w.Key("enforcement");
  WriteEnforcement(w, r.enforcement);
  w.Key("verification");
  r.verification.has_value() ? WriteVerification(w, *r.verification)
                             : (void)w.Null();
  w.Key("verify_error").StringOrNull(r.verify_error);
  w.Key("status").String(r.status).Key("outcome");
  r.outcome.has_value() ? WriteOutcome(w, *r.outcome) : (void)w.Null();
  w.Key("pid");
  r.pid != 0 ? w.Int(r.pid) : w.Null();
  w.Key("stdout_bytes")
      .Int(r.stdout_bytes)
      .Key("stderr_bytes")
      .Int(r.stderr_bytes)
      .Key("error_code")
      .StringOrNull(r.error_code)
      .Key("error")
      .StringOrNull(r.error)
      .Key("violation");
  r.violation.has_value() ? WriteViolation(w, *r.violation) : (void)w.Null();
  w.Key("queued_at").Time(r.queued_at).Key("started_at");
  r.started_at.has_value() ? w.Time(*r.started_at) : w.Null();
  w.Key("finished_at")
      .Time(r.finished_at)
      .Key("duration_ms")
      .Millis(r.duration)
      .EndObject();
  return w.Take();
}

bool operator==(const AuditRecord& a, const AuditRecord& b) {
  return a.schema == b.schema && a.time == b.time && a.run_id == b.run_id &&
         a.principal == b.principal && a.quota_key == b.quota_key &&
         a.program == b.program && a.program_path == b.program_path &&
         a.argv == b.argv && a.env_names == b.env_names &&
         a.secret_names == b.secret_names && a.working_dir == b.working_dir &&
         a.limits_asked == b.limits_asked && a.limits == b.limits &&
         a.enforcement == b.enforcement && a.verification == b.verification &&
         a.verify_error == b.verify_error && a.status == b.status &&
         a.outcome == b.outcome && a.pid == b.pid &&
         a.stdout_bytes == b.stdout_bytes && a.stderr_bytes == b.stderr_bytes &&
         a.error_code == b.error_code && a.error == b.error &&
         a.violation == b.violation && a.queued_at == b.queued_at &&
         a.started_at == b.started_at && a.finished_at == b.finished_at &&
         a.duration == b.duration;
}

}  // namespace procsandbox

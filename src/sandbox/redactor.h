// Keeps secrets' values out of every text the sandbox makes: each message,
// event detail and Status goes through the Redactor of its run, which
// replaces any secret value with "<redacted>" (belt and braces over
// Environment's own redaction).
//
// A value is also looked for in the forms the library's texts escape it to
// (C escapes, hex escapes, a quote inside single quotes), and a Command is
// redacted field by field before it is formatted, so that quoting cannot
// hide a value. Overlapping values are all covered: every occurrence of
// every value is marked first, then each run of marked bytes is replaced
// once.
#ifndef PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_
#define PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"

namespace procsandbox::sandbox_internal {

class Redactor {
 public:
  static constexpr char kMark[] = "<redacted>";

  Redactor() = default;
  // Every secret entry of each environment.
  void AddSecrets(const Environment& env) {
    for (const Environment::Entry& e : env.entries()) {
      if (e.secret && !e.value.empty()) AddValue(e.value);
    }
  }

  std::string Redact(absl::string_view text) const {
    if (values_.empty() || text.empty()) return std::string(text);
    std::vector<bool> covered(text.size(), false);
    bool any = false;
    for (const std::string& v : values_) {
      for (std::size_t at = text.find(v); at != absl::string_view::npos;
           at = text.find(v, at + 1)) {
        std::fill(covered.begin() + static_cast<std::ptrdiff_t>(at),
                  covered.begin() + static_cast<std::ptrdiff_t>(at + v.size()),
                  true);
        any = true;
      }
    }
    if (!any) return std::string(text);
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (!covered[i]) {
        out.push_back(text[i]);
      } else if (i == 0 || !covered[i - 1]) {
        out += kMark;
      }
    }
    return out;
  }

  // The same code and payloads, the message redacted.
  absl::Status Redact(const absl::Status& status) const {
    if (status.ok() || values_.empty()) return status;
    absl::Status out(status.code(), Redact(status.message()));
    status.ForEachPayload(
        [&out](absl::string_view url, const absl::Cord& payload) {
          out.SetPayload(url, payload);
        });
    return out;
  }

  // A copy of `command` to show: secret values taken out of its program,
  // arguments, name, working directory and every variable's value (secret
  // variables stay secret, so they print redacted anyway).
  Command Redact(const Command& command) const {
    Command out = command;
    if (values_.empty()) return out;
    out.program = Redact(command.program);
    for (std::string& arg : out.args) arg = Redact(arg);
    out.name = Redact(command.name);
    out.working_dir = Redact(command.working_dir);
    Environment env;
    for (const Environment::Entry& e : command.env.entries()) {
      const std::string value = Redact(e.value);
      (void)(e.secret ? env.SetSecret(e.name, value) : env.Set(e.name, value));
    }
    out.env = std::move(env);
    return out;
  }

 private:
  void AddValue(const std::string& value) {
    // The value as it is, and as the library's texts may show it.
    for (std::string form :
         {value, absl::CEscape(value), absl::CHexEscape(value),
          absl::Utf8SafeCEscape(value), absl::Utf8SafeCHexEscape(value),
          absl::StrReplaceAll(value, {{"'", "'\\''"}})}) {
      if (std::find(values_.begin(), values_.end(), form) == values_.end()) {
        values_.push_back(std::move(form));
      }
    }
  }

  std::vector<std::string> values_;
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_

// Keeps secrets' values out of a text: a Redactor given the secrets of an
// environment replaces each of their values with "<redacted>" wherever it
// appears. ToString(Command) uses it on the command's own secrets; each
// sandboxed run has one for every text about it (sandbox/redactor.h). Each
// absolute entry of a secret PATH is a secret too: a program found on it
// shows its directory.
//
// A value is also looked for in the forms the library's texts escape it to
// (C escapes, hex escapes, a quote inside single quotes), and a Command is
// redacted field by field before it is formatted, so that quoting cannot
// hide a value. Overlapping values are all covered: every occurrence of
// every value is marked first, then each run of marked bytes is replaced
// once.
#ifndef PROCSANDBOX_SRC_COMMON_REDACTOR_H_
#define PROCSANDBOX_SRC_COMMON_REDACTOR_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"

namespace procsandbox::internal {

class Redactor {
 public:
  static constexpr char kMark[] = "<redacted>";

  Redactor() = default;
  // True when there is nothing to redact.
  bool empty() const { return values_.empty(); }
  // Every secret entry of each environment.
  void AddSecrets(const Environment& env) {
    for (const Environment::Entry& e : env.entries()) {
      if (!e.secret || e.value.empty()) continue;
      AddValue(e.value);
      if (e.name != "PATH") continue;
      for (absl::string_view dir : absl::StrSplit(e.value, ':')) {
        // Relative entries are never searched; "/" is in every path.
        if (absl::StartsWith(dir, "/") && dir != "/") {
          AddValue(std::string(dir));
        }
      }
    }
  }

  // `text` with every secret value replaced.
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

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_REDACTOR_H_

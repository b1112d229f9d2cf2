// Keeps secrets' values out of every text the sandbox makes: each message,
// event detail and Status goes through the Redactor of its run, which
// replaces any secret value with "<redacted>" (belt and braces over
// Environment's own redaction).
#ifndef PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_
#define PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "procsandbox/environment.h"

namespace procsandbox::sandbox_internal {

class Redactor {
 public:
  Redactor() = default;
  // Every secret entry of each environment.
  void AddSecrets(const Environment& env) {
    for (const Environment::Entry& e : env.entries()) {
      if (e.secret && !e.value.empty()) values_.push_back(e.value);
    }
    // Longest first, so a secret containing another is replaced whole.
    std::sort(values_.begin(), values_.end(),
              [](const std::string& a, const std::string& b) {
                return a.size() > b.size();
              });
  }

  std::string Redact(absl::string_view text) const {
    std::string out(text);
    for (const std::string& v : values_) {
      out = absl::StrReplaceAll(out, {{v, "<redacted>"}});
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

 private:
  std::vector<std::string> values_;
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_

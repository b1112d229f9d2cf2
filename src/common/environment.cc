#include "procsandbox/environment.h"

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/quote.h"

// POSIX: the host's environment (unistd.h declares it only with _GNU_SOURCE on
// some C libraries, so it is declared here). Only FromHost() reads it.
extern char** environ;

namespace procsandbox {
namespace {

constexpr absl::string_view kRedacted = "<redacted>";

absl::Status VariableError(absl::string_view name, absl::string_view cause) {
  return absl::InvalidArgumentError(absl::StrCat(
      "environment variable ", internal::Quote(name), ": ", cause));
}

// The cause never quotes the value: it may be a secret.
absl::Status ValidateValue(absl::string_view name, absl::string_view value) {
  if (value.find('\0') != absl::string_view::npos) {
    return VariableError(name, "value contains a NUL byte");
  }
  return absl::OkStatus();
}

}  // namespace

Environment::Environment(
    std::initializer_list<std::pair<std::string, std::string>> vars) {
  for (const auto& [name, value] : vars) {
    if (Entry* entry = Find(name); entry != nullptr) {
      entry->value = value;
    } else {
      entries_.push_back(Entry{name, value, false});
    }
  }
}

absl::StatusOr<Environment> Environment::From(
    std::initializer_list<Entry> entries) {
  Environment env;
  for (const Entry& entry : entries) {
    absl::Status s = entry.secret ? env.SetSecret(entry.name, entry.value)
                                  : env.Set(entry.name, entry.value);
    if (!s.ok()) return s;
  }
  return env;
}

Environment Environment::FromHost() {
  Environment env;
  if (environ == nullptr) return env;
  for (char** var = environ; *var != nullptr; ++var) {
    const absl::string_view text(*var);
    const std::size_t eq = text.find('=');
    // Entries without '=' or without a name cannot be passed on to a child.
    if (eq == absl::string_view::npos || eq == 0) continue;
    const absl::string_view name = text.substr(0, eq);
    // getenv() finds the first of duplicated names; keep that one.
    if (env.Contains(name)) continue;
    env.entries_.push_back(
        Entry{std::string(name), std::string(text.substr(eq + 1)), false});
  }
  return env;
}

absl::Status Environment::Set(absl::string_view name, absl::string_view value) {
  if (absl::Status s = ValidateEnvironmentName(name); !s.ok()) return s;
  if (absl::Status s = ValidateValue(name, value); !s.ok()) return s;
  if (Entry* entry = Find(name); entry != nullptr) {
    // A name once secret stays secret until Unset(): replacing its value
    // must not expose the new one.
    entry->value = std::string(value);
  } else {
    entries_.push_back(Entry{std::string(name), std::string(value), false});
  }
  return absl::OkStatus();
}

absl::Status Environment::SetSecret(absl::string_view name,
                                    absl::string_view value) {
  if (absl::Status s = Set(name, value); !s.ok()) return s;
  Find(name)->secret = true;
  return absl::OkStatus();
}

bool Environment::Unset(absl::string_view name) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->name == name) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<std::string> Environment::Get(absl::string_view name) const {
  const Entry* entry = Find(name);
  if (entry == nullptr) return std::nullopt;
  return entry->value;
}

bool Environment::Contains(absl::string_view name) const {
  return Find(name) != nullptr;
}

bool Environment::IsSecret(absl::string_view name) const {
  const Entry* entry = Find(name);
  return entry != nullptr && entry->secret;
}

absl::Status Environment::Validate() const {
  for (const Entry& entry : entries_) {
    if (absl::Status s = ValidateEnvironmentName(entry.name); !s.ok()) return s;
    if (absl::Status s = ValidateValue(entry.name, entry.value); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> Environment::ToStrings() const {
  std::vector<std::string> strings;
  strings.reserve(entries_.size());
  for (const Entry& entry : entries_) {
    strings.push_back(absl::StrCat(entry.name, "=", entry.value));
  }
  return strings;
}

Environment::Entry* Environment::Find(absl::string_view name) {
  for (Entry& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const Environment::Entry* Environment::Find(absl::string_view name) const {
  for (const Entry& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

absl::Status ValidateEnvironmentName(absl::string_view name) {
  if (name.empty()) return VariableError(name, "name is empty");
  if (name.find('\0') != absl::string_view::npos) {
    return VariableError(name, "name contains a NUL byte");
  }
  if (name.find('=') != absl::string_view::npos) {
    return VariableError(name, "name contains '='");
  }
  return absl::OkStatus();
}

std::string ToString(const Environment& env) {
  return absl::StrCat(
      "{",
      absl::StrJoin(env.entries(), ", ",
                    [](std::string* out, const Environment::Entry& entry) {
                      absl::StrAppend(
                          out, absl::Utf8SafeCHexEscape(entry.name), "=",
                          entry.secret ? std::string(kRedacted)
                                       : absl::Utf8SafeCHexEscape(entry.value));
                    }),
      "}");
}

}  // namespace procsandbox

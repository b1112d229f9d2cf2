// EnvironmentPolicy: patterns, defaults, and building a run's environment.
#include "sandbox/environment_policy.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "sandbox/security_violation.h"

namespace procsandbox {

std::vector<std::string> EnvironmentPolicy::DefaultDenied() {
  // Loader and shell start-up hooks run code inside any program; agent
  // sockets hand out the host user's keys.
  return {"LD_*",           "DYLD_*",        "BASH_ENV",       "ENV",
          "PROMPT_COMMAND", "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "KRB5CCNAME"};
}

std::vector<std::string> EnvironmentPolicy::DefaultCredentialPatterns() {
  return {"*SECRET*",     "*TOKEN*",       "*PASSWORD*",   "*PASSWD*",
          "*CREDENTIAL*", "*_KEY",         "*ACCESS_KEY*", "*API_KEY*",
          "*APIKEY*",     "*PRIVATE_KEY*", "*_PAT"};
}

namespace sandbox_internal {
namespace {

bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

bool Equal(absl::string_view a, absl::string_view b, bool ignore_case) {
  return ignore_case ? absl::EqualsIgnoreCase(a, b) : a == b;
}

bool Contains(absl::string_view haystack, absl::string_view needle,
              bool ignore_case) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (Equal(haystack.substr(i, needle.size()), needle, ignore_case)) {
      return true;
    }
  }
  return false;
}

// The checks every explicitly set variable passes.
absl::Status CheckExplicit(const EnvironmentPolicy& policy,
                           const Environment::Entry& entry,
                           absl::string_view source) {
  if (!IsValidVariableName(entry.name)) {
    return Violation(
        SecurityViolation::Kind::kInvalidEnvironmentName, entry.name,
        fmt::format("set environment variable \"{}\" ({}): not a valid name "
                    "([A-Za-z_][A-Za-z0-9_]*)",
                    absl::CEscape(entry.name), source));
  }
  if (MatchesAny(policy.deny, entry.name, /*ignore_case=*/false)) {
    return Violation(
        SecurityViolation::Kind::kForbiddenEnvironmentName, entry.name,
        fmt::format("set environment variable {} ({}): denied by the policy",
                    entry.name, source));
  }
  if (!entry.secret && MatchesAny(policy.credential_patterns, entry.name,
                                  /*ignore_case=*/true)) {
    return Violation(
        SecurityViolation::Kind::kForbiddenEnvironmentName, entry.name,
        fmt::format("set environment variable {} ({}): the name looks like a "
                    "credential; pass it with Environment::SetSecret",
                    entry.name, source));
  }
  return absl::OkStatus();
}

}  // namespace

bool MatchesPattern(absl::string_view pattern, absl::string_view name,
                    bool ignore_case) {
  const bool star_front = absl::StartsWith(pattern, "*");
  const bool star_back = pattern.size() > 1 && absl::EndsWith(pattern, "*");
  absl::string_view core = pattern;
  if (star_front) core.remove_prefix(1);
  if (star_back) core.remove_suffix(1);
  if (star_front && star_back) return Contains(name, core, ignore_case);
  if (star_front) {
    return name.size() >= core.size() &&
           Equal(name.substr(name.size() - core.size()), core, ignore_case);
  }
  if (star_back) {
    return name.size() >= core.size() &&
           Equal(name.substr(0, core.size()), core, ignore_case);
  }
  return Equal(name, core, ignore_case);
}

bool MatchesAny(const std::vector<std::string>& patterns,
                absl::string_view name, bool ignore_case) {
  for (const std::string& p : patterns) {
    if (MatchesPattern(p, name, ignore_case)) return true;
  }
  return false;
}

absl::Status ValidatePattern(absl::string_view field,
                             absl::string_view pattern) {
  absl::string_view core = pattern;
  if (absl::StartsWith(core, "*")) core.remove_prefix(1);
  if (absl::EndsWith(core, "*")) core.remove_suffix(1);
  bool ok = !core.empty();
  for (char c : core) ok = ok && IsNameChar(c);
  if (!ok) {
    return absl::InvalidArgumentError(fmt::format(
        "sandbox policy {}: bad pattern \"{}\" (NAME, PREFIX*, *SUFFIX or "
        "*PART*)",
        field, absl::CEscape(pattern)));
  }
  return absl::OkStatus();
}

bool IsValidVariableName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

absl::StatusOr<BuiltEnvironment> BuildEnvironment(
    const EnvironmentPolicy& policy, const Environment& host,
    const Environment& request) {
  BuiltEnvironment built;
  if (policy.mode != EnvironmentPolicy::Mode::kEmpty) {
    for (const Environment::Entry& e : host.entries()) {
      if (!IsValidVariableName(e.name)) continue;
      if (policy.mode == EnvironmentPolicy::Mode::kAllowlist &&
          !MatchesAny(policy.allow, e.name, /*ignore_case=*/false)) {
        continue;
      }
      if (MatchesAny(policy.deny, e.name, /*ignore_case=*/false) ||
          MatchesAny(policy.credential_patterns, e.name,
                     /*ignore_case=*/true)) {
        built.dropped.push_back(e.name);
        continue;
      }
      absl::Status s = e.secret ? built.env.SetSecret(e.name, e.value)
                                : built.env.Set(e.name, e.value);
      if (!s.ok()) continue;
    }
  }
  for (const auto& [source, env] :
       {std::pair<absl::string_view, const Environment*>{"policy", &policy.set},
        {"request", &request}}) {
    for (const Environment::Entry& e : env->entries()) {
      if (absl::Status s = CheckExplicit(policy, e, source); !s.ok()) return s;
      absl::Status s = e.secret ? built.env.SetSecret(e.name, e.value)
                                : built.env.Set(e.name, e.value);
      if (!s.ok()) return s;
      built.explicit_names.insert(e.name);
    }
  }
  return built;
}

}  // namespace sandbox_internal
}  // namespace procsandbox

// Environment names and values, and the policy's NAME / PREFIX* / *SUFFIX /
// *PART* patterns: a valid pattern matches exactly as fnmatch(3) would, a
// set variable reads back, and a secret's value never shows in ToString().
#include <fnmatch.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "fuzz_support.h"
#include "procsandbox/environment.h"
#include "sandbox/environment_policy.h"

namespace {

using procsandbox::Environment;
using procsandbox::fuzz::Input;
namespace internal = procsandbox::sandbox_internal;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::string name = in.Line();
  const std::string value = in.Line();
  const std::string pattern = in.Line();
  const bool ignore_case = in.Bool();
  const std::string other = std::string(in.Rest());

  // A variable name the policy accepts is one the environment accepts.
  const bool name_ok = procsandbox::ValidateEnvironmentName(name).ok();
  if (internal::IsValidVariableName(name)) FUZZ_CHECK(name_ok);

  Environment env;
  const absl::Status set = env.Set(name, value);
  FUZZ_CHECK(set.ok() == (name_ok && value.find('\0') == std::string::npos));
  if (set.ok()) {
    FUZZ_CHECK(env.Get(name) == value);
    FUZZ_CHECK(env.Validate().ok());
    const std::vector<std::string> strings = env.ToStrings();
    FUZZ_CHECK(strings.size() == 1);
    FUZZ_CHECK(strings[0] == name + "=" + value);
    // A secret's value does not change the text shown.
    Environment secret, other_secret;
    FUZZ_CHECK(secret.SetSecret(name, value).ok());
    FUZZ_CHECK(other_secret.SetSecret(name, "x").ok());
    FUZZ_CHECK(procsandbox::ToString(secret) ==
               procsandbox::ToString(other_secret));
    // Setting it again keeps it secret.
    FUZZ_CHECK(secret.Set(name, other).ok() ==
               (other.find('\0') == std::string::npos));
    FUZZ_CHECK(secret.IsSecret(name));
    FUZZ_CHECK(env.Unset(name) && env.empty());
  }

  // Patterns: a valid one matches as a shell glob would.
  if (internal::ValidatePattern("fuzz", pattern).ok()) {
    FUZZ_CHECK(!pattern.empty() && pattern != "*");
    for (const std::string& candidate : {name, other}) {
      if (candidate.find('\0') != std::string::npos) continue;
      const bool glob = fnmatch(pattern.c_str(), candidate.c_str(),
                                ignore_case ? FNM_CASEFOLD : 0) == 0;
      FUZZ_CHECK(internal::MatchesPattern(pattern, candidate, ignore_case) ==
                 glob);
    }
  } else {
    // The message shows the pattern escaped: no control character.
    const absl::Status s = internal::ValidatePattern("fuzz", pattern);
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    for (char c : s.message()) {
      FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    }
  }
  return 0;
}

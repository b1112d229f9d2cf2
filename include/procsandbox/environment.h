// procsandbox/environment.h: a child's environment, explicit and ordered.
//
// A child gets exactly the variables of its command's `Environment`: nothing
// is inherited from the host unless asked (`Environment::FromHost()`, or
// copying chosen names with `Set(name, *host.Get(name))`). Names are checked
// when set; values may be marked secret, and a secret's value is never shown
// by `ToString`/fmt or in any error message of the library (a secret PATH:
// a start error names the program as given, not where it was looked for).
//
// Three ways to fill one, by where the values come from:
//   - literals known to be valid: the initializer-list constructor, which
//     cannot fail; Validate(), and Start(), report a bad name.
//   - runtime values, several at once: `From()`, which checks every entry and
//     returns the first error (no half-built environment).
//   - one at a time: `Set()`/`SetSecret()`, each returning its Status.
// C++17 cannot check a string literal's contents at compile time without a
// macro (that needs C++20 `consteval`), so no overload pretends to.
//
// Example:
//   procsandbox::Environment env = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C"}};
//   absl::StatusOr<procsandbox::Environment> checked =
//       procsandbox::Environment::From(
//           {{"HOME", home}, {"API_TOKEN", token, /*secret=*/true}});
//   if (!checked.ok()) return checked.status();
//   fmt::print("{}\n", *checked);   // {HOME=/home/me, API_TOKEN=<redacted>}
#ifndef PROCSANDBOX_ENVIRONMENT_H_
#define PROCSANDBOX_ENVIRONMENT_H_

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

class PROCSANDBOX_EXPORT Environment {
 public:
  struct Entry {
    std::string name;
    std::string value;
    bool secret = false;

    friend bool operator==(const Entry& a, const Entry& b) {
      return a.name == b.name && a.value == b.value && a.secret == b.secret;
    }
    friend bool operator!=(const Entry& a, const Entry& b) { return !(a == b); }
  };

  // Empty: the child gets no variables at all.
  Environment() = default;
  // From literal pairs; a later pair replaces an earlier one of the same name.
  // Names are not checked here (a constructor cannot fail): `Validate()`, and
  // Start(), report a bad one.
  Environment(std::initializer_list<std::pair<std::string, std::string>> vars);

  // From `entries`, each checked as Set() checks it (SetSecret() for those
  // marked secret); a later entry replaces an earlier one of the same name in
  // place, and a name once secret stays secret. InvalidArgument naming the
  // first bad entry (never a secret's value); nothing is returned then.
  static absl::StatusOr<Environment> From(std::initializer_list<Entry> entries);

  // A snapshot of the host process's environment, in its order.
  static Environment FromHost();

  // Sets `name` to `value`, replacing an earlier value in place (the order of
  // first insertion is kept). InvalidArgument when the name is empty, contains
  // '=' or a NUL byte, or the value contains a NUL byte; the message names the
  // variable (never a secret's value).
  absl::Status Set(absl::string_view name, absl::string_view value);
  // As Set(), and marks the value secret. A name once secret stays secret
  // (also through Set()) until Unset().
  absl::Status SetSecret(absl::string_view name, absl::string_view value);
  // Removes `name`; false when it was not set.
  bool Unset(absl::string_view name);

  std::optional<std::string> Get(absl::string_view name) const;
  bool Contains(absl::string_view name) const;
  bool IsSecret(absl::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // OK, or InvalidArgument naming the first bad entry (see Set()).
  absl::Status Validate() const;

  // "NAME=VALUE" strings, secrets included, for the spawn path.
  std::vector<std::string> ToStrings() const;

  friend bool operator==(const Environment& a, const Environment& b) {
    return a.entries_ == b.entries_;
  }
  friend bool operator!=(const Environment& a, const Environment& b) {
    return !(a == b);
  }

 private:
  Entry* Find(absl::string_view name);
  const Entry* Find(absl::string_view name) const;

  std::vector<Entry> entries_;
};

// OK, or InvalidArgument naming the variable: a name must be non-empty and
// contain neither '=' nor NUL.
PROCSANDBOX_EXPORT absl::Status ValidateEnvironmentName(absl::string_view name);

// "{PATH=/usr/bin, TOKEN=<redacted>}".
PROCSANDBOX_EXPORT std::string ToString(const Environment& env);

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Environment)

#endif  // PROCSANDBOX_ENVIRONMENT_H_

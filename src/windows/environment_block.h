// The environment block CreateProcessW takes (CREATE_UNICODE_ENVIRONMENT).
//
// A child gets exactly its Command's Environment, as on POSIX; Windows wants
// it as one UTF-16 string of "NAME=value" entries, each ending in NUL, the
// whole ending in one more NUL, sorted by name as Windows sorts them
// (ordinal, ignoring case by comparing upper case), since Windows treats
// names that differ only in case as one.
//
// Example:
//   absl::StatusOr<std::wstring> block = BuildEnvironmentBlock(command.env);
//   if (!block.ok()) return block.status();
//   CreateProcessW(..., CREATE_UNICODE_ENVIRONMENT, block->data(), ...);
#ifndef PROCSANDBOX_SRC_WINDOWS_ENVIRONMENT_BLOCK_H_
#define PROCSANDBOX_SRC_WINDOWS_ENVIRONMENT_BLOCK_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/environment.h"

namespace procsandbox::windows_internal {

// "A=1\0b=2\0\0" in UTF-16 (an empty environment is "\0\0"), sorted as
// above. InvalidArgument naming the variable, never a value (it may be a
// secret): what Environment::Validate() rejects (an empty name, '=' in a
// name, NUL), invalid UTF-8 in a name or value, and two names equal ignoring
// case ("Path" and "PATH"). Upper case here is that of ASCII, Latin-1,
// Greek and Cyrillic letters; other characters compare as they are.
absl::StatusOr<std::wstring> BuildEnvironmentBlock(const Environment& env);

// The variable `name` of `env` as Windows finds it: ignoring case (the first
// match in env's order; BuildEnvironmentBlock rejects a second).
const Environment::Entry* FindVariable(const Environment& env,
                                       absl::string_view name);

// true when `a` and `b` name the same variable on Windows.
bool SameVariableName(absl::string_view a, absl::string_view b);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_ENVIRONMENT_BLOCK_H_

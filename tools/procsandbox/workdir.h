// --workdir-root: a fresh private working directory per run, removed after.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_WORKDIR_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_WORKDIR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace procsandbox::cli {

// `<root>/run-XXXXXX`, mode 0700.
absl::StatusOr<std::string> MakeWorkdir(const std::string& root);

// Removes `dir` and everything in it without following symbolic links (a
// link the program left is removed, never what it points to).
absl::Status RemoveWorkdir(const std::string& dir);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_WORKDIR_H_

// The Windows command line: one string carries a child's argv.
//
// CreateProcessW takes a single command line; the child splits it again,
// with CommandLineToArgvW or its C runtime's argv parser. Both read
// backslashes and quotes by the same rules (for every argument but the
// first), which QuoteArgument() writes, so any argv survives the trip:
// spaces, tabs, quotes, backslashes before a quote or at the end, empty
// arguments, non-ASCII text (the line is UTF-8 here, UTF-16 for Windows).
// argv[0] has rules of its own: it ends at the first space or tab, or when
// it opens with a quote at the next quote, and a backslash is never an
// escape in it. So an argv[0] is quoted as it stands, and one containing a
// quote cannot be passed at all (InvalidArgument). Some C runtimes (Wine's
// msvcrt, and so mingw programs under Wine) do read backslashes in argv[0]
// as in the other arguments; with no quote inside it, that differs only for
// a quoted argv[0] ending in a backslash, also refused (no program file name
// ends in one).
//
// Example:
//   absl::StatusOr<std::string> line =
//       BuildCommandLine("C:\\Program Files\\Git\\bin\\git.exe",
//                        {"commit", "-m", "say \"hi\""});
//   // "\"C:\\Program Files\\Git\\bin\\git.exe\" commit -m \"say \\\"hi\\\"\""
//   SplitCommandLine(*line);  // the program, "commit", "-m", "say \"hi\""
#ifndef PROCSANDBOX_SRC_WINDOWS_COMMAND_LINE_H_
#define PROCSANDBOX_SRC_WINDOWS_COMMAND_LINE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace procsandbox::windows_internal {

// CreateProcessW's limit: 32767 UTF-16 units with the terminating NUL.
inline constexpr std::size_t kMaxCommandLineUnits = 32767;

// One argument (not argv[0]) quoted so that CommandLineToArgvW and the MS C
// runtime give it back unchanged: as it is when it has no space, tab,
// newline, vertical tab or quote and is not empty; else in quotes, with each
// quote and the backslashes before it, or before the closing quote,
// escaped by backslashes (n backslashes before a quote become 2n+1).
std::string QuoteArgument(absl::string_view arg);

// argv[0] (the program as given) followed by the arguments, each quoted,
// separated by one space; UTF-8. InvalidArgument naming the part ("program",
// "argument 2": numbered as in argv) for a NUL byte or invalid UTF-8 (see
// Utf8ToWide), for a quote in argv[0] or a backslash ending one that needs
// quotes (a space or tab in it), and for a line of more than 32766
// UTF-16 units (naming the limit, kMaxCommandLineUnits).
absl::StatusOr<std::string> BuildCommandLine(
    absl::string_view argv0, const std::vector<std::string>& args);

// The argv CommandLineToArgvW makes of `line` (its rules as Wine implements
// them and Windows behaves, including argv[0]'s and the quirk that two
// quotes inside quotes give one quote and end the quoted part); for tests
// and a fuzz round trip. An empty line gives one empty argv[0]
// (CommandLineToArgvW would give the running program's path).
std::vector<std::string> SplitCommandLine(absl::string_view line);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_COMMAND_LINE_H_

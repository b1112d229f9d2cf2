#include "windows/command_line.h"

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "windows/utf16.h"

namespace procsandbox::windows_internal {
namespace {

// What separates arguments for both parsers.
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool NeedsQuotes(absl::string_view arg) {
  return arg.empty() || arg.find_first_of(absl::string_view(" \t\n\v\"", 5)) !=
                            absl::string_view::npos;
}

// argv[0] as CommandLineToArgvW reads it: up to the next quote when it
// opens with one, else up to a blank; no escapes. Returns where it ended.
std::size_t SplitProgram(absl::string_view line, std::string* argv0) {
  std::size_t i = 0;
  if (i < line.size() && line[i] == '"') {
    ++i;
    while (i < line.size() && line[i] != '"') argv0->push_back(line[i++]);
    if (i < line.size()) ++i;  // the closing quote; nothing else ends it
  } else {
    while (i < line.size() && !IsBlank(line[i])) argv0->push_back(line[i++]);
  }
  return i;
}

}  // namespace

std::string QuoteArgument(absl::string_view arg) {
  if (!NeedsQuotes(arg)) return std::string(arg);
  std::string quoted = "\"";
  std::size_t backslashes = 0;
  for (char c : arg) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    if (c == '"') {
      // Each backslash before a quote doubles, and one more escapes it.
      quoted.append(2 * backslashes + 1, '\\');
    } else {
      quoted.append(backslashes, '\\');  // literal when no quote follows
    }
    backslashes = 0;
    quoted.push_back(c);
  }
  // Before the closing quote, backslashes double so that it stays one.
  quoted.append(2 * backslashes, '\\');
  quoted.push_back('"');
  return quoted;
}

absl::StatusOr<std::string> BuildCommandLine(
    absl::string_view argv0, const std::vector<std::string>& args) {
  absl::StatusOr<std::size_t> units = Utf16Length(argv0, "program");
  if (!units.ok()) return units.status();
  if (argv0.find('"') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "program: contains a double quote, which a Windows command line "
        "cannot pass in argv[0]");
  }
  std::string line;
  if (argv0.empty() || argv0.find_first_of(" \t") != absl::string_view::npos) {
    if (!argv0.empty() && argv0.back() == '\\') {
      return absl::InvalidArgumentError(
          "program: ends with a backslash and has a space or tab: in the "
          "quotes it needs, C runtimes differ on whether that backslash "
          "escapes the closing quote");
    }
    line = absl::StrCat("\"", argv0, "\"");
  } else {
    line = std::string(argv0);
  }
  std::size_t total = *units + (line.size() - argv0.size());
  // Numbered as in argv: args[0] is argument 1.
  for (std::size_t i = 0; i < args.size(); ++i) {
    units = Utf16Length(args[i], absl::StrCat("argument ", i + 1));
    if (!units.ok()) return units.status();
    const std::string quoted = QuoteArgument(args[i]);
    // Quoting adds ASCII only: one unit per added byte.
    total += 1 + *units + (quoted.size() - args[i].size());
    absl::StrAppend(&line, " ", quoted);
  }
  if (total >= kMaxCommandLineUnits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "command line: ", total, " UTF-16 units, Windows' limit is ",
        kMaxCommandLineUnits - 1, " (", kMaxCommandLineUnits,
        " with the terminating NUL)"));
  }
  return line;
}

std::vector<std::string> SplitCommandLine(absl::string_view line) {
  std::vector<std::string> argv(1);
  std::size_t i = SplitProgram(line, &argv[0]);
  while (i < line.size() && IsBlank(line[i])) ++i;
  // The other arguments. `quotes` is CommandLineToArgvW's count of the
  // current run of quotes, the opening one included (0: outside quotes,
  // 1: inside): three make one literal quote and leave the quoted part.
  while (i < line.size()) {
    std::string arg;
    int quotes = 0;
    std::size_t backslashes = 0;
    while (i < line.size() && !(IsBlank(line[i]) && quotes == 0)) {
      const char c = line[i++];
      if (c == '\\') {
        ++backslashes;
        continue;
      }
      if (c != '"') {
        arg.append(backslashes, '\\');
        backslashes = 0;
        arg.push_back(c);
        continue;
      }
      // A quote: after 2n backslashes, n of them and a quote mark;
      // after 2n+1, n of them and a literal quote.
      arg.append(backslashes / 2, '\\');
      if (backslashes % 2 == 0) {
        ++quotes;
      } else {
        arg.push_back('"');
      }
      backslashes = 0;
      while (i < line.size() && line[i] == '"') {
        ++i;
        if (++quotes == 3) {
          arg.push_back('"');
          quotes = 0;
        }
      }
      if (quotes == 2) quotes = 0;
    }
    arg.append(backslashes, '\\');
    argv.push_back(std::move(arg));
    while (i < line.size() && IsBlank(line[i])) ++i;
  }
  return argv;
}

}  // namespace procsandbox::windows_internal

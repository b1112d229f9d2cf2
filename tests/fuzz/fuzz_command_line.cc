// The Windows backend's text conversions (src/windows): UTF-8 that converts
// to UTF-16 converts back unchanged; an argv either comes back unchanged from
// the command line BuildCommandLine writes (read by CommandLineToArgvW's
// rules) or is refused for a reason it has; any line splits without a crash;
// an environment block is refused exactly for names equal ignoring case.
//
// Input: the program, then one argument per line; the last line is also
// split as a raw command line and used as an environment.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz_support.h"
#include "procsandbox/environment.h"
#include "windows/command_line.h"
#include "windows/environment_block.h"
#include "windows/utf16.h"

namespace {

namespace win = procsandbox::windows_internal;

bool IsUtf16Safe(absl::string_view text) {
  return win::Utf8ToWide(text, "x").ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  procsandbox::fuzz::Input in(data, size);
  std::vector<std::string> argv{in.Line()};
  while (!in.empty()) argv.push_back(in.Line());

  // UTF-8 that converts converts back unchanged.
  for (const std::string& arg : argv) {
    absl::StatusOr<std::wstring> wide = win::Utf8ToWide(arg, "x");
    if (wide.ok()) FUZZ_CHECK(win::WideToUtf8(*wide) == arg);
    absl::StatusOr<std::size_t> units = win::Utf16Length(arg, "x");
    FUZZ_CHECK(units.ok() == wide.ok());
    if (units.ok()) FUZZ_CHECK(*units == wide->size());
  }

  // The round trip, or a refusal with a reason.
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  absl::StatusOr<std::string> line = win::BuildCommandLine(argv[0], args);
  if (line.ok()) {
    FUZZ_CHECK(win::SplitCommandLine(*line) == argv);
  } else {
    const std::string& program = argv[0];
    bool reason = program.find('"') != std::string::npos ||
                  (!program.empty() && program.back() == '\\' &&
                   program.find_first_of(" \t") != std::string::npos) ||
                  line.status().message().find("Windows' limit") !=
                      absl::string_view::npos;
    for (const std::string& arg : argv) reason = reason || !IsUtf16Safe(arg);
    FUZZ_CHECK(reason);
  }

  // Any line splits into at least argv[0].
  FUZZ_CHECK(!win::SplitCommandLine(argv.back()).empty());

  // Names equal ignoring case, and only those, make the block fail.
  procsandbox::Environment env;
  bool valid = true;
  bool clash = false;
  for (std::size_t i = 0; i + 1 < argv.size(); i += 2) {
    env.Set(argv[i], argv[i + 1]).IgnoreError();  // bad names are skipped
  }
  for (const procsandbox::Environment::Entry& entry : env.entries()) {
    valid = valid && IsUtf16Safe(entry.name) && IsUtf16Safe(entry.value);
  }
  for (std::size_t i = 0; i < env.size(); ++i) {
    for (std::size_t j = i + 1; j < env.size(); ++j) {
      clash = clash || win::SameVariableName(env.entries()[i].name,
                                             env.entries()[j].name);
    }
  }
  absl::StatusOr<std::wstring> block = win::BuildEnvironmentBlock(env);
  FUZZ_CHECK(block.ok() == (valid && !clash));
  if (block.ok()) {
    FUZZ_CHECK(block->size() >= 2 && (*block)[block->size() - 1] == L'\0' &&
               (*block)[block->size() - 2] == L'\0');
  }
  return 0;
}

// Paths in a sandbox policy and request: the working-directory root
// (NormalizeRoot), a request's relative working_dir (CheckRelativePath),
// programs.allow entries (ValidateSandboxPolicy) and the program check
// (CheckProgram over a FakeProgramResolver). Input: root, relative path,
// allow entry, program, one per line.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "fuzz_support.h"
#include "procsandbox/sandbox.h"
#include "sandbox/program_policy.h"
#include "sandbox/workdir.h"

namespace {

using procsandbox::fuzz::Input;
namespace internal = procsandbox::sandbox_internal;

bool HasNul(absl::string_view s) { return s.find('\0') != s.npos; }

void CheckRoot(const std::string& root) {
  absl::StatusOr<std::string> normal = internal::NormalizeRoot(root);
  procsandbox::SandboxPolicy policy;
  policy.workdir.root = root;
  FUZZ_CHECK(root.empty() ||
             procsandbox::ValidateSandboxPolicy(policy).ok() == normal.ok());
  if (!normal.ok()) return;
  // Absolute, one slash between names, no "." or "..", no NUL: the
  // directory the text names and nothing else.
  FUZZ_CHECK(absl::StartsWith(*normal, "/"));
  FUZZ_CHECK(!HasNul(*normal));
  FUZZ_CHECK(*normal == "/" || !absl::EndsWith(*normal, "/"));
  FUZZ_CHECK(!absl::StrContains(*normal, "//"));
  for (absl::string_view part :
       absl::StrSplit(*normal, '/', absl::SkipEmpty())) {
    FUZZ_CHECK(part != "." && part != "..");
  }
  FUZZ_CHECK(internal::NormalizeRoot(*normal).value() == *normal);
}

void CheckRelative(const std::string& relative) {
  if (!internal::CheckRelativePath(relative).ok()) return;
  FUZZ_CHECK(!HasNul(relative));
  FUZZ_CHECK(!absl::StartsWith(relative, "/"));
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    FUZZ_CHECK(part != "..");
  }
}

void CheckProgram(const std::string& allow, const std::string& program,
                  bool use_allow) {
  auto resolver = std::make_shared<procsandbox::FakeProgramResolver>();
  resolver->AddProgram("/usr/bin/tool");
  resolver->AddProgram("/usr/bin/sudo", 04755);
  resolver->AddProgram("/bin/sh");
  resolver->AddProgram("/tmp/drop/tool");
  resolver->AddDirectory("/tmp", 0777);
  resolver->AddSymlink("/usr/local/bin/t", "/usr/bin/tool");
  if (absl::StartsWith(allow, "/")) resolver->AddProgram(allow);
  procsandbox::SandboxPolicy policy;
  if (use_allow) policy.programs.allow = {allow};
  policy.programs.resolver = resolver;
  const absl::Status valid = procsandbox::ValidateSandboxPolicy(policy);
  if (use_allow && valid.ok()) {
    FUZZ_CHECK(absl::StartsWith(allow, "/"));
    FUZZ_CHECK(!HasNul(allow));
  }
  if (!valid.ok()) return;
  absl::StatusOr<procsandbox::ProgramFile> file = internal::CheckProgram(
      policy.programs, program, {}, "/usr/local/bin:/usr/bin:/bin");
  if (!file.ok()) return;
  FUZZ_CHECK(absl::StartsWith(file->path, "/"));
  FUZZ_CHECK(file->regular_file && file->executable);
  FUZZ_CHECK(file->unsafe_location.empty());
  FUZZ_CHECK(internal::BaseName(file->path) != "sudo");
  if (use_allow) {
    absl::StatusOr<procsandbox::ProgramFile> allowed =
        resolver->Resolve(allow, "/usr/local/bin:/usr/bin:/bin");
    FUZZ_CHECK(file->path == allow ||
               (allowed.ok() && allowed->path == file->path));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::string root = in.Line();
  const std::string relative = in.Line();
  const std::string allow = in.Line();
  const std::string program = in.Line();
  const bool use_allow = in.Bool();
  CheckRoot(root);
  CheckRelative(relative);
  CheckProgram(allow, program, use_allow);
  const absl::string_view base = internal::BaseName(program);
  FUZZ_CHECK(!absl::StrContains(base, '/'));
  FUZZ_CHECK(absl::EndsWith(program, base));
  return 0;
}

#include "windows/spawn.h"

#include <windows.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/exec_errors.h"
#include "windows/command_line.h"
#include "windows/environment_block.h"
#include "windows/program_search.h"
#include "windows/utf16.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {
namespace {

// One CreateProcessW at a time in the host. Under Wine 8.0, concurrent
// calls lose children's standard handles: of 50 Runs started at once by 50
// threads, 11-28 children printed their line and exited 3 with nothing on
// their captured stdout (handles left inheritable throughout lost it just
// the same, so the inheritable window is not the cause). Serialised, 50 of
// 50 keep their output; the call is the spawn's cost either way.
ABSL_CONST_INIT absl::Mutex create_process_mu(absl::kConstInit);

absl::Status WorkingDirError(absl::string_view dir, DWORD err) {
  return absl::FailedPreconditionError(
      absl::StrCat("change to working directory \"", dir,
                   "\": ", WinErrorText(err), " (", WinErrorName(err), ")"));
}

// Makes the child's handles inheritable for the time of one CreateProcessW:
// a CreateProcess elsewhere in the host with bInheritHandles and no handle
// list could take them only in that window.
class InheritableForSpawn {
 public:
  explicit InheritableForSpawn(const std::vector<HANDLE>& handles)
      : handles_(handles) {
    for (HANDLE h : handles_) {
      SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    }
  }
  ~InheritableForSpawn() {
    for (HANDLE h : handles_) SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
  }
  InheritableForSpawn(const InheritableForSpawn&) = delete;
  InheritableForSpawn& operator=(const InheritableForSpawn&) = delete;

 private:
  const std::vector<HANDLE>& handles_;
};

struct AttributeListDeleter {
  void operator()(LPPROC_THREAD_ATTRIBUTE_LIST list) const {
    DeleteProcThreadAttributeList(list);
    HeapFree(GetProcessHeap(), 0, list);
  }
};
using AttributeList =
    std::unique_ptr<_PROC_THREAD_ATTRIBUTE_LIST, AttributeListDeleter>;

absl::StatusOr<AttributeList> HandleList(std::vector<HANDLE>& handles) {
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  auto* raw = static_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(
      HeapAlloc(GetProcessHeap(), 0, size));
  if (raw == nullptr) {
    return absl::ResourceExhaustedError("spawn: allocate an attribute list");
  }
  if (!InitializeProcThreadAttributeList(raw, 1, 0, &size)) {
    HeapFree(GetProcessHeap(), 0, raw);
    return LastErrorStatus("spawn: initialize an attribute list");
  }
  AttributeList list(raw);
  if (!UpdateProcThreadAttribute(
          list.get(), 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles.data(),
          handles.size() * sizeof(HANDLE), nullptr, nullptr)) {
    return LastErrorStatus("spawn: set the inherited handle list");
  }
  return list;
}

}  // namespace

absl::StatusOr<SpawnPlan> PlanSpawn(const Command& command) {
  if (command.isolation.uid || command.isolation.gid) {
    // Running as another account needs its token (a logon): asked for and
    // silently not done would run the program with the host's rights.
    return absl::FailedPreconditionError(
        absl::StrCat("start \"", command.label(),
                     "\": Isolation::uid and gid are POSIX ids; the Windows "
                     "backend cannot switch the account"));
  }
  SpawnPlan plan;
  if (!command.working_dir.empty()) {
    absl::StatusOr<std::wstring> dir =
        Utf8ToWide(command.working_dir, "working directory");
    if (!dir.ok()) return dir.status();
    const DWORD attrs = GetFileAttributesW(dir->c_str());
    if (attrs == INVALID_FILE_ATTRIBUTES) {
      return WorkingDirError(command.working_dir, GetLastError());
    }
    if ((attrs & FILE_ATTRIBUTE_DIRECTORY) == 0) {
      return WorkingDirError(command.working_dir, ERROR_DIRECTORY);
    }
    plan.working_directory = *std::move(dir);
  }
  absl::StatusOr<std::string> found = FindProgram(
      command.program, command.env, command.working_dir,
      [](const std::string& path) {
        absl::StatusOr<std::wstring> wide = Utf8ToWide(path, "program");
        if (!wide.ok()) return false;
        const DWORD attrs = GetFileAttributesW(wide->c_str());
        return attrs != INVALID_FILE_ATTRIBUTES &&
               (attrs & FILE_ATTRIBUTE_DIRECTORY) == 0;
      });
  if (!found.ok()) return found.status();
  if (absl::Status s = CheckNotBatchFile(command.program, *found); !s.ok()) {
    return s;
  }
  plan.found = *std::move(found);
  absl::StatusOr<std::wstring> application = Utf8ToWide(plan.found, "program");
  if (!application.ok()) return application.status();
  plan.application = *std::move(application);
  absl::StatusOr<std::string> line =
      BuildCommandLine(command.program, command.args);
  if (!line.ok()) return line.status();
  absl::StatusOr<std::wstring> wide_line = Utf8ToWide(*line, "command line");
  if (!wide_line.ok()) return wide_line.status();
  plan.command_line = *std::move(wide_line);
  absl::StatusOr<std::wstring> block = BuildEnvironmentBlock(command.env);
  if (!block.ok()) return block.status();
  plan.environment = *std::move(block);
  // CreateProcessW reads up to two NULs: an empty block is "\0\0".
  while (plan.environment.size() < 2 || plan.environment.back() != L'\0' ||
         plan.environment[plan.environment.size() - 2] != L'\0') {
    plan.environment.push_back(L'\0');
  }
  return plan;
}

absl::StatusOr<Spawned> SpawnInJob(const Command& command,
                                   const SpawnPlan& plan,
                                   const std::array<HANDLE, 3>& stdio,
                                   HANDLE job) {
  std::vector<HANDLE> handles(stdio.begin(), stdio.end());
  absl::StatusOr<AttributeList> attributes = HandleList(handles);
  if (!attributes.ok()) return attributes.status();

  STARTUPINFOEXW info = {};
  info.StartupInfo.cb = sizeof(info);
  info.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  info.StartupInfo.hStdInput = stdio[0];
  info.StartupInfo.hStdOutput = stdio[1];
  info.StartupInfo.hStdError = stdio[2];
  info.lpAttributeList = attributes->get();
  // Its own process group: CTRL_BREAK_EVENT reaches the tree and not the
  // host. A host without a console gives the child a hidden one.
  DWORD flags = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT |
                CREATE_NEW_PROCESS_GROUP | EXTENDED_STARTUPINFO_PRESENT |
                CREATE_DEFAULT_ERROR_MODE;
  if (GetConsoleCP() == 0) flags |= CREATE_NO_WINDOW;
  std::wstring line = plan.command_line;  // CreateProcessW may write to it
  PROCESS_INFORMATION pi = {};
  BOOL created = FALSE;
  DWORD err = 0;
  {
    absl::MutexLock lock(&create_process_mu);
    InheritableForSpawn inheritable(handles);
    created = CreateProcessW(
        plan.application.c_str(), line.data(), nullptr, nullptr,
        /*bInheritHandles=*/TRUE, flags,
        const_cast<wchar_t*>(plan.environment.c_str()),
        plan.working_directory.empty() ? nullptr
                                       : plan.working_directory.c_str(),
        &info.StartupInfo, &pi);
    if (!created) err = GetLastError();
  }
  if (!created) {
    // Windows' own rules: a '\\' or a drive makes a path, "Path" in any
    // case is the PATH.
    const internal::ProgramSearch search =
        SearchOf(command.program, command.env);
    const std::string shown =
        internal::ShownProgram(command.program, plan.found, search);
    switch (err) {
      case ERROR_FILE_NOT_FOUND:
      case ERROR_PATH_NOT_FOUND:
        return internal::ProgramNotFoundError(command.program, search);
      case ERROR_ACCESS_DENIED:
        return internal::ProgramNotExecutableError(command.program, plan.found,
                                                   search);
      case ERROR_DIRECTORY:
        return WorkingDirError(command.working_dir, err);
      case ERROR_BAD_EXE_FORMAT:
      case ERROR_EXE_MACHINE_TYPE_MISMATCH:
        return absl::InvalidArgumentError(absl::StrCat("exec ", shown, ": ",
                                                       WinErrorText(err), " (",
                                                       WinErrorName(err), ")"));
      default:
        return WinErrorStatus(err, absl::StrCat("exec ", shown));
    }
  }
  Spawned spawned;
  spawned.process.reset(pi.hProcess);
  spawned.pid = pi.dwProcessId;
  UniqueHandle thread(pi.hThread);
  // In its job before its first instruction: nothing of the tree runs
  // outside it.
  if (!AssignProcessToJobObject(job, pi.hProcess)) {
    absl::Status s = LastErrorStatus("spawn: assign the child to its job");
    TerminateProcess(pi.hProcess, 1);
    WaitForSingleObject(pi.hProcess, INFINITE);
    return s;
  }
  if (ResumeThread(thread.get()) == static_cast<DWORD>(-1)) {
    absl::Status s = LastErrorStatus("spawn: resume the child");
    TerminateJobObject(job, 1);
    WaitForSingleObject(pi.hProcess, INFINITE);
    return s;
  }
  return spawned;
}

}  // namespace procsandbox::windows_internal

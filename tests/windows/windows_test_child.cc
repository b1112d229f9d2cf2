// windows_test_child: the small Win32 program windows_platform_test runs
// (no cmd.exe, no C runtime stdio). Its arguments are steps, run in order:
//
//   windows_test_child print hello exit 3
//
//   print TEXT     TEXT and a newline to stdout
//   flood N        N bytes to stdout and N to stderr, 64 KiB at a time,
//                  alternating ('o' and 'e')
//   cat            copies stdin to stdout until its end
//   spawn STEPS..  starts this program with the remaining steps as a
//                  grandchild (it inherits the standard handles), prints
//                  "pid <its pid>" and exits 0
//   spawn-sleep STEPS..  the same, then waits until it is killed
//   give-stdout PID  a copy of its stdout to process PID, then prints
//                  "handle <its value there>"
//   sleep-forever  waits until it is killed
//   spin           burns CPU until it is killed
//   allocate MIB   commits and touches MIB mebibytes (exit 12 when refused)
//   exit N         exits with N (0 after the last step)
#include <windows.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

void WriteAll(HANDLE h, const char* data, DWORD size) {
  while (size > 0) {
    DWORD n = 0;
    if (!WriteFile(h, data, size, &n, nullptr)) ExitProcess(120);
    data += n;
    size -= n;
  }
}

void Print(const std::string& text) {
  const std::string line = text + "\n";
  WriteAll(GetStdHandle(STD_OUTPUT_HANDLE), line.data(),
           static_cast<DWORD>(line.size()));
}

// The command line's text after the first `skip` arguments, as given.
std::wstring TailOfCommandLine(int skip) {
  int argc = 0;
  wchar_t** argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  std::wstring tail;
  for (int i = skip; i < argc; ++i) {
    tail += L" \"";
    tail += argv[i];
    tail += L"\"";
  }
  LocalFree(argv);
  return tail;
}

DWORD Spawn(int skip) {
  wchar_t self[MAX_PATH];
  GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring line =
      std::wstring(L"\"") + self + L"\"" + TailOfCommandLine(skip);
  STARTUPINFOW si = {};
  si.cb = sizeof(si);
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION pi = {};
  if (!CreateProcessW(self, line.data(), nullptr, nullptr, TRUE, 0, nullptr,
                      nullptr, &si, &pi)) {
    ExitProcess(121);
  }
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return pi.dwProcessId;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& step = args[i];
    auto operand = [&]() -> std::string {
      if (i + 1 >= args.size()) ExitProcess(125);
      return args[++i];
    };
    if (step == "print") {
      Print(operand());
    } else if (step == "flood") {
      const long long total = std::atoll(operand().c_str());
      const std::string out(64 * 1024, 'o'), err(64 * 1024, 'e');
      for (long long done = 0; done < total;) {
        const DWORD n =
            static_cast<DWORD>(total - done < 65536 ? total - done : 65536);
        WriteAll(GetStdHandle(STD_OUTPUT_HANDLE), out.data(), n);
        WriteAll(GetStdHandle(STD_ERROR_HANDLE), err.data(), n);
        done += n;
      }
    } else if (step == "cat") {
      char buffer[4096];
      DWORD n = 0;
      while (ReadFile(GetStdHandle(STD_INPUT_HANDLE), buffer, sizeof(buffer),
                      &n, nullptr) &&
             n > 0) {
        WriteAll(GetStdHandle(STD_OUTPUT_HANDLE), buffer, n);
      }
    } else if (step == "spawn" || step == "spawn-sleep") {
      // argv[0] and the steps up to this one are not the grandchild's.
      Print("pid " + std::to_string(Spawn(static_cast<int>(i) + 2)));
      if (step == "spawn-sleep") Sleep(INFINITE);
      return 0;
    } else if (step == "give-stdout") {
      // A copy of stdout in process PID, which keeps the pipe open.
      HANDLE target =
          OpenProcess(PROCESS_DUP_HANDLE, FALSE,
                      static_cast<DWORD>(std::atoll(operand().c_str())));
      HANDLE copy = nullptr;
      if (target == nullptr ||
          !DuplicateHandle(GetCurrentProcess(), GetStdHandle(STD_OUTPUT_HANDLE),
                           target, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
        ExitProcess(122);
      }
      Print("handle " + std::to_string(reinterpret_cast<uintptr_t>(copy)));
    } else if (step == "sleep-forever") {
      Sleep(INFINITE);
    } else if (step == "spin") {
      for (volatile unsigned long long n = 0;; n = n + 1) {
      }
    } else if (step == "allocate") {
      const SIZE_T bytes = static_cast<SIZE_T>(std::atoll(operand().c_str()))
                           << 20;
      char* p = static_cast<char*>(VirtualAlloc(
          nullptr, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
      if (p == nullptr) ExitProcess(12);
      for (SIZE_T at = 0; at < bytes; at += 4096) p[at] = 1;
    } else if (step == "exit") {
      ExitProcess(static_cast<UINT>(std::atoi(operand().c_str())));
    } else {
      ExitProcess(125);
    }
  }
  return 0;
}

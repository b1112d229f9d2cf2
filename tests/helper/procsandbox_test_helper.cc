// procsandbox_test_helper: the program the conformance and Linux suites run.
// Its arguments are steps (README.md), each a word and its operands, run in
// order once the whole command line has been checked:
//
//   procsandbox_test_helper write-stdout 10 sleep-ms 50 exit 3
//
// Exit codes: the one asked for; 0 after the last step; 125 for a bad command
// line (and for a step this platform does not have); 12 when memory runs out;
// 27 on EFBIG; 1 on other failures (stderr says which). Linked statically
// against libc and libstdc++ alone, so it starts fast. Output goes through
// write(2), never stdio: nothing sits in a buffer across fork() or is lost
// when a signal ends the process.
//
// On Windows (mingw-w64) the same file builds with the Win32 API: the
// arguments are read as UTF-16 and handed to the steps in UTF-8, stdio is in
// binary mode, children are the helper itself started again (CreateProcessW)
// and "TERM" is a console control event (CTRL_BREAK or CTRL_C). The steps
// without a Windows meaning exit 125 naming the step and "not on Windows".

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <windows.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#if !defined(_WIN32)
extern char** environ;
#endif

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitNoMemory = 12;
constexpr int kExitFileTooBig = 27;
constexpr int kExitUsage = 125;
constexpr size_t kBlock = 64 * 1024;
// Bound of counts (ms * 1e6 and MiB << 20 cannot overflow): 1 TiB, 35 years.
constexpr long long kMaxCount = 1LL << 40;
// fork-bomb stops here: a test without a pids limit fails, the machine lives.
constexpr int kForkBombCap = 4096;
constexpr int kStdinFd = 0;
constexpr int kStdoutFd = 1;
constexpr int kStderrFd = 2;

// --- Output and input --------------------------------------------------------

// Writes all of data[0, size) to fd, restarting on EINTR and short writes.
// Returns 0 or the errno.
int WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
#if defined(_WIN32)  // The C runtime's write, in binary mode (main()).
    const int n =
        _write(fd, data, static_cast<unsigned>(std::min(size, kBlock)));
#else
    const ssize_t n = write(fd, data, size);
#endif
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// Reports "procsandbox_test_helper: <what>[: <strerror(err)>]" on stderr and
// exits with code.
[[noreturn]] void Fail(const std::string& what, int err,
                       int code = kExitFailure) {
  std::string message = "procsandbox_test_helper: " + what;
  if (err != 0) message += std::string(": ") + std::strerror(err);
  message += '\n';
  WriteAll(kStderrFd, message.data(), message.size());
  std::exit(code);
}

void Write(int fd, const char* data, size_t size) {
  const int err = WriteAll(fd, data, size);
  if (err != 0) {
    Fail("write to fd " + std::to_string(fd), err,
         err == EFBIG ? kExitFileTooBig : kExitFailure);
  }
}

void PrintLine(std::string line, int fd = kStdoutFd) {
  line += '\n';
  Write(fd, line.data(), line.size());
}

// Reads up to size bytes from fd; 0 at end of file. Restarts on EINTR.
size_t Read(int fd, char* buffer, size_t size) {
  for (;;) {
#if defined(_WIN32)
    const int n =
        _read(fd, buffer, static_cast<unsigned>(std::min(size, kBlock)));
#else
    const ssize_t n = read(fd, buffer, size);
#endif
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) Fail("read fd " + std::to_string(fd), errno);
  }
}

// Calls on_line with each line of stdin, '\n' included (the last line may
// lack it), as soon as the line is complete. The steps that use it read to
// end of file, so no other step misses what it read ahead.
template <typename OnLine>
void ForEachLine(OnLine on_line) {
  std::string pending;
  char block[kBlock];
  while (const size_t n = Read(kStdinFd, block, sizeof(block))) {
    pending.append(block, n);
    size_t start = 0;
    for (size_t end; (end = pending.find('\n', start)) != std::string::npos;
         start = end + 1) {
      on_line(pending.substr(start, end + 1 - start));
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) on_line(pending);
}

// Byte i of each write-* stream is 'a' + i % 26, across blocks. Returns the
// kBlock bytes that follow stream position `position`.
const char* PatternAt(unsigned long long position) {
  static const std::string pattern = [] {
    std::string s(kBlock + 26, '\0');
    for (size_t i = 0; i < s.size(); ++i)
      s[i] = static_cast<char>('a' + i % 26);
    return s;
  }();
  return pattern.data() + position % 26;
}

// --- Operands ----------------------------------------------------------------

struct Args {
  long long number[2] = {0, 0};
  int id = 0;  // A signal or an RLIMIT_* resource.
  const char* text = "";
};

struct Named {
  const char* name;
  int value;
};

#if defined(_WIN32)
// The signals `ignore` takes on Windows: each is the console control events.
constexpr Named kSignals[] = {
    {"INT", SIGINT},
    {"TERM", SIGTERM},
    {"BREAK", SIGBREAK},
};
#else
constexpr Named kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},
    {"ILL", SIGILL},       {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
    {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"SYS", SIGSYS},
};

constexpr Named kRlimits[] = {
    {"cpu", RLIMIT_CPU},       {"as", RLIMIT_AS},       {"fsize", RLIMIT_FSIZE},
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},
};
#endif

bool ParseNumber(const char* s, long long low, long long high, long long* out) {
  if (*s < '0' || *s > '9') return false;  // No sign, space or empty string.
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || value < low || value > high) return false;
  *out = value;
  return true;
}

template <size_t N>
bool ParseName(const char* s, const Named (&names)[N], int* out) {
  const Named* named = std::find_if(names, names + N, [s](const Named& n) {
    return std::strcmp(n.name, s) == 0;
  });
  if (named != names + N) *out = named->value;
  return named != names + N;
}

// Parses operand `s` of kind `kind` (a letter of Step::operands) into args.
bool ParseOperand(char kind, const char* s, int* number_index, Args* args) {
  switch (kind) {
    case 'N':
    case 'E':
      return ParseNumber(s, 0, kind == 'E' ? 255 : kMaxCount,
                         &args->number[(*number_index)++]);
    case 'S': {  // TERM, SIGTERM or 15.
      long long number = 0;
      if (!ParseNumber(s, 1, NSIG - 1, &number)) {
        return ParseName(std::strncmp(s, "SIG", 3) == 0 ? s + 3 : s, kSignals,
                         &args->id);
      }
      args->id = static_cast<int>(number);
      return true;
    }
    case 'H': {  // A 32-bit exit code: 0xC0000005 or 3221225477.
      if (std::strncmp(s, "0x", 2) != 0) {
        return ParseNumber(s, 0, 0xFFFFFFFF, &args->number[(*number_index)++]);
      }
      if (std::strlen(s) < 3 || std::strlen(s) > 10 ||
          std::strspn(s + 2, "0123456789abcdefABCDEF") != std::strlen(s + 2)) {
        return false;
      }
      args->number[(*number_index)++] = std::strtoll(s + 2, nullptr, 16);
      return true;
    }
#if !defined(_WIN32)
    case 'R':
      return ParseName(s, kRlimits, &args->id);
#endif
    default:  // 'T'
      args->text = s;
      return true;
  }
}

// --- Steps -------------------------------------------------------------------

// What each platform provides (below).
void SleepMs(long long ms);
[[noreturn]] void PauseForever();
size_t PageSize();
long long CpuNanos();  // The CPU time this process used.

void Exit(const Args& a) { std::exit(static_cast<int>(a.number[0])); }

void Sleep(const Args& a) { SleepMs(a.number[0]); }
void SleepForever(const Args&) { PauseForever(); }

void EchoStdin(const Args&) {
  char block[kBlock];
  while (const size_t n = Read(kStdinFd, block, sizeof(block))) {
    Write(kStdoutFd, block, n);
  }
}

void EchoLines(const Args&) {
  ForEachLine([](const std::string& line) {
    Write(kStdoutFd, line.data(), line.size());
  });
}

void CountStdin(const Args&) {
  char block[kBlock];
  unsigned long long total = 0;
  while (const size_t n = Read(kStdinFd, block, sizeof(block))) total += n;
  PrintLine(std::to_string(total));
}

// Writes total bytes of the pattern to fd, in 64 KiB blocks; with `also`,
// the same to that descriptor, alternating blocks (write-both: blocks unless
// the reader drains both pipes at once).
void WritePattern(long long total, int fd, int also = -1) {
  const auto end = static_cast<unsigned long long>(total);
  for (unsigned long long at = 0; at < end; at += kBlock) {
    const size_t size =
        static_cast<size_t>(std::min<unsigned long long>(kBlock, end - at));
    Write(fd, PatternAt(at), size);
    if (also >= 0) Write(also, PatternAt(at), size);
  }
}

void WriteStdout(const Args& a) { WritePattern(a.number[0], kStdoutFd); }
void WriteStderr(const Args& a) { WritePattern(a.number[0], kStderrFd); }
void WriteBoth(const Args& a) {
  WritePattern(a.number[0], kStdoutFd, kStderrFd);
}

void Print(const Args& a) { PrintLine(a.text); }
void PrintStderr(const Args& a) { PrintLine(a.text, kStderrFd); }

// Allocates mib MiB and writes a byte to every page so that it is resident.
void AllocateAndTouch(long long mib) {
  const size_t size = static_cast<size_t>(mib) << 20;
  if (size == 0) return;
  // Volatile stores: the allocation is never read, and must not be elided.
  volatile char* memory = static_cast<char*>(std::malloc(size));
  if (memory == nullptr || (size >> 20) != static_cast<size_t>(mib)) {
    Fail("alloc " + std::to_string(mib) + " MiB", ENOMEM, kExitNoMemory);
  }
  const size_t page = PageSize();
  for (size_t i = 0; i < size; i += page) memory[i] = 1;
}

void AllocMb(const Args& a) { AllocateAndTouch(a.number[0]); }

void AllocForever(const Args&) {
  for (;;) AllocateAndTouch(16);
}

void BurnMs(const Args& a) {
  const long long end = CpuNanos() + a.number[0] * 1000000;
  while (CpuNanos() < end) {
  }
}

// Spins for MS ms of wall time (however much CPU that gets).
void BurnWallMs(const Args& a) {
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(a.number[0]);
  while (std::chrono::steady_clock::now() < end) {
  }
}

void BurnForever(const Args&) {
  for (volatile unsigned long spins = 0;; spins = spins + 1) {
  }
}

// The integer after "id": in line, if any (no JSON parser: tests send
// one request per line).
bool FindId(const std::string& line, long long* id) {
  const size_t at = line.find("\"id\":");
  if (at == std::string::npos) return false;
  const char* start = line.c_str() + at + 5;
  char* end = nullptr;
  *id = std::strtoll(start, &end, 10);  // Skips white space.
  return end != start;
}

void JsonRpc(const Args&) {
  ForEachLine([](std::string line) {
    line.erase(line.find_last_not_of("\r\n") + 1);  // All of it if blank.
    long long id = 0;
    if (!FindId(line, &id)) return;  // A notification: no reply.
    PrintLine("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) +
              ",\"result\":" + line + "}");
  });
}

// An access violation: SIGSEGV on POSIX, 0xC0000005 on Windows. The address
// comes through a volatile, so the compiler cannot prove it null and emit a
// trap instruction (SIGILL) instead of the store.
void Crash(const Args&) {
  volatile std::uintptr_t address = 0;
  *reinterpret_cast<volatile int*>(address) = 1;
}

#if defined(_WIN32)
// --- Windows -----------------------------------------------------------------

[[noreturn]] void FailWin32(const std::string& what) {
  Fail(what + ": Windows error " + std::to_string(GetLastError()), 0);
}

std::string ToUtf8(const wchar_t* wide, size_t size) {
  const int length = static_cast<int>(size);
  std::string utf8(static_cast<size_t>(WideCharToMultiByte(
                       CP_UTF8, 0, wide, length, nullptr, 0, nullptr, nullptr)),
                   '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide, length, utf8.data(),
                      static_cast<int>(utf8.size()), nullptr, nullptr);
  return utf8;
}

std::wstring ToWide(const std::string& utf8) {
  const int length = static_cast<int>(utf8.size());
  std::wstring wide(static_cast<size_t>(MultiByteToWideChar(
                        CP_UTF8, 0, utf8.data(), length, nullptr, 0)),
                    L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), length, wide.data(),
                      static_cast<int>(wide.size()));
  return wide;
}

void SleepMs(long long ms) {
  for (; ms > 0; ms -= 0x7FFFFFFF) {
    ::Sleep(static_cast<DWORD>(std::min(ms, 0x7FFFFFFFLL)));
  }
}

[[noreturn]] void PauseForever() {
  for (;;) ::Sleep(INFINITE);
}

// What the Universal CRT's abort() does: a fail-fast, exit status
// 0xC0000409. (The msvcrt mingw links exits 3, like any exit code.)
void Abort(const Args&) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("int $0x29" : : "c"(7));  // __fastfail(FAST_FAIL_FATAL_APP_EXIT)
#endif
  std::abort();
}

// Windows only: ExitProcess with a 32-bit code (an NTSTATUS, or -1).
void ExitCodeHex(const Args& a) { ExitProcess(static_cast<UINT>(a.number[0])); }

void PrintEnv(const Args&) {
  wchar_t* block = GetEnvironmentStringsW();
  if (block == nullptr) FailWin32("GetEnvironmentStringsW");
  std::vector<std::string> lines;
  for (const wchar_t* entry = block; *entry != L'\0';
       entry += wcslen(entry) + 1) {
    lines.push_back(ToUtf8(entry, wcslen(entry)));
  }
  FreeEnvironmentStringsW(block);
  std::sort(lines.begin(), lines.end());
  for (const std::string& line : lines) PrintLine(line);
}

void PrintCwd(const Args&) {
  std::wstring cwd(GetCurrentDirectoryW(0, nullptr), L'\0');
  const DWORD size =
      GetCurrentDirectoryW(static_cast<DWORD>(cwd.size()), cwd.data());
  if (size == 0 || size >= cwd.size()) FailWin32("GetCurrentDirectoryW");
  PrintLine(ToUtf8(cwd.data(), size));
}

void PrintPid(const Args&) { PrintLine(std::to_string(GetCurrentProcessId())); }

size_t PageSize() {
  SYSTEM_INFO info = {};
  GetSystemInfo(&info);
  return info.dwPageSize;
}

long long CpuNanos() {
  FILETIME created, exited, kernel, user;
  GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user);
  auto hundred_ns = [](const FILETIME& t) {
    return static_cast<long long>(t.dwHighDateTime) << 32 | t.dwLowDateTime;
  };
  return (hundred_ns(kernel) + hundred_ns(user)) * 100;
}

// The children of fork, burn-children and grandchild-holds-pipe: wait-children
// waits for them.
std::vector<HANDLE> children;

// Starts this program again running `step`. With hold_stdio the child
// inherits our stdin, stdout and stderr (and so keeps our pipes open);
// without, its stdio is NUL and it inherits none of ours. One thread: the
// inheritance flags set here cannot leak into another thread's spawn.
void SpawnSelf(const wchar_t* step, bool hold_stdio) {
  wchar_t self[MAX_PATH * 4];
  const DWORD length = GetModuleFileNameW(nullptr, self, std::size(self));
  if (length == 0 || length >= std::size(self)) {
    FailWin32("GetModuleFileNameW");
  }
  std::wstring line = L"\"" + std::wstring(self, length) + L"\" " + step;
  HANDLE stdio[3] = {GetStdHandle(STD_INPUT_HANDLE),
                     GetStdHandle(STD_OUTPUT_HANDLE),
                     GetStdHandle(STD_ERROR_HANDLE)};
  for (HANDLE handle : stdio) {  // Fails on NULL or a console: both fine.
    SetHandleInformation(handle, HANDLE_FLAG_INHERIT,
                         hold_stdio ? HANDLE_FLAG_INHERIT : 0);
  }
  HANDLE null = INVALID_HANDLE_VALUE;
  if (!hold_stdio) {
    SECURITY_ATTRIBUTES inherit = {sizeof(inherit), nullptr, TRUE};
    null = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
                       FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                       OPEN_EXISTING, 0, nullptr);
    if (null == INVALID_HANDLE_VALUE) FailWin32("open NUL");
    std::fill(std::begin(stdio), std::end(stdio), null);
  }
  STARTUPINFOW startup = {};
  startup.cb = sizeof(startup);
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = stdio[0];
  startup.hStdOutput = stdio[1];
  startup.hStdError = stdio[2];
  PROCESS_INFORMATION process = {};
  const BOOL created = CreateProcessW(self, line.data(), nullptr, nullptr, TRUE,
                                      0, nullptr, nullptr, &startup, &process);
  if (null != INVALID_HANDLE_VALUE) CloseHandle(null);
  if (!created) FailWin32("CreateProcessW");
  CloseHandle(process.hThread);
  children.push_back(process.hProcess);
}

void Fork(const Args& a) {
  for (long long i = 0; i < a.number[0]; ++i) {
    SpawnSelf(L"sleep-forever", /*hold_stdio=*/false);
  }
}

void BurnChildren(const Args& a) {
  for (long long i = 0; i < a.number[0]; ++i) {
    SpawnSelf(L"burn-forever", /*hold_stdio=*/false);
  }
}

void GrandchildHoldsPipe(const Args&) {
  SpawnSelf(L"sleep-forever", /*hold_stdio=*/true);
}

void WaitChildren(const Args&) {
  for (HANDLE child : children) {
    WaitForSingleObject(child, INFINITE);
    CloseHandle(child);
  }
  children.clear();
}

// TERM on Windows: CTRL_BREAK_EVENT (what the library sends) or CTRL_C_EVENT.
// Nothing installed: Windows ends the process (STATUS_CONTROL_C_EXIT).
enum class OnControl { kDefault, kIgnore, kExit };
std::atomic<OnControl> on_control{OnControl::kDefault};
int term_exit_code = 0;
long long term_delay_ms = 0;

// Runs on a thread Windows starts for the event.
BOOL WINAPI OnControlEvent(DWORD event) {
  if (event != CTRL_C_EVENT && event != CTRL_BREAK_EVENT) return FALSE;
  if (on_control == OnControl::kIgnore) return TRUE;
  SleepMs(term_delay_ms);
  ExitProcess(static_cast<UINT>(term_exit_code));
}

void HandleControlEvents(OnControl what) {
  on_control = what;
  // A child of CREATE_NEW_PROCESS_GROUP starts with CTRL_C ignored.
  SetConsoleCtrlHandler(nullptr, FALSE);
  static const bool installed = SetConsoleCtrlHandler(OnControlEvent, TRUE);
  if (!installed) FailWin32("SetConsoleCtrlHandler");
}

// INT, TERM and BREAK are the same thing here: the console control events.
void Ignore(const Args& a) {
  if (a.id != SIGINT && a.id != SIGTERM && a.id != SIGBREAK) {
    Fail("ignore " + std::to_string(a.id) +
             ": only INT, TERM and BREAK (console control events) on Windows",
         0);
  }
  HandleControlEvents(OnControl::kIgnore);
}

void CatchTermExit(const Args& a) {
  term_exit_code = static_cast<int>(a.number[0]);
  term_delay_ms = a.number[1];
  HandleControlEvents(OnControl::kExit);
}

void WriteFile(const Args& a) {
  const int fd =
      _wopen(ToWide(a.text).c_str(),
             _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY | _O_NOINHERIT,
             _S_IREAD | _S_IWRITE);
  if (fd < 0) Fail(std::string("open ") + a.text, errno);
  WritePattern(a.number[0], fd);
  _close(fd);
}

// Handles, not C runtime descriptors (the runtime stops at 2048): Windows has
// no per-process limit to find, so this stops at COUNT.
void OpenFiles(const Args& a) {
  long long opened = 0;
  while (opened < a.number[0] &&
         CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     nullptr, OPEN_EXISTING, 0,
                     nullptr) != INVALID_HANDLE_VALUE) {
    ++opened;
  }
  PrintLine(std::to_string(opened));
}
#endif  // defined(_WIN32)

#if !defined(_WIN32)
// --- POSIX -------------------------------------------------------------------

void SleepMs(long long ms) {
  timespec left{static_cast<time_t>(ms / 1000),
                static_cast<long>(ms % 1000 * 1000000)};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

[[noreturn]] void PauseForever() {
  for (;;) pause();
}

void SetDisposition(int signo, void (*handler)(int)) {
  struct sigaction action = {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  if (sigaction(signo, &action, nullptr) != 0) {
    Fail("sigaction " + std::to_string(signo), errno);
  }
}

void RaiseSignal(const Args& a) {
  if (a.id != SIGKILL && a.id != SIGSTOP) SetDisposition(a.id, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, a.id);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(a.id);
}

void Abort(const Args&) { std::abort(); }
// Lines of LEN bytes (LEN-1 pattern letters and '\n') to stdout, and from a
// forked child the same to stderr, in blocks of whole lines (one line per
// block when LEN is above 64 KiB), until something stops them: two writers
// that keep both pipes full, as fast as write(2) goes.
void FloodLines(const Args& a) {
  const auto len = static_cast<size_t>(
      std::min<long long>(std::max(1LL, a.number[0]), 1LL << 30));
  std::string block;
  for (size_t i = 0; i < std::max(len, kBlock - kBlock % len); ++i) {
    block.push_back(i % len == len - 1 ? '\n'
                                       : static_cast<char>('a' + i % 26));
  }
  const pid_t child = fork();
  if (child < 0) Fail("fork", errno);
  const int fd = child == 0 ? kStderrFd : kStdoutFd;
  for (;;) Write(fd, block.data(), block.size());
}

void PrintEnv(const Args&) {
  std::vector<std::string> lines;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    lines.emplace_back(*entry);
  }
  std::sort(lines.begin(), lines.end());
  for (const std::string& line : lines) PrintLine(line);
}

void PrintCwd(const Args&) {
  char cwd[4096];  // PATH_MAX on Linux.
  if (getcwd(cwd, sizeof(cwd)) == nullptr) Fail("getcwd", errno);
  PrintLine(cwd);
}

void PrintFds(const Args&) {
#if defined(__linux__)
  const char* const kFdDir = "/proc/self/fd";
#else
  const char* const kFdDir = "/dev/fd";
#endif
  DIR* dir = opendir(kFdDir);
  if (dir == nullptr) Fail(std::string("opendir ") + kFdDir, errno);
  std::vector<long long> fds;
  long long fd = 0;
  while (const dirent* entry = readdir(dir)) {
    if (ParseNumber(entry->d_name, 0, kMaxCount, &fd) && fd != dirfd(dir)) {
      fds.push_back(fd);
    }
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  for (long long open_fd : fds) PrintLine(std::to_string(open_fd));
}

void PrintPid(const Args&) { PrintLine(std::to_string(getpid())); }
void PrintPpid(const Args&) { PrintLine(std::to_string(getppid())); }
void PrintPgid(const Args&) { PrintLine(std::to_string(getpgrp())); }
void PrintSid(const Args&) { PrintLine(std::to_string(getsid(0))); }

// "uid=1000 gid=1000 euid=1000 egid=1000 groups=24,27" (groups sorted).
void PrintIds(const Args&) {
  // getgroups(0, ...) returns the count and cannot fail.
  std::vector<gid_t> groups(static_cast<size_t>(getgroups(0, nullptr)));
  getgroups(static_cast<int>(groups.size()), groups.data());
  std::sort(groups.begin(), groups.end());
  std::string line = "uid=" + std::to_string(getuid()) +
                     " gid=" + std::to_string(getgid()) +
                     " euid=" + std::to_string(geteuid()) +
                     " egid=" + std::to_string(getegid()) + " groups=";
  for (size_t i = 0; i < groups.size(); ++i) {
    line += (i == 0 ? "" : ",") + std::to_string(groups[i]);
  }
  PrintLine(line);
}

void PrintRlimit(const Args& a) {
  rlimit limit = {};
  if (getrlimit(a.id, &limit) != 0) Fail("getrlimit", errno);
  const auto soft = static_cast<unsigned long long>(limit.rlim_cur);
  PrintLine(limit.rlim_cur == RLIM_INFINITY ? "unlimited"
                                            : std::to_string(soft));
}

// The value of the "<field>:" line of /proc/self/status.
std::string ProcStatus(const std::string& field) {
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail("open /proc/self/status", errno);
  char block[kBlock];  // The file is about 1.5 KiB: one read returns it all.
  const std::string status(block, Read(fd, block, sizeof(block)));
  close(fd);
  const size_t at = status.find("\n" + field + ":");
  if (at == std::string::npos) Fail("no " + field + " in /proc/self/status", 0);
  const size_t begin = status.find_first_not_of(" \t", at + field.size() + 2);
  return status.substr(begin, status.find('\n', begin) - begin);
}

void PrintProcStatus(const std::string& field) { PrintLine(ProcStatus(field)); }

void PrintSigmask(const Args&) { PrintProcStatus("SigBlk"); }
void PrintSigign(const Args&) { PrintProcStatus("SigIgn"); }

// "CapInh=0000000000000000 CapPrm=... CapEff=... CapBnd=... CapAmb=...".
void PrintCaps(const Args&) {
  std::string line;
  for (const char* field : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    line += (line.empty() ? "" : " ") + std::string(field) + "=" +
            ProcStatus(field);
  }
  PrintLine(line);
}

// Binds a TCP socket to 127.0.0.1:PORT, prints "bound PORT", closes it.
void BindPort(const Args& a) {
  if (a.number[0] > 65535)
    Fail("bind-port: no port " + std::to_string(a.number[0]), 0, kExitUsage);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail("socket", errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(a.number[0]));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
      0) {
    Fail("bind port " + std::to_string(a.number[0]), errno);
  }
  close(fd);
  PrintLine("bound " + std::to_string(a.number[0]));
}

void PrintNoNewPrivs(const Args&) {
#if defined(__linux__)
  const int value = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (value < 0) Fail("prctl PR_GET_NO_NEW_PRIVS", errno);
  PrintLine(std::to_string(value));
#else
  Fail("print-no-new-privs: Linux only", 0);
#endif
}

// One call the seccomp tests deny, made so that it changes nothing when it
// is allowed (an argument the kernel rejects, or a harmless effect), and
// what it returned: "ptrace ok" or "ptrace EPERM".
void CallSyscall(const Args& args) {
#if defined(__linux__)
  const std::string name = args.text;
  long result = -1;
  if (name == "ptrace") {
    result = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 0, 0, 0);  // ESRCH
  } else if (name == "unshare") {
    result = syscall(SYS_unshare, CLONE_NEWUSER);  // a namespace of its own
  } else if (name == "mount") {
    result = syscall(SYS_mount, "none", "/nonexistent/procsandbox", "tmpfs", 0,
                     nullptr);  // ENOENT
  } else if (name == "bpf") {
    result = syscall(SYS_bpf, -1, nullptr, 0);  // EINVAL
  } else if (name == "setns") {
    result = syscall(SYS_setns, -1, 0);  // EBADF
  } else if (name == "clone3") {
    result = syscall(SYS_clone3, nullptr, 0);  // EINVAL
  } else if (name == "clone-newuser") {
    // fork(2)'s clone with a new user namespace; the child exits at once.
    result = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (result == 0) _exit(0);
    if (result > 0) {
      waitpid(static_cast<pid_t>(result), nullptr, 0);
      result = 0;
    }
  } else if (name == "getpid") {
    result = syscall(SYS_getpid) > 0 ? 0 : -1;
  } else {
    Fail("syscall: unknown name " + name +
             " (ptrace unshare mount bpf setns clone3 clone-newuser getpid)",
         0, kExitUsage);
  }
  if (result >= 0) {
    PrintLine(name + " ok");
    return;
  }
  const int err = errno;
#if defined(__GLIBC__)
  const char* ename = strerrorname_np(err);
#else
  const char* ename = nullptr;
#endif
  PrintLine(name + " " + (ename != nullptr ? ename : std::to_string(err)));
#else
  Fail("syscall: Linux only", 0);
#endif
}

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

long long CpuNanos() {
  timespec now = {};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// Forks a child that pauses until killed; with `detach`, its stdio is on
// /dev/null so that it does not hold the parent's pipes. Returns fork's value.
pid_t ForkPausing(bool detach) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int null = detach ? open("/dev/null", O_RDWR) : -1;
  for (int fd = 0; fd <= 2 && null >= 0; ++fd) dup2(null, fd);
  if (null > 2) close(null);
  PauseForever();
}

void Fork(const Args& a) {
  for (long long i = 0; i < a.number[0]; ++i) {
    if (ForkPausing(/*detach=*/true) < 0) Fail("fork", errno);
  }
}

// Children that spin until killed, their stdio on /dev/null.
void BurnChildren(const Args& a) {
  for (long long i = 0; i < a.number[0]; ++i) {
    const pid_t pid = fork();
    if (pid < 0) Fail("fork", errno);
    if (pid == 0) {
      const int null = open("/dev/null", O_RDWR);
      for (int fd = 0; fd <= 2 && null >= 0; ++fd) dup2(null, fd);
      BurnForever(Args{});
    }
  }
}

void ForkBomb(const Args&) {
  int made = 0;
  while (made < kForkBombCap && ForkPausing(/*detach=*/true) > 0) ++made;
  PrintLine(std::to_string(made));
}

// The grandchild pauses in its own session, holding stdout and stderr; the
// intermediate child exits and is reaped at once.
void Daemonize(const Args&) {
  const pid_t child = fork();
  if (child < 0) Fail("fork", errno);
  if (child == 0) {
    setsid();
    _exit(ForkPausing(/*detach=*/false) < 0 ? kExitFailure : 0);
  }
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void GrandchildHoldsPipe(const Args&) {
  if (ForkPausing(/*detach=*/false) < 0) Fail("fork", errno);
}

void WaitChildren(const Args&) {
  while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
}

void Ignore(const Args& a) { SetDisposition(a.id, SIG_IGN); }

int term_exit_code = 0;
long long term_delay_ms = 0;

// Only async-signal-safe calls: nanosleep and _exit are system calls.
void OnTerm(int) {
  SleepMs(term_delay_ms);
  _exit(term_exit_code);
}

void CatchTermExit(const Args& a) {
  term_exit_code = static_cast<int>(a.number[0]);
  term_delay_ms = a.number[1];
  SetDisposition(SIGTERM, OnTerm);
}

void WriteFile(const Args& a) {
  const int fd = open(a.text, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Fail(std::string("open ") + a.text, errno);
  WritePattern(a.number[0], fd);
  close(fd);
}

// The errno names the isolation tests look for; others by number.
std::string ErrnoName(int err) {
  switch (err) {
    case EROFS:
      return "EROFS";
    case ENOSPC:
      return "ENOSPC";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EEXIST:
      return "EEXIST";
    case EFBIG:
      return "EFBIG";
    default:
      return "errno " + std::to_string(err);
  }
}

// write-file that reports instead of failing: "ok", or the errno's name.
void TryWrite(const Args& a) {
  const int fd = open(a.text, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return PrintLine(ErrnoName(errno));
  int err = 0;
  for (unsigned long long at = 0,
                          end = static_cast<unsigned long long>(a.number[0]);
       at < end && err == 0; at += kBlock) {
    err = WriteAll(
        fd, PatternAt(at),
        static_cast<size_t>(std::min<unsigned long long>(kBlock, end - at)));
  }
  if (close(fd) != 0 && err == 0) err = errno;
  PrintLine(err == 0 ? "ok" : ErrnoName(err));
}

void ListDir(const Args& a) {
  DIR* dir = opendir(a.text);
  if (dir == nullptr) Fail(std::string("opendir ") + a.text, errno);
  std::vector<std::string> names;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) PrintLine(name);
}

void OpenFiles(const Args& a) {
  long long opened = 0;
  while (opened < a.number[0] && open("/dev/null", O_RDONLY) >= 0) ++opened;
  PrintLine(std::to_string(opened));
}

void StopSelf(const Args&) { raise(SIGSTOP); }

#endif  // !defined(_WIN32)

// Operand kinds: N count (0..2^40), E exit code (0..255), H 32-bit exit code
// (0xC0000005 or decimal), S signal (TERM, SIGTERM or 15), R rlimit name,
// T text. A null `run`: not on this platform (Plan() says so, exit 125).
struct Step {
  const char* name;
  const char* operands;
  const char* usage;
  void (*run)(const Args&);
};

#if defined(_WIN32)
#define PROCSANDBOX_POSIX_STEP(run) nullptr
#define PROCSANDBOX_WINDOWS_STEP(run) run
constexpr char kNotHere[] = "not on Windows";
#else
#define PROCSANDBOX_POSIX_STEP(run) run
#define PROCSANDBOX_WINDOWS_STEP(run) nullptr
constexpr char kNotHere[] = "Windows only";
#endif

constexpr Step kSteps[] = {
    {"exit", "E", "CODE", Exit},
    {"exit-code-hex", "H", "CODE", PROCSANDBOX_WINDOWS_STEP(ExitCodeHex)},
    {"signal", "S", "NAME|N", PROCSANDBOX_POSIX_STEP(RaiseSignal)},
    {"abort", "", "", Abort},
    {"crash", "", "", Crash},
    {"sleep-ms", "N", "MS", Sleep},
    {"sleep-forever", "", "", SleepForever},
    {"echo-stdin", "", "", EchoStdin},
    {"echo-lines", "", "", EchoLines},
    {"count-stdin", "", "", CountStdin},
    {"write-stdout", "N", "BYTES", WriteStdout},
    {"write-stderr", "N", "BYTES", WriteStderr},
    {"write-both", "N", "BYTES", WriteBoth},
    {"flood-lines", "N", "LEN", PROCSANDBOX_POSIX_STEP(FloodLines)},
    {"print", "T", "TEXT", Print},
    {"print-stderr", "T", "TEXT", PrintStderr},
    {"print-env", "", "", PrintEnv},
    {"print-cwd", "", "", PrintCwd},
    {"print-fds", "", "", PROCSANDBOX_POSIX_STEP(PrintFds)},
    {"print-pid", "", "", PrintPid},
    {"print-ppid", "", "", PROCSANDBOX_POSIX_STEP(PrintPpid)},
    {"print-pgid", "", "", PROCSANDBOX_POSIX_STEP(PrintPgid)},
    {"print-sid", "", "", PROCSANDBOX_POSIX_STEP(PrintSid)},
    {"print-ids", "", "", PROCSANDBOX_POSIX_STEP(PrintIds)},
    {"print-rlimit", "R", "cpu|as|fsize|nofile|nproc",
     PROCSANDBOX_POSIX_STEP(PrintRlimit)},
    {"print-sigmask", "", "", PROCSANDBOX_POSIX_STEP(PrintSigmask)},
    {"print-sigign", "", "", PROCSANDBOX_POSIX_STEP(PrintSigign)},
    {"print-caps", "", "", PROCSANDBOX_POSIX_STEP(PrintCaps)},
    {"bind-port", "N", "PORT", PROCSANDBOX_POSIX_STEP(BindPort)},
    {"print-no-new-privs", "", "", PROCSANDBOX_POSIX_STEP(PrintNoNewPrivs)},
    {"syscall", "T", "NAME", PROCSANDBOX_POSIX_STEP(CallSyscall)},
    {"alloc-mb", "N", "MIB", AllocMb},
    {"alloc-forever", "", "", AllocForever},
    {"burn-ms", "N", "MS", BurnMs},
    {"burn-wall-ms", "N", "MS", BurnWallMs},
    {"burn-forever", "", "", BurnForever},
    {"fork", "N", "COUNT", Fork},
    {"fork-bomb", "", "", PROCSANDBOX_POSIX_STEP(ForkBomb)},
    {"burn-children", "N", "COUNT", BurnChildren},
    {"daemonize", "", "", PROCSANDBOX_POSIX_STEP(Daemonize)},
    {"grandchild-holds-pipe", "", "", GrandchildHoldsPipe},
    {"wait-children", "", "", WaitChildren},
    {"ignore", "S", "NAME|N", Ignore},
    {"catch-term-exit", "EN", "CODE MS", CatchTermExit},
    {"write-file", "TN", "PATH BYTES", WriteFile},
    {"try-write", "TN", "PATH BYTES", PROCSANDBOX_POSIX_STEP(TryWrite)},
    {"list-dir", "T", "PATH", PROCSANDBOX_POSIX_STEP(ListDir)},
    {"open-files", "N", "COUNT", OpenFiles},
    {"json-rpc", "", "", JsonRpc},
    {"stop-self", "", "", PROCSANDBOX_POSIX_STEP(StopSelf)},
};

#undef PROCSANDBOX_POSIX_STEP
#undef PROCSANDBOX_WINDOWS_STEP

[[noreturn]] void Usage(const std::string& problem) {
  std::string text = problem + "\nusage: procsandbox_test_helper STEP...";
  for (const Step& step : kSteps) {
    text += std::string("\n  ") + step.name;
    if (*step.usage != '\0') text += std::string(" ") + step.usage;
  }
  Fail(text, 0, kExitUsage);
}

// Checks the whole command line before anything runs.
std::vector<std::pair<const Step*, Args>> Plan(int argc, char** argv) {
  if (argc < 2) Usage("no step given");
  std::vector<std::pair<const Step*, Args>> plan;
  for (int i = 1; i < argc;) {
    const Step* step = std::find_if(
        std::begin(kSteps), std::end(kSteps),
        [&](const Step& s) { return std::strcmp(s.name, argv[i]) == 0; });
    if (step == std::end(kSteps)) {
      Fail(std::string("unknown step '") + argv[i] + "'", 0, kExitUsage);
    }
    if (step->run == nullptr) {
      Fail(std::string("step '") + step->name + "': " + kNotHere, 0,
           kExitUsage);
    }
    std::pair<const Step*, Args> planned{step, Args{}};
    int number_index = 0;
    ++i;
    for (const char* kind = step->operands; *kind != '\0'; ++kind, ++i) {
      if (i >= argc) {
        Fail(std::string("step '") + step->name + "' needs " + step->usage, 0,
             kExitUsage);
      }
      if (!ParseOperand(*kind, argv[i], &number_index, &planned.second)) {
        Fail(std::string("step '") + step->name + "': bad operand '" + argv[i] +
                 "' (want " + step->usage + ")",
             0, kExitUsage);
      }
    }
    plan.push_back(planned);
  }
  return plan;
}

#if defined(_WIN32)
// A crash ends the process at once with the exception's status as its exit
// code, as Windows does without a debugger: no error box, no winedbg (which
// Wine starts otherwise, printing pages to stderr).
LONG WINAPI EndWithTheException(EXCEPTION_POINTERS* exception) {
  TerminateProcess(GetCurrentProcess(),
                   exception->ExceptionRecord->ExceptionCode);
  return EXCEPTION_CONTINUE_SEARCH;
}

#endif

}  // namespace

#if defined(_WIN32)
// The arguments as UTF-16 (argv would be in the ANSI code page), split by
// CommandLineToArgvW's rules, in UTF-8; stdio in binary mode, so that byte
// counts are the same as on POSIX.
int main() {
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
  SetUnhandledExceptionFilter(EndWithTheException);
  for (int fd : {kStdinFd, kStdoutFd, kStderrFd}) _setmode(fd, _O_BINARY);
  int argc = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &argc);
  if (wide == nullptr) FailWin32("CommandLineToArgvW");
  std::vector<std::string> utf8;
  for (int i = 0; i < argc; ++i)
    utf8.push_back(ToUtf8(wide[i], wcslen(wide[i])));
  LocalFree(wide);
  std::vector<char*> argv;
  for (std::string& arg : utf8) argv.push_back(arg.data());
  for (const auto& [step, args] : Plan(argc, argv.data())) step->run(args);
  return 0;
}
#else
int main(int argc, char** argv) {
  for (const auto& [step, args] : Plan(argc, argv)) step->run(args);
  return 0;
}
#endif

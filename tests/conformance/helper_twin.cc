// The helper's twin: tests/helper/procsandbox_test_helper.cc, step by step,
// on a FakeProcess. Kept in the helper's order and words, so that a change
// there is easy to carry over here.
#include "conformance/helper_twin.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "conformance/posix_signals.h"
#include "procsandbox/environment.h"
#include "procsandbox/limits.h"
#include "procsandbox/memory_manager.h"

namespace procsandbox::conformance {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitFileTooBig = 27;
constexpr int kExitUsage = 125;
constexpr std::size_t kBlock = 64 * 1024;
constexpr long long kMaxCount = 1LL << 40;
constexpr long long kForkBombCap = 4096;
// What each 16 MiB chunk of alloc-forever costs: touching its pages takes
// CPU, and lets virtual time (and a wall_time limit) move on.
constexpr absl::Duration kChunkCpu = absl::Milliseconds(1);

// What a program of the twin keeps between steps.
struct Twin {
  FakeProcess& p;
  std::vector<int> ignored;  // signals set to SIG_IGN by `ignore`
  int64_t children = 0;      // forked by fork and fork-bomb
  int64_t open_files = 0;    // opened by open-files

  bool Ignores(int signo) const {
    return std::find(ignored.begin(), ignored.end(), signo) != ignored.end();
  }
};

// --- Output and input --------------------------------------------------------

// Reports "procsandbox_test_helper: <what>[: <strerror(err)>]" on stderr and
// exits with code, as the helper's Fail() does.
[[noreturn]] void Fail(FakeProcess& p, const std::string& what, int err,
                       int code = kExitFailure) {
  std::string message = "procsandbox_test_helper: " + what;
  if (err != 0) message += std::string(": ") + std::strerror(err);
  message += '\n';
  p.WriteStderr(message);
  p.Exit(code);
}

// A step the fake cannot model: loud, and not mistaken for a helper's exit.
[[noreturn]] void Unmodelled(FakeProcess& p, const std::string& step) {
  p.WriteStderr("procsandbox_test_helper (MemoryManager twin): step '" + step +
                "' is not modelled by the fake; use it only in tests of a "
                "real manager\n");
  p.Die(SIGABRT);
}

void PrintLine(FakeProcess& p, std::string line, bool to_stderr = false) {
  line += '\n';
  if (to_stderr) {
    p.WriteStderr(line);
  } else {
    p.WriteStdout(line);
  }
}

// Calls on_line with each line of stdin, '\n' included (the last line may
// lack it), as soon as the line is complete: getline's view of stdin.
template <typename OnLine>
void ForEachLine(FakeProcess& p, OnLine on_line) {
  std::string pending;
  for (std::string chunk = p.Read(kBlock); !chunk.empty();
       chunk = p.Read(kBlock)) {
    pending += chunk;
    std::size_t start = 0;
    for (std::size_t nl = pending.find('\n'); nl != std::string::npos;
         nl = pending.find('\n', start)) {
      on_line(pending.substr(start, nl + 1 - start));
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) on_line(pending);
}

// Byte i of each write-* stream is 'a' + i % 26, across blocks: the `size`
// bytes that follow stream position `position` (size <= kBlock).
absl::string_view PatternAt(unsigned long long position, std::size_t size) {
  static const std::string pattern = [] {
    std::string s(kBlock + 26, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) {
      s[i] = static_cast<char>('a' + i % 26);
    }
    return s;
  }();
  return absl::string_view(pattern).substr(position % 26, size);
}

// --- Operands ----------------------------------------------------------------

struct Args {
  long long number[2] = {0, 0};
  int id = 0;  // A signal or an RLIMIT_* resource.
  std::string text;
};

struct Named {
  const char* name;
  int value;
};

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

// Only the names matter: print-rlimit is not modelled.
constexpr Named kRlimits[] = {
    {"cpu", 0}, {"as", 1}, {"fsize", 2}, {"nofile", 3}, {"nproc", 4},
};

bool ParseNumber(const std::string& s, long long low, long long high,
                 long long* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || value < low || value > high) return false;
  *out = value;
  return true;
}

template <std::size_t N>
bool ParseName(const char* s, const Named (&names)[N], int* out) {
  const Named* named = std::find_if(names, names + N, [s](const Named& n) {
    return std::strcmp(n.name, s) == 0;
  });
  if (named != names + N) *out = named->value;
  return named != names + N;
}

bool ParseOperand(char kind, const std::string& s, int* number_index,
                  Args* args) {
  switch (kind) {
    case 'N':
    case 'E':
      return ParseNumber(s, 0, kind == 'E' ? 255 : kMaxCount,
                         &args->number[(*number_index)++]);
    case 'S': {  // TERM, SIGTERM or 15.
      long long number = 0;
      if (!ParseNumber(s, 1, NSIG - 1, &number)) {
        const char* name = s.c_str();
        return ParseName(std::strncmp(name, "SIG", 3) == 0 ? name + 3 : name,
                         kSignals, &args->id);
      }
      args->id = static_cast<int>(number);
      return true;
    }
    case 'H': {  // A 32-bit exit code: 0xC0000005 or 3221225477.
      if (s.compare(0, 2, "0x") != 0) {
        return ParseNumber(s, 0, 0xFFFFFFFF, &args->number[(*number_index)++]);
      }
      if (s.size() < 3 || s.size() > 10 ||
          s.find_first_not_of("0123456789abcdefABCDEF", 2) !=
              std::string::npos) {
        return false;
      }
      args->number[(*number_index)++] =
          std::strtoll(s.c_str() + 2, nullptr, 16);
      return true;
    }
    case 'R':
      return ParseName(s.c_str(), kRlimits, &args->id);
    default:  // 'T'
      args->text = s;
      return true;
  }
}

// --- Steps -------------------------------------------------------------------

bool StopsByDefault(int signo) {
  return signo == SIGSTOP || signo == SIGTSTP || signo == SIGTTIN ||
         signo == SIGTTOU;
}

bool IgnoredByDefault(int signo) {
  return signo == SIGCHLD || signo == SIGURG || signo == SIGWINCH ||
         signo == SIGCONT;
}

void Exit(Twin& t, const Args& a) { t.p.Exit(static_cast<int>(a.number[0])); }

void RaiseSignal(Twin& t, const Args& a) {
  t.ignored.erase(std::remove(t.ignored.begin(), t.ignored.end(), a.id),
                  t.ignored.end());
  if (IgnoredByDefault(a.id)) return;  // The next step runs.
  // StopsByDefault: rejected before the first step.
  t.p.Die(a.id);
}

void Abort(Twin& t, const Args&) { t.p.Die(SIGABRT); }
void Crash(Twin& t, const Args&) { t.p.Die(SIGSEGV); }
// The Windows helper's step, modelled on every platform (as the fake models
// Windows crashes everywhere).
void ExitCodeHex(Twin& t, const Args& a) {
  t.p.Raise(static_cast<uint32_t>(a.number[0]));
}

void Sleep(Twin& t, const Args& a) {
  t.p.Sleep(absl::Milliseconds(a.number[0]));
}

void SleepForever(Twin& t, const Args&) {
  for (;;) t.p.Sleep(absl::InfiniteDuration());
}

void EchoStdin(Twin& t, const Args&) {
  for (std::string block = t.p.Read(kBlock); !block.empty();
       block = t.p.Read(kBlock)) {
    t.p.WriteStdout(block);
  }
}

void EchoLines(Twin& t, const Args&) {
  ForEachLine(t.p, [&t](const std::string& line) { t.p.WriteStdout(line); });
}

void CountStdin(Twin& t, const Args&) {
  unsigned long long total = 0;
  for (std::string block = t.p.Read(kBlock); !block.empty();
       block = t.p.Read(kBlock)) {
    total += block.size();
  }
  PrintLine(t.p, std::to_string(total));
}

enum class To { kStdout, kStderr, kBoth };

// Writes total bytes of the pattern, in 64 KiB blocks; kBoth alternates
// stdout and stderr blocks.
void WritePattern(Twin& t, long long total, To to) {
  const auto end = static_cast<unsigned long long>(total);
  for (unsigned long long at = 0; at < end; at += kBlock) {
    const auto size = static_cast<std::size_t>(
        std::min<unsigned long long>(kBlock, end - at));
    const absl::string_view block = PatternAt(at, size);
    if (to != To::kStderr) t.p.WriteStdout(block);
    if (to != To::kStdout) t.p.WriteStderr(block);
  }
}

void WriteStdout(Twin& t, const Args& a) {
  WritePattern(t, a.number[0], To::kStdout);
}
void WriteStderr(Twin& t, const Args& a) {
  WritePattern(t, a.number[0], To::kStderr);
}
void WriteBoth(Twin& t, const Args& a) {
  WritePattern(t, a.number[0], To::kBoth);
}

void Print(Twin& t, const Args& a) { PrintLine(t.p, a.text); }
void PrintStderr(Twin& t, const Args& a) {
  PrintLine(t.p, a.text, /*to_stderr=*/true);
}

void PrintEnv(Twin& t, const Args&) {
  std::vector<std::string> lines = t.p.env().ToStrings();
  std::sort(lines.begin(), lines.end());
  for (std::string& line : lines) PrintLine(t.p, std::move(line));
}

void PrintCwd(Twin& t, const Args&) {
  if (!t.p.working_dir().empty()) {
    PrintLine(t.p, t.p.working_dir());
    return;
  }
  // No working directory given: the child's is the host's own.
  std::error_code error;
  const std::filesystem::path cwd = std::filesystem::current_path(error);
  if (error) Fail(t.p, "getcwd", error.value());
  PrintLine(t.p, cwd.u8string());
}

void PrintPid(Twin& t, const Args&) {
  PrintLine(t.p, std::to_string(t.p.pid()));
}

void AllocMb(Twin& t, const Args& a) {
  if (a.number[0] > 0) t.p.UseMemory(static_cast<int64_t>(a.number[0]) << 20);
}

void AllocForever(Twin& t, const Args&) {
  for (;;) {
    t.p.UseMemory(int64_t{16} << 20);
    t.p.UseCpu(kChunkCpu);
  }
}

void BurnMs(Twin& t, const Args& a) {
  t.p.UseCpu(absl::Milliseconds(a.number[0]));
}

void BurnForever(Twin& t, const Args&) {
  for (;;) t.p.UseCpu(absl::InfiniteDuration());
}

// How many of `wanted` more processes the tree has room for under
// Limits::processes (the program itself counts).
int64_t ProcessRoom(const Twin& t, int64_t wanted) {
  const std::optional<int64_t>& limit = t.p.limits().processes;
  if (!limit.has_value()) return wanted;
  return std::max<int64_t>(0, std::min(wanted, *limit - 1 - t.children));
}

void Fork(Twin& t, const Args& a) {
  const int64_t made = ProcessRoom(t, a.number[0]);
  if (made > 0 && !t.p.SpawnChildren(made).ok()) Fail(t.p, "fork", EAGAIN);
  t.children += made;
  if (made < a.number[0]) Fail(t.p, "fork", EAGAIN);
}

void ForkBomb(Twin& t, const Args&) {
  const int64_t made = ProcessRoom(t, kForkBombCap);
  if (made > 0 && !t.p.SpawnChildren(made).ok()) Fail(t.p, "fork", EAGAIN);
  t.children += made;
  PrintLine(t.p, std::to_string(made));
}

void WaitChildren(Twin& t, const Args& a) {
  // The children pause until killed, and whatever kills them (a signal to
  // the group) kills this program too.
  if (t.children > 0) SleepForever(t, a);
}

void Ignore(Twin& t, const Args& a) {
  if (!t.p.IgnoreSignal(a.id).ok()) {
    Fail(t.p, "sigaction " + std::to_string(a.id), EINVAL);
  }
  if (!t.Ignores(a.id)) t.ignored.push_back(a.id);
}

void CatchTermExit(Twin& t, const Args& a) {
  const int code = static_cast<int>(a.number[0]);
  const absl::Duration delay = absl::Milliseconds(a.number[1]);
  FakeProcess& p = t.p;
  if (!p.OnSignal(SIGTERM, [&p, code, delay] {
          p.Sleep(delay);
          p.Exit(code);
        }).ok()) {
    Fail(p, "sigaction " + std::to_string(SIGTERM), EINVAL);
  }
  t.ignored.erase(std::remove(t.ignored.begin(), t.ignored.end(), SIGTERM),
                  t.ignored.end());
}

void WriteFile(Twin& t, const Args& a) {
  std::string path = a.text;
  if (path.empty() || (path[0] != '/' && !t.p.working_dir().empty())) {
    path = t.p.working_dir() + "/" + path;
  }
  (void)t.p.WriteFile(path, "");  // O_CREAT | O_TRUNC
  const std::optional<int64_t>& limit = t.p.limits().file_size_bytes;
  const auto end = static_cast<unsigned long long>(a.number[0]);
  for (unsigned long long at = 0; at < end; at += kBlock) {
    auto size = static_cast<std::size_t>(
        std::min<unsigned long long>(kBlock, end - at));
    if (limit.has_value() && t.Ignores(SIGXFSZ) &&
        at + size > static_cast<unsigned long long>(*limit)) {
      // SIGXFSZ ignored: the write stops at the limit, then fails (EFBIG).
      const auto room = static_cast<unsigned long long>(*limit) -
                        std::min<unsigned long long>(at, *limit);
      (void)t.p.WriteFile(path, PatternAt(at, static_cast<std::size_t>(room)),
                          /*append=*/true);
      Fail(t.p, "write to fd " + std::to_string(3 + t.open_files), EFBIG,
           kExitFileTooBig);
    }
    (void)t.p.WriteFile(path, PatternAt(at, size), /*append=*/true);
  }
}

void OpenFiles(Twin& t, const Args& a) {
  int64_t opened = a.number[0];
  const std::optional<int64_t>& limit = t.p.limits().open_files;
  if (limit.has_value()) {
    constexpr int64_t kStandardStreams = 3;
    opened = std::max<int64_t>(
        0, std::min(opened, *limit - kStandardStreams - t.open_files));
  }
  if (opened > 0 && !t.p.OpenFiles(opened).ok()) {
    Fail(t.p, "open /dev/null", EMFILE);
  }
  t.open_files += opened;
  PrintLine(t.p, std::to_string(opened));
}

bool FindId(const std::string& line, long long* id) {
  const std::size_t at = line.find("\"id\":");
  if (at == std::string::npos) return false;
  const char* start = line.c_str() + at + 5;
  char* end = nullptr;
  *id = std::strtoll(start, &end, 10);  // Skips white space.
  return end != start;
}

void JsonRpc(Twin& t, const Args&) {
  ForEachLine(t.p, [&t](std::string line) {
    line.erase(line.find_last_not_of("\r\n") + 1);  // All of it if blank.
    long long id = 0;
    if (!FindId(line, &id)) return;  // A notification: no reply.
    PrintLine(t.p, "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) +
                       ",\"result\":" + line + "}");
  });
}

// Operand kinds: N count (0..2^40), E exit code (0..255), S signal (TERM,
// SIGTERM or 15), R rlimit name, T text. A null `run`: not modelled.
struct Step {
  const char* name;
  const char* operands;
  const char* usage;
  void (*run)(Twin&, const Args&);
};

constexpr Step kSteps[] = {
    {"exit", "E", "CODE", Exit},
    {"exit-code-hex", "H", "CODE", ExitCodeHex},
    {"signal", "S", "NAME|N", RaiseSignal},
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
    {"print", "T", "TEXT", Print},
    {"print-stderr", "T", "TEXT", PrintStderr},
    {"print-env", "", "", PrintEnv},
    {"print-cwd", "", "", PrintCwd},
    {"print-fds", "", "", nullptr},
    {"print-pid", "", "", PrintPid},
    {"print-ppid", "", "", nullptr},
    {"print-pgid", "", "", nullptr},
    {"print-sid", "", "", nullptr},
    {"print-ids", "", "", nullptr},
    {"print-rlimit", "R", "cpu|as|fsize|nofile|nproc", nullptr},
    {"print-sigmask", "", "", nullptr},
    {"print-sigign", "", "", nullptr},
    {"print-no-new-privs", "", "", nullptr},
    {"alloc-mb", "N", "MIB", AllocMb},
    {"alloc-forever", "", "", AllocForever},
    {"burn-ms", "N", "MS", BurnMs},
    {"burn-wall-ms", "N", "MS", BurnMs},  // one core, all of the time
    {"burn-forever", "", "", BurnForever},
    {"fork", "N", "COUNT", Fork},
    {"fork-bomb", "", "", ForkBomb},
    {"daemonize", "", "", nullptr},
    {"grandchild-holds-pipe", "", "", nullptr},
    {"wait-children", "", "", WaitChildren},
    {"ignore", "S", "NAME|N", Ignore},
    {"catch-term-exit", "EN", "CODE MS", CatchTermExit},
    {"write-file", "TN", "PATH BYTES", WriteFile},
    {"open-files", "N", "COUNT", OpenFiles},
    {"json-rpc", "", "", JsonRpc},
    {"stop-self", "", "", nullptr},
};

[[noreturn]] void Usage(FakeProcess& p, const std::string& problem) {
  std::string text = problem + "\nusage: procsandbox_test_helper STEP...";
  for (const Step& step : kSteps) {
    text += std::string("\n  ") + step.name;
    if (*step.usage != '\0') text += std::string(" ") + step.usage;
  }
  Fail(p, text, 0, kExitUsage);
}

// Checks the whole command line before anything runs, as the helper does;
// then refuses a step the fake cannot model.
std::vector<std::pair<const Step*, Args>> Plan(FakeProcess& p) {
  const std::vector<std::string>& args = p.args();
  if (args.empty()) Usage(p, "no step given");
  std::vector<std::pair<const Step*, Args>> plan;
  for (std::size_t i = 0; i < args.size();) {
    const Step* step =
        std::find_if(std::begin(kSteps), std::end(kSteps),
                     [&](const Step& s) { return args[i] == s.name; });
    if (step == std::end(kSteps)) {
      Fail(p, "unknown step '" + args[i] + "'", 0, kExitUsage);
    }
    std::pair<const Step*, Args> planned{step, Args{}};
    int number_index = 0;
    ++i;
    for (const char* kind = step->operands; *kind != '\0'; ++kind, ++i) {
      if (i >= args.size()) {
        Fail(p, std::string("step '") + step->name + "' needs " + step->usage,
             0, kExitUsage);
      }
      if (!ParseOperand(*kind, args[i], &number_index, &planned.second)) {
        Fail(p,
             std::string("step '") + step->name + "': bad operand '" + args[i] +
                 "' (want " + step->usage + ")",
             0, kExitUsage);
      }
    }
    plan.push_back(std::move(planned));
  }
  for (const auto& [step, step_args] : plan) {
    if (step->run == nullptr) Unmodelled(p, step->name);
    if (step->run == RaiseSignal && StopsByDefault(step_args.id)) {
      Unmodelled(p, "signal " + std::to_string(step_args.id) +
                        " (it stops the process)");
    }
  }
  return plan;
}

int RunHelper(FakeProcess& p) {
  Twin twin{p, {}, 0, 0};
  for (const auto& [step, args] : Plan(p)) step->run(twin, args);
  return 0;
}

}  // namespace

void RegisterHelperTwin(procsandbox::MemoryManager& fake,
                        const std::string& helper_path) {
  fake.Register(helper_path, RunHelper);
}

}  // namespace procsandbox::conformance

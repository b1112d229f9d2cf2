// The installed `procsandbox` command, end to end: each status and its exit
// code, the JSON result, every bad input, stdio files, --workdir-root,
// doctor, strict mode, signal forwarding.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace procsandbox_cli_test {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- Each status, its exit code and JSON
// ---------------------------------------

TEST_F(CliTest, AnExitCodeIsPassedOn) {
  ToolRun r = Run({"run", "--", "/bin/sh", "-c", "echo hi; exit 3"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_THAT(r.err, StartsWith("procsandbox: exited 3 in "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(CliTest, TheResultJsonHasEveryFieldWithItsType) {
  ToolRun r = Run({"run", "--json", "--timeout", "5s", "--memory", "256M", "--",
                   "/bin/true"});
  ASSERT_EQ(r.status, 0) << r.err;
  json j = r.Json();
  EXPECT_EQ(j["status"], "exited");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_TRUE(j["signal_name"].is_null());
  EXPECT_TRUE(j["exception"].is_null());
  EXPECT_TRUE(j["syscall"].is_null());
  EXPECT_TRUE(j["syscall_name"].is_null());
  for (const char* f : {"wall_time_s", "user_time_s", "system_time_s"}) {
    EXPECT_TRUE(j[f].is_number_float()) << f;
    EXPECT_GE(j[f].get<double>(), 0.0) << f;
  }
  EXPECT_TRUE(j["peak_memory_bytes"].is_number_integer());
  EXPECT_TRUE(j["pid"].is_number_integer());
  EXPECT_GT(j["pid"].get<int64_t>(), 0);
  EXPECT_EQ(j["limits"]["wall_time_s"], 5.0);
  EXPECT_EQ(j["limits"]["memory_bytes"], 256 << 20);
  EXPECT_TRUE(j["enforcement"]["memory_bytes"]["mechanism"].is_string());
  EXPECT_TRUE(j["enforcement"]["wall_time"]["detail"].is_string());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["forks_refused"], 0);
}

TEST_F(CliTest, DeathBySignalIs128PlusN) {
  ToolRun r = Run({"run", "--json", "--", "/bin/sh", "-c", "kill -SEGV $$"});
  EXPECT_EQ(r.status, 128 + SIGSEGV);
  json j = r.Json();
  EXPECT_EQ(j["status"], "signaled");
  EXPECT_EQ(j["signal"], SIGSEGV);
  EXPECT_EQ(j["signal_name"], "SIGSEGV");
  EXPECT_TRUE(j["exit_code"].is_null());
}

TEST_F(CliTest, ATimeoutIs124) {
  ToolRun r = Run({"run", "--timeout", "200ms", "--grace", "100ms", "--json",
                   "--", "sleep", "10"});
  EXPECT_EQ(r.status, 124);
  EXPECT_EQ(r.Json()["status"], "timed_out");
  EXPECT_THAT(r.err, HasSubstr("timed out after"));
  // A hang guard only (10 s sleep, 8 s bound); latency is for bench/.
  EXPECT_LT(r.Json()["wall_time_s"].get<double>(), 8.0);
}

TEST_F(CliTest, AMemoryBombIsMemoryExceeded) {
  if (MechanismOf("memory_bytes").rfind("cgroup", 0) != 0) {
    GTEST_SKIP() << "no cgroup carries memory here";
  }
  ToolRun r = Run(
      {"run", "--memory", "64M", "--json", "--", kHelper, "alloc-mb", "512"});
  EXPECT_EQ(r.status, 128 + SIGKILL);
  EXPECT_EQ(r.Json()["status"], "memory_exceeded");
  EXPECT_THAT(r.err, HasSubstr("memory limit 64 MiB exceeded"));
}

TEST_F(CliTest, CpuTimeIsCpuTimeExceeded) {
  ToolRun r = Run({"run", "--cpu-time", "300ms", "--timeout", "120s", "--json",
                   "--", kHelper, "burn-forever"});
  EXPECT_TRUE(r.status == 128 + SIGKILL || r.status == 128 + SIGXCPU)
      << r.status << " " << r.err;
  EXPECT_EQ(r.Json()["status"], "cpu_time_exceeded");
}

TEST_F(CliTest, FileSizeIsFileSizeExceeded) {
  ToolRun r = Run({"run", "--file-size", "10K", "--json", "--", kHelper,
                   "write-file", Path("big"), "100000"});
  EXPECT_EQ(r.status, 128 + SIGXFSZ);
  EXPECT_EQ(r.Json()["status"], "file_size_exceeded");
}

TEST_F(CliTest, OutputOverTheLimitIsStoppedAndCut) {
  // More than the pipe holds: the program is still writing when the tool has
  // read past the limit. (One that wrote less and exited before the read
  // has ended by itself: exited, its output cut.)
  ToolRun r = Run({"run", "--output-limit", "1K", "--result", Path("r.json"),
                   "--", kHelper, "write-stdout", "100000000"});
  EXPECT_EQ(ReadFile(Path("r.json")).empty(), false);
  json j = json::parse(ReadFile(Path("r.json")));
  EXPECT_EQ(j["status"], "output_exceeded");
  EXPECT_EQ(r.out.size(), 1024u);  // forwarded byte for byte, cut exactly
  EXPECT_EQ(j["limits"]["output_bytes"], 1024);
}

TEST_F(CliTest, OutputCutIsNeverASuccessEvenWhenTheProgramExitedFirst) {
  // The program writes past the limit and exits 0 at once: whether the
  // stop lands or finds it gone, the run is output_exceeded with 143.
  for (int i = 0; i < 5; ++i) {
    ToolRun r = Run({"run", "--output-limit", "10", "--result", Path("r.json"),
                     "--", "/bin/sh", "-c", "printf 0123456789ABCDEF"});
    EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
    EXPECT_EQ(json::parse(ReadFile(Path("r.json")))["status"],
              "output_exceeded");
    EXPECT_EQ(r.out, "0123456789");
  }
}

TEST_F(CliTest, ForwardedOutputIsPassedOnByteForByte) {
  // Before: line by line, with a newline added to a last line without one.
  ToolRun r = Run({"run", "--quiet", "--output-limit", "1M", "--", "/bin/sh",
                   "-c", "printf 'a\\n\\377b'; printf 'err' >&2"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "a\n\xff"
            "b");
  EXPECT_EQ(r.err, "err");
}

// Runs `script` with /bin/sh (TOOL and HELPER set), stdout and stderr to
// files; its exit status.
ToolRun ShellRun(const std::string& dir, const std::string& script) {
  const std::string out = dir + "/.sh-out", err = dir + "/.sh-err";
  const std::string command = absl::StrCat(
      "TOOL='", kTool, "' HELPER='", kHelper, "' DIR='", dir, "' /bin/sh -c '",
      script, "' >", out, " 2>", err, " </dev/null");
  ToolRun run;
  const int wstatus = std::system(command.c_str());
  run.status = StatusOf(wstatus);
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}

TEST_F(CliTest, AClosedStdoutIsNotTakenByTheToolsOwnDescriptors) {
  // Before: descriptor 1 became the manager's epoll, and the result went
  // there ("write the result to stdout: Invalid argument", 125).
  ToolRun r = ShellRun(dir_,
                       "exec >&-; \"$TOOL\" run --json --output-limit 1M "
                       "-- echo hi");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("write")));
}

TEST_F(CliTest, ASignalTheCallerIgnoresStaysIgnored) {
  // Under nohup the program must outlive a hangup: HUP then TERM, and TERM
  // ends it (before: HUP, taken first, ended it: cancelled, 129).
  ToolRun r = ShellRun(
      dir_,
      "trap \"\" HUP; \"$TOOL\" run --quiet --stdout \"$DIR/f\" -- \"$HELPER\" "
      "print ready sleep-forever & pid=$!; "
      "until grep -q ready \"$DIR/f\" 2>/dev/null; do sleep 0.01; done; "
      "kill -HUP $pid; kill -TERM $pid; wait $pid");
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
}

TEST_F(CliTest, AResultThatCannotBeWrittenAfterAStartFailureIs125) {
  // Before: 127 and not a word that the JSON was lost.
  ToolRun r = ShellRun(dir_, "\"$TOOL\" run --json -- /nonexistent >/dev/full");
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr("write the result to stdout: "));
}

TEST_F(CliTest, AReaderThatStopsReadingHoldsNeitherTheDeadlineNorAStop) {
  // The tool's stdout is a pipe nobody reads. Forwarding writes run on the
  // library's only thread: before, a full pipe held it, and the 1 s
  // timeout (and INT, TERM) waited for the reader — for ever here.
  for (const bool by_signal : {false, true}) {
    SCOPED_TRACE(by_signal ? "TERM" : "--timeout 1s");
    std::vector<std::string> args = {"run", "--quiet", "--output-limit", "10G"};
    if (!by_signal) args.insert(args.end(), {"--timeout", "1s"});
    args.insert(args.end(), {"--", "yes"});
    int reader = -1;
    const pid_t pid = SpawnIntoPipe(args, reader);
    ASSERT_GT(pid, 0);
    char first[2] = {};
    ASSERT_EQ(read(reader, first, sizeof(first)), 2);  // it runs; then no
                                                       // more reads
    if (by_signal) {
      // Once the pipe is filling (page slots, not bytes, make it full), the
      // tool's writes wait; TERM must still end the run.
      const int size = fcntl(reader, F_GETPIPE_SZ);
      const absl::Time give_up = absl::Now() + absl::Seconds(30);
      for (int queued = 0; queued < size / 2 && absl::Now() < give_up;) {
        absl::SleepFor(absl::Milliseconds(1));
        ASSERT_EQ(ioctl(reader, FIONREAD, &queued), 0);
      }
      ASSERT_EQ(kill(pid, SIGTERM), 0);
    }
    EXPECT_EQ(WaitExit(pid, absl::Seconds(30)),
              by_signal ? 128 + SIGTERM : 124);
    close(reader);
  }
}

TEST_F(CliTest, AReaderThatGoesAwayStopsTheProgramAsAPipelineWould) {
  // `procsandbox run --output-limit ... -- yes | head -1`: the program gets
  // SIGPIPE (exit 141) instead of running on until the output limit or the
  // timeout (before: 124 after the timeout).
  int reader = -1;
  const pid_t pid = SpawnIntoPipe({"run", "--quiet", "--output-limit", "10G",
                                   "--timeout", "30s", "--", "yes"},
                                  reader);
  ASSERT_GT(pid, 0);
  char first[2] = {};
  ASSERT_EQ(read(reader, first, sizeof(first)), 2);  // "y\n": it runs
  close(reader);                                     // the reader goes away
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 128 + SIGPIPE);
}

TEST_F(CliTest, AForkBombSaysHowManyForksWereRefused) {
  if (MechanismOf("processes").rfind("cgroup", 0) != 0) {
    GTEST_SKIP() << "no cgroup carries processes here";
  }
  ToolRun r =
      Run({"run", "--processes", "8", "--json", "--", kHelper, "fork-bomb"});
  EXPECT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_GT(j["forks_refused"].get<int64_t>(), 0);
  EXPECT_THAT(r.err, ContainsRegex("[0-9]+ forks? or threads? refused at "
                                   "the processes limit 8"));
}

TEST_F(CliTest, AMissingProgramIs127WithStartFailedJson) {
  ToolRun r = Run({"run", "--json", "--", "no-such-program-here"});
  EXPECT_EQ(r.status, 127);
  json j = r.Json();
  EXPECT_EQ(j["status"], "start_failed");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("no-such-program-here"));
  EXPECT_TRUE(j["pid"].is_null());
  EXPECT_THAT(r.err, HasSubstr("not found in PATH"));
}

TEST_F(CliTest, AFileThatIsNotExecutableIs126) {
  WriteFile(Path("data.txt"), "not a program\n");
  EXPECT_EQ(Run({"run", "--", Path("data.txt")}).status, 126);
  WriteFile(Path("garbage"), "\x01\x02\x03 not an executable format\n");
  chmod(Path("garbage").c_str(), 0755);
  EXPECT_EQ(Run({"run", "--", Path("garbage")}).status, 126);
}

// --- Bad input: one line naming the value, 125, nothing started
// -----------------

TEST_F(CliTest, EveryBadInputIs125WithOneLineAndNothingStarts) {
  const std::string marker = Path("started");
  const std::vector<std::string> program = {"/bin/sh", "-c",
                                            "touch '" + marker + "'"};
  struct Case {
    std::vector<std::string> options;
    std::string named;  // what the message must name
  };
  const std::vector<Case> cases = {
      {{"--bogus"}, "--bogus"},
      {{"--timeout", "5x"}, "5x"},
      {{"--timeout", "-1s"}, "-1s"},
      {{"--memory", "1e999M"}, "1e999M"},
      {{"--memory", "-5M"}, "-5M"},
      {{"--memory", "0.5"}, "\"0.5\""},
      {{"--file-size", "0.1"}, "\"0.1\""},
      {{"--output-limit", "0"}, "\"0\""},
      {{"--memory", "4194304T"}, "\"4194304T\""},
      {{"--cpu-time", "forever"}, "forever"},
      {{"--processes", "0"}, "--processes"},
      {{"--cpu-weight", "20000"}, "20000"},
      {{"--env", "NOEQUALS"}, "NOEQUALS"},
      {{"--env", "1BAD=x"}, "1BAD"},
      {{"--pass-env", "A*B"}, "A*B"},
      {{"--cwd", Path("missing-dir")}, "missing-dir"},
      {{"--result", Path("missing-dir/r.json")}, "missing-dir"},
      {{"--stdin", Path("missing-file")}, "missing-file"},
      {{"--stdout", Path("missing-dir/out")}, "missing-dir"},
      {{"--backend", "windows"}, "windows"},
      {{"--uid", "abc"}, "abc"},
      {{"--workdir-root", Path("missing-root")}, "missing-root"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), c.options.begin(), c.options.end());
    args.push_back("--");
    args.insert(args.end(), program.begin(), program.end());
    ToolRun r = Run(args);
    SCOPED_TRACE(c.named);
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_THAT(r.err, StartsWith("procsandbox: "));
    EXPECT_THAT(r.err, HasSubstr(c.named));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(access(marker.c_str(), F_OK), -1) << "the program ran";
    unlink(marker.c_str());
  }
}

TEST_F(CliTest, AMissingSeparatorOrProgramIs125) {
  ToolRun no_separator = Run({"run", "--timeout", "1s", "/bin/true"});
  EXPECT_EQ(no_separator.status, 125);
  EXPECT_THAT(no_separator.err, HasSubstr("missing \"--\""));
  ToolRun empty = Run({"run", "--", ""});
  EXPECT_EQ(empty.status, 125);
  EXPECT_THAT(empty.err, HasSubstr("no program"));
  ToolRun nothing = Run({"run", "--"});
  EXPECT_EQ(nothing.status, 125);
  ToolRun no_command = Run({});
  EXPECT_EQ(no_command.status, 125);
}

TEST_F(CliTest, StrictRefusesALimitNothingEnforcesAndStartsNothing) {
  const std::string marker = Path("started");
  ToolRun r =
      Run({"run", "--backend", "linux-nocgroup", "--strict", "--cpu-weight",
           "10", "--", "/bin/sh", "-c", "touch '" + marker + "'"});
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr("cpu_weight"));
  EXPECT_EQ(access(marker.c_str(), F_OK), -1);
  // Without --strict the run goes on and the report says so.
  ToolRun lenient = Run({"run", "--backend", "linux-nocgroup", "--cpu-weight",
                         "10", "--json", "--", "/bin/true"});
  EXPECT_EQ(lenient.status, 0);
  EXPECT_EQ(lenient.Json()["enforcement"]["cpu_weight"]["mechanism"], "none");
}

TEST_F(CliTest, ThePosixBackendRunsOnRlimitsAlone) {
  ToolRun r = Run({"run", "--backend", "posix", "--json", "--memory", "1G",
                   "--cpu-weight", "10", "--", "/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  const json j = r.Json();
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["enforcement"]["memory_bytes"]["mechanism"], "rlimit");
  EXPECT_EQ(j["enforcement"]["cpu_weight"]["mechanism"], "none");
}

// --- Streams, environment, working directories
// ----------------------------------

TEST_F(CliTest, StdinStdoutAndStderrFiles) {
  WriteFile(Path("in"), "line one\nline two\n");
  ToolRun r = Run({"run", "--quiet", "--stdin", Path("in"), "--stdout",
                   Path("out"), "--stderr", Path("err"), "--", "/bin/sh", "-c",
                   "cat; echo to-stderr >&2"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");  // --quiet
  EXPECT_EQ(ReadFile(Path("out")), "line one\nline two\n");
  EXPECT_EQ(ReadFile(Path("err")), "to-stderr\n");
}

TEST_F(CliTest, TheEnvironmentIsOnlyWhatWasAskedFor) {
  setenv("PROCSANDBOX_CLI_A", "1", 1);
  setenv("PROCSANDBOX_CLI_B", "2", 1);
  ToolRun r = Run({"run", "--quiet", "--pass-env", "PROCSANDBOX_CLI_*", "--env",
                   "X=y=z", "--", "/usr/bin/env"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "PROCSANDBOX_CLI_A=1\nPROCSANDBOX_CLI_B=2\nX=y=z\n");
  ToolRun inherit =
      Run({"run", "--quiet", "--inherit-env", "--", "/usr/bin/env"});
  EXPECT_THAT(inherit.out, HasSubstr("PROCSANDBOX_CLI_A=1\n"));
}

TEST_F(CliTest, AWorkdirIsFreshPrivateAndRemovedAfter) {
  ASSERT_EQ(mkdir(Path("root").c_str(), 0755), 0);
  ToolRun r =
      Run({"run", "--quiet", "--workdir-root", Path("root"), "--", "/bin/sh",
           "-c", "pwd; stat -c %a .; touch f; mkdir -p d/e; ln -s / d/up"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith(Path("root") + "/run-"));
  EXPECT_THAT(r.out, HasSubstr("\n700\n"));
  // Removed, and the link was not followed.
  EXPECT_EQ(
      std::system(("test -z \"$(ls -A '" + Path("root") + "')\"").c_str()), 0);
  EXPECT_EQ(access("/bin/sh", F_OK), 0);
}

TEST_F(CliTest, UidAndGidAreDropped) {
  if (geteuid() != 0) GTEST_SKIP() << "switching user needs root";
  ToolRun r = Run({"run", "--quiet", "--uid", "65534", "--gid", "65534", "--",
                   "/bin/sh", "-c", "id -u; id -g"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "65534\n65534\n");
}

TEST_F(CliTest, TheWorkingDirectoryIsUsed) {
  ToolRun r = Run({"run", "--quiet", "--cwd", dir_, "--", "/bin/pwd"});
  EXPECT_EQ(r.out, dir_ + "\n");
}

// --- doctor, version, signals
// ---------------------------------------------------

TEST_F(CliTest, DoctorSaysWhatThisMachineCanEnforce) {
  ToolRun text = Run({"doctor"});
  EXPECT_EQ(text.status, 0);
  EXPECT_THAT(text.out, HasSubstr("backend: linux"));
  EXPECT_THAT(text.out, HasSubstr("memory_bytes"));
  EXPECT_THAT(text.out, ContainsRegex("\n  tree_kill +(yes|no) "));
  EXPECT_THAT(text.out, ContainsRegex("\n  tree_freeze +(yes|no) "));
  ToolRun r = Run({"doctor", "--json"});
  ASSERT_EQ(r.status, 0);
  json j = r.Json();
  EXPECT_EQ(j["backend"], "linux");
  EXPECT_TRUE(j["strict"].is_boolean());
  EXPECT_TRUE(j["tree_kill"]["available"].is_boolean());
  EXPECT_TRUE(j["tree_freeze"]["detail"].is_string());
  EXPECT_THAT(j["features"]["kernel"]["detail"].get<std::string>(),
              StartsWith("Linux "));
  EXPECT_EQ(j["features"]["root"]["available"].get<bool>(), geteuid() == 0);
  EXPECT_THAT(j["features"]["cgroups"]["detail"].get<std::string>(),
              StartsWith("mode "));
  for (const char* f : {"clone3", "pidfd", "close_range", "namespaces",
                        "seccomp", "no_new_privs", "cgroup_v2", "cgroup_v1"}) {
    EXPECT_TRUE(j["features"][f]["available"].is_boolean()) << f;
  }
  for (const char* l :
       {"wall_time", "cpu_time", "memory_bytes", "processes", "cpu_weight"}) {
    EXPECT_TRUE(j["limits"][l]["mechanism"].is_string()) << l;
  }
}

TEST_F(CliTest, VersionPrintsTheVersion) {
  ToolRun r = Run({"version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            std::string("procsandbox ") + PROCSANDBOX_VERSION_STRING + "\n");
}

// --- Bytes that are not UTF-8
// ---------------------------------------------------

TEST_F(CliTest, TheJsonIsUtf8WhateverBytesTheRunCarries) {
  // A program name that is not UTF-8 lands in "error": each invalid
  // sequence becomes U+FFFD, as Python's bytes.decode("utf-8", "replace").
  ToolRun r = Run({"run", "--json", "--", "no-such-\xff-program-\xe2\x82"});
  EXPECT_EQ(r.status, 127) << r.err;
  ASSERT_TRUE(json::accept(r.out)) << r.out;
  json j = r.Json();
  EXPECT_EQ(j["status"], "start_failed");
  EXPECT_THAT(j["error"].get<std::string>(),
              HasSubstr("no-such-\xEF\xBF\xBD-program-\xEF\xBF\xBD\""));
  // The line on stderr keeps the bytes as they were.
  EXPECT_THAT(r.err, HasSubstr("no-such-\xff-program-\xe2\x82"));
}

// The cgroup2 directory of this process, or empty (with the reason in
// `why`) when this test cannot make a group in it.
std::string OwnCgroup2Directory(std::string& why) {
  if (geteuid() != 0) {
    why = "moving a process between cgroups needs root";
    return "";
  }
  std::string mount;
  std::istringstream mounts(ReadFile("/proc/self/mounts"));
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string device, dir, type;
    fields >> device >> dir >> type;
    if (type == "cgroup2") mount = dir;
  }
  std::string own;
  std::istringstream groups(ReadFile("/proc/self/cgroup"));
  for (std::string line; std::getline(groups, line);) {
    if (line.rfind("0::", 0) == 0) own = line.substr(3);
  }
  if (mount.empty() || own.empty()) {
    why = "no cgroup2 hierarchy here";
    return "";
  }
  return mount + (own == "/" ? "" : own);
}

TEST_F(CliTest, DoctorJsonIsUtf8InACgroupWhoseNameIsNot) {
  std::string why;
  const std::string parent = OwnCgroup2Directory(why);
  if (parent.empty()) GTEST_SKIP() << why;
  const std::string group =
      absl::StrCat(parent, "/procsandbox-cli-\xff-", getpid());
  if (mkdir(group.c_str(), 0755) != 0) {
    GTEST_SKIP() << "cannot make a cgroup in " << parent << ": "
                 << std::strerror(errno);
  }
  SpawnOptions in_group;
  in_group.cgroup_procs = group + "/cgroup.procs";
  ToolRun r = Run({"doctor", "--json"}, "", in_group);
  // The tool removed the groups it made in it; the test removes its own.
  EXPECT_EQ(rmdir(group.c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(json::accept(r.out)) << r.out;
  EXPECT_THAT(r.Json()["features"]["cgroup_v2"]["detail"].get<std::string>(),
              HasSubstr("/procsandbox-cli-\xEF\xBF\xBD-"));
}

TEST_F(CliTest, AnEmptyValueIsRefusedNotTakenAsAbsent) {
  const std::string marker = Path("started");
  for (const char* option :
       {"--timeout",      "--grace",      "--cpu-time",  "--memory",
        "--file-size",    "--open-files", "--processes", "--cpu-weight",
        "--output-limit", "--env",        "--pass-env",  "--cwd",
        "--workdir-root", "--stdin",      "--stdout",    "--stderr",
        "--result",       "--backend",    "--uid",       "--gid"}) {
    SCOPED_TRACE(option);
    ToolRun r = Run(
        {"run", option, "", "--", "/bin/sh", "-c", "touch '" + marker + "'"});
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_THAT(r.err, StartsWith(absl::StrCat("procsandbox: ", option,
                                               " \"\": empty")));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(access(marker.c_str(), F_OK), -1) << "the program ran";
    unlink(marker.c_str());
  }
}

TEST_F(CliTest, TheProcessesLimitSaysItCountsThreads) {
  ToolRun help = Run({"run", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("--processes"));
  EXPECT_THAT(help.out, HasSubstr("processes and threads"));
}

TEST_F(CliTest, StdoutAndStderrNamingOneFileShareItAs2To1) {
  const std::vector<std::string> program = {
      "/bin/sh", "-c", "echo one; echo two >&2; echo three"};
  // Spelled differently; with and without --output-limit (forwarded).
  for (bool forwarded : {false, true}) {
    SCOPED_TRACE(forwarded ? "forwarded" : "direct");
    std::vector<std::string> args = {"run",      "--quiet",
                                     "--stdout", Path("both"),
                                     "--stderr", dir_ + "/./both"};
    if (forwarded) {
      args.insert(args.end(), {"--output-limit", "1M"});
    }
    args.push_back("--");
    args.insert(args.end(), program.begin(), program.end());
    ToolRun r = Run(args);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(ReadFile(Path("both")), "one\ntwo\nthree\n");
  }
  // An existing file reached through a symbolic link is the same file.
  ASSERT_EQ(symlink(Path("both").c_str(), Path("link").c_str()), 0);
  std::vector<std::string> args = {"run",        "--quiet",  "--stdout",
                                   Path("link"), "--stderr", Path("both"),
                                   "--"};
  args.insert(args.end(), program.begin(), program.end());
  EXPECT_EQ(Run(args).status, 0);
  EXPECT_EQ(ReadFile(Path("both")), "one\ntwo\nthree\n");
}

TEST_F(CliTest, AResultFileThatIsAlsoAStreamIsRefused) {
  const std::string marker = Path("started");
  WriteFile(Path("in"), "input\n");
  ASSERT_EQ(symlink(Path("in").c_str(), Path("link").c_str()), 0);
  const std::vector<std::vector<std::string>> cases = {
      {"--stdout", Path("x"), "--result", Path("x")},
      {"--stderr", Path("x"), "--result", dir_ + "/./x"},
      {"--stdin", Path("in"), "--result", Path("link")},
  };
  for (const std::vector<std::string>& options : cases) {
    SCOPED_TRACE(options[0]);
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"--", "/bin/sh", "-c", "touch '" + marker + "'"});
    ToolRun r = Run(args);
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--result"));
    EXPECT_THAT(r.err, HasSubstr(options[0]));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(access(marker.c_str(), F_OK), -1) << "the program ran";
  }
  EXPECT_EQ(ReadFile(Path("in")), "input\n");
}

TEST_F(CliTest, AFileTheToolCannotOpenStopsTheRunBeforeItStarts) {
  const std::string marker = Path("started");
  // A symbolic link loop fails for root too.
  ASSERT_EQ(symlink("loop", Path("loop").c_str()), 0);
  for (const std::vector<std::string>& options :
       std::vector<std::vector<std::string>>{
           {"--result"}, {"--output-limit", "1K", "--stdout"}}) {
    SCOPED_TRACE(options[0]);
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {Path("loop"), "--", "/bin/sh", "-c",
                             "touch '" + marker + "'"});
    ToolRun r = Run(args);
    EXPECT_EQ(r.status, 125);
    EXPECT_THAT(r.err, StartsWith("procsandbox: "));
    EXPECT_THAT(r.err, HasSubstr(Path("loop")));
    EXPECT_THAT(r.err, HasSubstr("too many levels of symbolic links (ELOOP)"));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(access(marker.c_str(), F_OK), -1) << "the program ran";
  }
}

TEST_F(CliTest, AMissingDirectoryForTheToolsOwnFileIs125NotTheProgram127) {
  // ENOENT is NotFound, as for a program not found (127); here it is the
  // tool's own file, so the tool failed. (A link to a missing directory
  // passes the options' checks and fails in the open.)
  ASSERT_EQ(symlink("no/such/r.json", Path("r.json").c_str()), 0);
  ToolRun r = Run({"run", "--result", Path("r.json"), "--", "/bin/true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr("no such file or directory (ENOENT)"));
}

TEST_F(CliTest, TheResultFileIsEmptiedBeforeTheProgramStarts) {
  // A result left by an earlier run is never taken for this one's.
  WriteFile(Path("r.json"), "{\"status\": \"exited\"}\n");
  ToolRun r = Run({"run", "--quiet", "--result", Path("r.json"), "--",
                   "/bin/sh", "-c", "wc -c < '" + Path("r.json") + "'"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  EXPECT_EQ(json::parse(ReadFile(Path("r.json")))["status"], "exited");
}

TEST_F(CliTest, OutputTheToolCannotWriteIs125WithItsCause) {
  const std::string no_space = "no space left on device (ENOSPC)";
  // Forwarded output (--output-limit).
  ToolRun forwarded = Run({"run", "--quiet", "--output-limit", "1M", "--stdout",
                           "/dev/full", "--", "/bin/echo", "hi"});
  EXPECT_EQ(forwarded.status, 125);
  EXPECT_THAT(forwarded.err, HasSubstr("/dev/full"));
  EXPECT_THAT(forwarded.err, HasSubstr(no_space));
  // The JSON on stdout, and in a file.
  ToolRun json_out =
      Run({"run", "--quiet", "--json", "--", "/bin/true"}, "/dev/full");
  EXPECT_EQ(json_out.status, 125);
  EXPECT_THAT(json_out.err, HasSubstr(no_space));
  ToolRun result =
      Run({"run", "--quiet", "--result", "/dev/full", "--", "/bin/true"});
  EXPECT_EQ(result.status, 125);
  EXPECT_THAT(result.err, HasSubstr("/dev/full"));
  EXPECT_THAT(result.err, HasSubstr(no_space));
  // doctor's and version's too.
  EXPECT_EQ(Run({"doctor", "--json"}, "/dev/full").status, 125);
  EXPECT_EQ(Run({"doctor"}, "/dev/full").status, 125);
  EXPECT_EQ(Run({"version"}, "/dev/full").status, 125);
}

TEST_F(CliTest, ALimitNothingEnforcesIsSaidOnStderr) {
  ToolRun r = Run({"run", "--backend", "linux-nocgroup", "--cpu-weight", "10",
                   "--", "/bin/true"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("procsandbox: limit cpu_weight is not "
                               "enforced: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  ToolRun quiet = Run({"run", "--quiet", "--backend", "linux-nocgroup",
                       "--cpu-weight", "10", "--", "/bin/true"});
  EXPECT_EQ(quiet.err, "");
}

// The parents of the manager directories doctor made (one per hierarchy).
std::vector<std::string> ManagerParents(const json& doctor) {
  std::vector<std::string> parents;
  for (const char* version : {"v2", "v1"}) {
    const json& v = doctor["cgroup"][version];
    if (!v.is_object() || !v["available"].get<bool>()) continue;
    const std::string detail = v["detail"].get<std::string>();
    for (std::size_t at = detail.find("/procsandbox-"); at != std::string::npos;
         at = detail.find("/procsandbox-", at + 1)) {
      const std::size_t from = detail.rfind(", ", at);
      parents.push_back(
          detail.substr(from == std::string::npos ? 0 : from + 2,
                        at - (from == std::string::npos ? 0 : from + 2)));
    }
  }
  return parents;
}

// The manager directories under `parents` made by process `pid`.
std::vector<std::string> DirectoriesOf(const std::vector<std::string>& parents,
                                       pid_t pid) {
  std::vector<std::string> found;
  const std::string mark = absl::StrCat("-", pid, "-");
  for (const std::string& parent : parents) {
    DIR* dir = opendir(parent.c_str());
    if (dir == nullptr) continue;
    while (const dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name.rfind("procsandbox-", 0) == 0 &&
          name.find(mark) != std::string::npos) {
        found.push_back(parent + "/" + name);
      }
    }
    closedir(dir);
  }
  return found;
}

TEST_F(CliTest, OutOfDescriptorsARunFailsNamingEmfileOrRunsUnweakened) {
  ToolRun doctor = Run({"doctor", "--json"});
  ASSERT_TRUE(json::accept(doctor.out)) << doctor.err;
  const std::string preferred =
      doctor.Json()["limits"]["memory_bytes"]["mechanism"].get<std::string>();
  const std::vector<std::string> parents = ManagerParents(doctor.Json());
  // From far too few descriptors to enough: each run either fails with a
  // message naming EMFILE (exit 125, nothing started, nothing left) or runs
  // with the memory limit on the mechanism this host offers — never on a
  // weaker one it fell back to. 8/16/24/32 are the issue's; every step
  // between them finds where the tool's needs end.
  int ran = 0;
  for (rlim_t n = 8; n <= 40; ++n) {
    SCOPED_TRACE(absl::StrCat("RLIMIT_NOFILE ", n));
    SpawnOptions options;
    options.open_files = n;
    const std::string out = Path(".out"), err = Path(".err");
    const std::string result = Path(absl::StrCat("result-", n));
    const pid_t pid =
        Spawn({"run", "--result", result, "--memory", "64M", "--output-limit",
               "1K", "--", kHelper, "print", "hi"},
              out, err, options);
    ASSERT_GT(pid, 0);
    const int status = WaitExit(pid);
    const std::string text = ReadFile(result), errors = ReadFile(err);
    EXPECT_THAT(DirectoriesOf(parents, pid), ::testing::IsEmpty());
    if (status != 0) {
      EXPECT_EQ(status, 125) << errors;
      EXPECT_THAT(errors, ContainsRegex("EMFILE|[Tt]oo many open files"));
      if (json::accept(text)) {
        EXPECT_EQ(json::parse(text)["status"], "start_failed") << text;
      }
      continue;
    }
    ++ran;
    ASSERT_TRUE(json::accept(text)) << text;
    const json j = json::parse(text);
    EXPECT_EQ(j["status"], "exited");
    EXPECT_EQ(ReadFile(out), "hi\n");
    EXPECT_EQ(j["enforcement"]["memory_bytes"]["mechanism"], preferred)
        << j["enforcement"].dump();
  }
  // 40 descriptors are enough for one run (30 on a hybrid host, measured).
  EXPECT_GT(ran, 0);
}

// Until `path` holds `text` (a line the program wrote); false after a guard
// against a hang.
bool WaitForText(const std::string& path, const std::string& text) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (ReadFile(path).find(text) == std::string::npos) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

TEST_F(CliTest, EveryCatchableEndingSignalReachesTheProgram) {
  // What a wrapper such as timeout(1) or tini passes on: the program ends
  // (or not) as it decides, and the tool reports it.
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE,
                  SIGALRM, SIGVTALRM, SIGPROF}) {
    SCOPED_TRACE(strsignal(sig));
    const std::string out = Path("out"), result = Path("r.json");
    unlink(out.c_str());
    unlink(result.c_str());
    const pid_t tool =
        Spawn({"run", "--quiet", "--result", result, "--stdout", out, "--",
               "/bin/sh", "-c", "echo $$; exec sleep 30"},
              Path(".out"), Path(".err"));
    ASSERT_GT(tool, 0);
    ASSERT_TRUE(WaitForText(out, "\n")) << ReadFile(Path(".err"));
    ASSERT_EQ(kill(tool, sig), 0);
    const int status = WaitExit(tool);
    if (status == 128 + sig && !json::accept(ReadFile(result))) {
      // The tool died of it and left its program running.
      kill(std::stoi(ReadFile(out)), SIGKILL);
    }
    EXPECT_EQ(status, 128 + sig);
    ASSERT_TRUE(json::accept(ReadFile(result))) << "no result";
    json j = json::parse(ReadFile(result));
    EXPECT_EQ(j["status"], "cancelled");
    EXPECT_EQ(j["signal"], sig);
  }
}

TEST_F(CliTest, ASecondTermKillsAProgramThatSurvivedTheFirst) {
  const std::string out = Path("out"), result = Path("r.json");
  const pid_t tool = Spawn(
      {"run", "--quiet", "--result", result, "--stdout", out, "--", "/bin/sh",
       "-c", "trap 'echo caught' TERM; echo $$; while :; do sleep 1; done"},
      Path(".out"), Path(".err"));
  ASSERT_GT(tool, 0);
  ASSERT_TRUE(WaitForText(out, "\n")) << ReadFile(Path(".err"));
  ASSERT_EQ(kill(tool, SIGTERM), 0);
  ASSERT_TRUE(WaitForText(out, "caught\n"));
  ASSERT_EQ(kill(tool, SIGTERM), 0);
  const int status = WaitExit(tool, absl::Seconds(20));
  if (status != 128 + SIGKILL) kill(-std::stoi(ReadFile(out)), SIGKILL);
  EXPECT_EQ(status, 128 + SIGKILL);
  json j = json::parse(ReadFile(result));
  EXPECT_EQ(j["status"], "cancelled");
  EXPECT_EQ(j["signal"], SIGKILL);
  EXPECT_THAT(Run({"run", "--help"}).out,
              HasSubstr("a second INT or TERM kills its whole tree"));
}

bool IsEmptyDirectory(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return false;
  bool empty = true;
  while (const dirent* e = readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
    }
  }
  closedir(dir);
  return empty;
}

// The kernel function process `pid` sleeps in ("wait_for_partner": opening
// a FIFO whose other end nobody opened yet).
std::string SleepingIn(pid_t pid) {
  return ReadFile(absl::StrCat("/proc/", pid, "/wchan"));
}

// Waiting for a FIFO's other end: blocked in open(2), or (the library's
// write end) between non-blocking tries.
bool WaitingForAFifo(pid_t pid) {
  const std::string in = SleepingIn(pid);
  return in == "wait_for_partner" || in == "do_nanosleep" ||
         in == "hrtimer_nanosleep";
}

TEST_F(CliTest, ATermDuringSetupEndsTheToolAndLeavesNothing) {
  // Opening a FIFO nobody opened from the other side blocks: in the tool
  // (--result, a forwarded --stdout) or in the library (--stdin, --stdout).
  const std::vector<std::vector<std::string>> cases = {
      {"--result"},
      {"--output-limit", "1K", "--stdout"},
      {"--stdin"},
      {"--stdout"}};
  const std::string fifo = Path("fifo"), root = Path("root");
  const std::string marker = Path("started");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
  for (const std::vector<std::string>& options : cases) {
    SCOPED_TRACE(absl::StrJoin(options, " "));
    std::vector<std::string> args = {"run", "--workdir-root", root};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {fifo, "--", "/bin/sh", "-c",
                             "touch '" + marker + "'; exec sleep 30"});
    const pid_t tool = Spawn(args, Path(".out"), Path(".err"));
    ASSERT_GT(tool, 0);
    // Until it blocks in the open (or, should that open not block, until
    // the program runs).
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!WaitingForAFifo(tool) && access(marker.c_str(), F_OK) != 0 &&
           absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_EQ(kill(tool, SIGTERM), 0);
    EXPECT_EQ(WaitExit(tool, absl::Seconds(20)), 128 + SIGTERM);
    EXPECT_THAT(ReadFile(Path(".err")), HasSubstr("SIGTERM"));
    EXPECT_TRUE(IsEmptyDirectory(root)) << "a workdir is left";
    unlink(marker.c_str());
  }
}

}  // namespace
}  // namespace procsandbox_cli_test

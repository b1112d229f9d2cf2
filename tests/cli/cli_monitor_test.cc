// `procsandbox run --monitor/--timeline` and the status line: the samples
// in the result, the timeline written while the program runs, the live
// line on a terminal (a pseudo-terminal here) and never elsewhere.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace procsandbox_cli_test {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEraseLine[] = "\r\033[K";

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// Guards a wait on the tool against a hang: far beyond what it needs.
constexpr absl::Duration kGuard = absl::Seconds(30);

// Every line of a timeline, parsed; a line that is not JSON fails the test.
std::vector<json> Records(const std::string& text) {
  std::vector<json> records;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "a cut last line";
  for (const absl::string_view line :
       absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    records.push_back(json::parse(line, nullptr, false));
    EXPECT_FALSE(records.back().is_discarded()) << line;
  }
  return records;
}

TEST_F(CliTest, TimelineOpensWithTheStartAndClosesWithTheOutcome) {
  ToolRun r = Run({"run", "--timeline", Path("run.jsonl"), "--memory", "64M",
                   "--json", "--", kHelper, "exit", "3"});
  ASSERT_EQ(r.status, 3) << r.err;
  const std::vector<json> records = Records(ReadFile(Path("run.jsonl")));
  ASSERT_GE(records.size(), 2u);
  const json& start = records.front();
  EXPECT_EQ(start["type"], "start");
  EXPECT_EQ(start["version"], 1);
  EXPECT_EQ(start["program"], kHelper);
  EXPECT_EQ(start["pid"], r.Json()["pid"]);
  EXPECT_EQ(start["interval_ms"], 2000) << "the default interval";
  EXPECT_EQ(start["limits"]["memory_bytes"], 64 * 1024 * 1024);
  const json& end = records.back();
  EXPECT_EQ(end["type"], "end");
  EXPECT_EQ(end["status"], "exited");
  EXPECT_EQ(end["exit_code"], 3);
  EXPECT_EQ(end["signal"], nullptr);
  EXPECT_EQ(end["wall_time_s"], r.Json()["wall_time_s"]);
  EXPECT_EQ(end["peak_memory_bytes"], r.Json()["peak_memory_bytes"]);
  for (std::size_t i = 1; i + 1 < records.size(); ++i) {
    EXPECT_EQ(records[i]["type"], "sample") << records[i];
  }
}

TEST_F(CliTest, TimelineOfATimedOutRunEndsTimedOut) {
  ToolRun r = Run({"run", "--timeline", Path("run.jsonl"), "--monitor", "50ms",
                   "--timeout", "100ms", "--", kHelper, "sleep-forever"});
  ASSERT_EQ(r.status, 124) << r.err;
  const std::vector<json> records = Records(ReadFile(Path("run.jsonl")));
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records.front()["interval_ms"], 50);
  EXPECT_EQ(records.front()["limits"]["wall_time_s"], 0.1);
  EXPECT_EQ(records.back()["status"], "timed_out");
}

TEST_F(CliTest, ATimelineThatCannotBeOpenedStopsTheRunBeforeItStarts) {
  // procfs takes no new file, not even from root.
  const std::string path = "/proc/procsandbox-timeline";
  ToolRun r = Run(
      {"run", "--timeline", path, "--json", "--", kHelper, "print", "started"});
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("open the timeline file \"", path,
                                            "\": no such file or directory "
                                            "(ENOENT)")));
  EXPECT_THAT(r.out, Not(HasSubstr("started")));
  EXPECT_EQ(r.Json()["status"], "start_failed");
  EXPECT_EQ(r.Json()["pid"], nullptr);
}

TEST_F(CliTest, ATimelineThatCannotBeWrittenIs125WithTheCause) {
  ToolRun r = Run(
      {"run", "--timeline", "/dev/full", "--json", "--", kHelper, "exit", "0"});
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr("write the timeline to \"/dev/full\": "));
  EXPECT_THAT(r.Json()["error"].get<std::string>(),
              HasSubstr("write the timeline to \"/dev/full\""));
}

TEST_F(CliTest, TimelineAndMonitorValuesAreChecked) {
  for (const auto& [args, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--monitor", "0s"}, "--monitor \"0s\": below 1ms"},
           {{"--monitor", "often"}, "--monitor \"often\": not a duration"},
           {{"--timeline", "/nonexistent/run.jsonl"},
            "--timeline \"/nonexistent/run.jsonl\": directory \"/nonexistent\" "
            "does not exist"},
           {{"--timeline", "/tmp"}, "--timeline \"/tmp\": a directory"},
           {{"--timeline", Path("same"), "--result", Path("same")},
            absl::StrCat("--timeline \"", Path("same"),
                         "\": the same file as --result")}}) {
    std::vector<std::string> line = {"run"};
    line.insert(line.end(), args.begin(), args.end());
    line.insert(line.end(), {"--", kHelper, "print", "started"});
    ToolRun r = Run(line);
    EXPECT_EQ(r.status, 125) << message;
    EXPECT_THAT(r.err, HasSubstr(message));
    EXPECT_THAT(r.out, Not(HasSubstr("started")));
  }
}

TEST_F(CliTest, ResultHasAnEmptyTimelineWithoutMonitor) {
  ToolRun r = Run({"run", "--json", "--", kHelper, "exit", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.Json()["samples"], json::array());
  ToolRun failed = Run({"run", "--json", "--", "/nonexistent/program"});
  EXPECT_EQ(failed.Json()["samples"], json::array());
}

TEST_F(CliTest, StderrThatIsNoTerminalGetsNoStatusLine) {
  ToolRun r = Run(
      {"run", "--monitor", "5ms", "--json", "--", kHelper, "burn-ms", "100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("\r")));
  EXPECT_THAT(r.err, Not(HasSubstr("\033[K")));
  EXPECT_THAT(r.err, HasSubstr("procsandbox: exited 0 in "));
}

TEST_F(CliTest, ResultCarriesTheSamplesWithEveryField) {
  ToolRun r = Run({"run", "--monitor", "10ms", "--timeline", Path("run.jsonl"),
                   "--json", "--", kHelper, "burn-ms", "200"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json result = r.Json();
  const json& samples = result["samples"];
  ASSERT_TRUE(samples.is_array());
  ASSERT_GE(samples.size(), 1u) << "at least the sample at the end";
  int64_t previous_ms = -1;
  for (const json& s : samples) {
    for (const char* field :
         {"elapsed_ms", "user_ms", "system_ms", "memory_bytes",
          "peak_memory_bytes", "processes", "stdout_bytes", "stderr_bytes"}) {
      EXPECT_TRUE(s[field].is_number_integer()) << field << " in " << s;
      EXPECT_GE(s[field].get<int64_t>(), 0) << field << " in " << s;
    }
    EXPECT_TRUE(s["cpu_percent"].is_number()) << s;
    EXPECT_TRUE(s["time"].is_string()) << s;
    EXPECT_THAT(s["time"].get<std::string>(), EndsWith("Z"));
    EXPECT_GE(s["elapsed_ms"].get<int64_t>(), previous_ms) << "in order";
    previous_ms = s["elapsed_ms"].get<int64_t>();
  }
  // The last is taken at the end, with the outcome's CPU.
  const json& last = samples.back();
  EXPECT_EQ(last["state"], "ended");
  const double cpu_ms = (result["user_time_s"].get<double>() +
                         result["system_time_s"].get<double>()) *
                        1000;
  EXPECT_NEAR(last["user_ms"].get<double>() + last["system_ms"].get<double>(),
              cpu_ms, 2);
  // The timeline file got the same samples, one record each.
  std::vector<json> timeline_samples;
  for (json& record : Records(ReadFile(Path("run.jsonl")))) {
    if (record["type"] != "sample") continue;
    record.erase("type");
    timeline_samples.push_back(record);
  }
  EXPECT_EQ(json(timeline_samples), samples);
}

TEST_F(CliTest, TimelineIsWrittenWhileTheProgramRuns) {
  // The program reads its stdin, a FIFO, to the end: it runs until the
  // test has seen a sample in the file, then ends when the FIFO closes.
  ASSERT_EQ(mkfifo(Path("in").c_str(), 0600), 0);
  SpawnOptions options;
  options.stdin_path = Path("in");
  const pid_t pid =
      Spawn({"run", "--monitor", "10ms", "--timeline", Path("run.jsonl"),
             "--quiet", "--", kHelper, "count-stdin"},
            Path(".out"), Path(".err"), options);
  ASSERT_GT(pid, 0);
  const int in = open(Path("in").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(in, 0);
  std::vector<json> seen;
  const absl::Time give_up = absl::Now() + kGuard;
  while (absl::Now() < give_up) {
    seen = Records(ReadFile(Path("run.jsonl")));
    if (seen.size() >= 2) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(write(in, "abc", 3), 3);
  close(in);
  EXPECT_EQ(WaitExit(pid), 0) << ReadFile(Path(".err"));
  ASSERT_GE(seen.size(), 2u) << "no sample while it ran";
  EXPECT_EQ(seen[0]["type"], "start");
  EXPECT_EQ(seen[1]["type"], "sample");
  EXPECT_EQ(seen[1]["state"], "running");
  EXPECT_EQ(ReadFile(Path(".out")), "3\n");
  const std::vector<json> all = Records(ReadFile(Path("run.jsonl")));
  EXPECT_EQ(all.back()["type"], "end");
  EXPECT_EQ(all.back()["status"], "exited");
}

// The tool with stderr on a pseudo-terminal, stdin on a pipe the test
// holds: what the terminal showed, and the exit status.
class StatusLineTest : public CliTest {
 protected:
  // Runs `args`; once `updates` status lines were drawn, closes the
  // program's stdin (it reads it to the end) and reads the rest.
  ToolRun RunOnTerminal(std::vector<std::string> args, std::size_t updates) {
    args.insert(args.begin(), kTool);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int input[2];
    EXPECT_EQ(pipe2(input, O_CLOEXEC), 0);
    const std::string out = Path(".out");
    int terminal = -1;
    struct winsize size = {};
    size.ws_col = 200;
    size.ws_row = 24;
    // Only async-signal-safe calls in the child.
    const pid_t pid = forkpty(&terminal, nullptr, nullptr, &size);
    if (pid == 0) {
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || dup2(input[0], 0) < 0 || dup2(o, 1) < 0) _exit(122);
      execve(kTool, argv.data(), environ);
      _exit(127);
    }
    close(input[0]);
    ToolRun run;
    EXPECT_GT(pid, 0) << "forkpty: " << std::strerror(errno);
    if (pid <= 0) return run;
    const absl::Time give_up = absl::Now() + kGuard;
    bool closed = false;
    char buffer[4096];
    while (absl::Now() < give_up) {
      if (!closed && Count(run.err, kEraseLine) >= updates) {
        close(input[1]);
        closed = true;
      }
      struct pollfd ready = {terminal, POLLIN, 0};
      if (poll(&ready, 1, 100) <= 0) continue;
      const ssize_t n = read(terminal, buffer, sizeof buffer);
      if (n <= 0) break;  // EIO: the last holder of the terminal is gone
      run.err.append(buffer, static_cast<std::size_t>(n));
    }
    if (!closed) close(input[1]);
    close(terminal);
    run.status = WaitExit(pid);
    run.out = ReadFile(out);
    return run;
  }
};

TEST_F(StatusLineTest, IsRedrawnInPlaceAndErasedBeforeTheSummary) {
  ToolRun r = RunOnTerminal({"run", "--monitor", "10ms", "--memory", "64M",
                             "--", kHelper, "count-stdin"},
                            3);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
  // Updates: each back at the start of the line, erased, redrawn; no
  // newline between them.
  const std::string update = absl::StrCat(kEraseLine, "procsandbox: ");
  EXPECT_GE(Count(r.err, update), 3u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("mem "));
  EXPECT_THAT(r.err, HasSubstr(" / 64 MiB  "));
  EXPECT_THAT(r.err, HasSubstr(" process"));
  EXPECT_THAT(r.err, HasSubstr("cpu "));
  // The end: the line erased, then the summary on a clean line, and
  // nothing drawn after it.
  const std::size_t summary = r.err.find("procsandbox: exited 0 in ");
  ASSERT_NE(summary, std::string::npos) << r.err;
  EXPECT_EQ(r.err.substr(summary - 4, 4), kEraseLine) << r.err;
  EXPECT_EQ(r.err.find(kEraseLine, summary), std::string::npos) << r.err;
  const std::string before = r.err.substr(0, summary - 4);
  EXPECT_EQ(before.find('\n'), std::string::npos)
      << "status updates stay on one line: " << before;
}

TEST_F(StatusLineTest, ForwardedOutputStartsOnAnErasedLine) {
  ToolRun r =
      RunOnTerminal({"run", "--monitor", "10ms", "--output-limit", "1M", "--",
                     kHelper, "count-stdin", "print-stderr", "hello"},
                    3);
  ASSERT_EQ(r.status, 0) << r.err;
  // The terminal turns "\n" into "\r\n".
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(kEraseLine, "hello\r\n"))) << r.err;
}

TEST_F(StatusLineTest, SamplesForTheLineAloneWithoutMonitor) {
  // Once a second: the test waits for one update, not for time.
  ToolRun r = RunOnTerminal({"run", "--json", "--", kHelper, "count-stdin"}, 1);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GE(Count(r.err, absl::StrCat(kEraseLine, "procsandbox: ")), 1u);
  // Those samples were not asked for: not in the result.
  const json result = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(result["samples"], json::array());
}

TEST_F(StatusLineTest, QuietDrawsNothing) {
  ToolRun r = RunOnTerminal(
      {"run", "--quiet", "--monitor", "5ms", "--", kHelper, "burn-ms", "100"},
      0);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace procsandbox_cli_test

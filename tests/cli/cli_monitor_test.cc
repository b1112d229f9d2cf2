// `procsandbox run --monitor/--timeline` and the status line: the samples
// in the result, the timeline written while the program runs, the live
// line on a terminal (a pseudo-terminal here) and never elsewhere.
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

using ::testing::HasSubstr;
using ::testing::Not;

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

}  // namespace
}  // namespace procsandbox_cli_test

// `procsandbox run --verify`: the limits read back right after the start,
// on this host's OS manager, in the JSON result and on stderr.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace procsandbox_cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The check of `item` in a result's verification, or null.
json CheckOf(const json& verification, const std::string& item) {
  for (const json& check : verification["checks"]) {
    if (check["item"] == item) return check;
  }
  return nullptr;
}

class CliVerifyTest : public CliTest {
 protected:
  // Runs the tool with `args`; its program (count-stdin) reads a FIFO that
  // stays open until the tool's stderr holds `wait_for` (what --verify
  // found, said while the program still runs), so the reading never races
  // the program's end.
  ToolRun RunHeld(std::vector<std::string> args, const std::string& wait_for) {
    const std::string fifo = Path("stdin");
    EXPECT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    SpawnOptions options;
    options.stdin_path = fifo;
    ToolRun run;
    const pid_t pid =
        Spawn(std::move(args), Path(".out"), Path(".err"), options);
    if (pid <= 0) return run;
    // Opens once the tool's process has opened the other end.
    const int writer = open(fifo.c_str(), O_WRONLY);
    EXPECT_GE(writer, 0);
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!absl::StrContains(ReadFile(Path(".err")), wait_for) &&
           absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_THAT(ReadFile(Path(".err")), HasSubstr(wait_for));
    close(writer);
    run.status = WaitExit(pid);
    run.out = ReadFile(Path(".out"));
    run.err = ReadFile(Path(".err"));
    return run;
  }

  std::vector<std::string> WithLimits(const std::string& verify) {
    // The program's own output (its count) goes to a file: stdout is the
    // result.
    return {"run",       verify,         "--json", "--stdout",
            Path("out"), "--memory",     "64M",    "--processes",
            "64",        "--open-files", "256",    "--file-size",
            "1M",        "--cpu-time",   "60s",    "--timeout",
            "60s",       "--",           kHelper,  "count-stdin"};
  }
};

TEST_F(CliVerifyTest, ARunWithLimitsVerifiesWithoutMismatch) {
  ToolRun r = RunHeld(WithLimits("--verify"), "procsandbox: verified: ");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = r.Json();
  const json& v = j["verification"];
  ASSERT_TRUE(v.is_object()) << j.dump(2);
  EXPECT_EQ(v["policy"], "report");
  EXPECT_EQ(v["ok"], true) << v.dump(2);
  EXPECT_EQ(v["refused"], false);
  EXPECT_EQ(v["error"], nullptr);
  EXPECT_THAT(v["summary"].get<std::string>(), StartsWith("verified: "));
  for (const json& check : v["checks"]) {
    EXPECT_NE(check["result"], "mismatch") << check.dump();
  }
  // Each limit this host carries (the run's enforcement says how) is read
  // back and matches; cpu_time over a cgroup and wall_time are the
  // library's own (unverified), never a match.
  for (const char* limit : {"memory_bytes", "processes", "open_files",
                            "file_size_bytes", "cpu_time"}) {
    SCOPED_TRACE(limit);
    const json check = CheckOf(v, limit);
    ASSERT_TRUE(check.is_object()) << v.dump(2);
    const std::string mechanism =
        j["enforcement"][limit]["mechanism"].get<std::string>();
    if (mechanism == "none") {
      EXPECT_EQ(check["result"], "not_enforced");
    } else if (check["result"] == "unverified") {
      EXPECT_EQ(std::string(limit), "cpu_time") << check.dump();
      EXPECT_TRUE(check["detail"].is_string()) << check.dump();
    } else {
      EXPECT_EQ(check["result"], "match") << check.dump();
      EXPECT_TRUE(check["found"].is_string()) << check.dump();
      EXPECT_TRUE(check["source"].is_string()) << check.dump();
    }
  }
  EXPECT_EQ(CheckOf(v, "memory_bytes")["asked"], "64 MiB");
  EXPECT_EQ(CheckOf(v, "wall_time")["result"], "unverified");
  // The stderr line is the summary.
  EXPECT_THAT(r.err,
              HasSubstr("procsandbox: " + v["summary"].get<std::string>()));
}

TEST_F(CliVerifyTest, MemoryInACgroupIsReadFromItsGroup) {
  const std::string mechanism = MechanismOf("memory_bytes");
  if (!absl::StartsWith(mechanism, "cgroup")) {
    GTEST_SKIP() << "memory is not held by a cgroup here: " << mechanism;
  }
  ToolRun r = RunHeld(WithLimits("--verify"), "procsandbox: verified: ");
  ASSERT_EQ(r.status, 0) << r.err;
  const json check = CheckOf(r.Json()["verification"], "memory_bytes");
  EXPECT_EQ(check["result"], "match") << check.dump();
  EXPECT_TRUE(check["found"].is_string()) << check.dump();
  // The group's own limit file.
  EXPECT_THAT(check["source"].get<std::string>(),
              ::testing::ContainsRegex("memory\\.(limit_in_bytes|max)$"));
}

TEST_F(CliVerifyTest, RefuseLetsARunWhoseLimitsHoldGoOn) {
  ToolRun r = RunHeld(WithLimits("--verify=refuse"), "procsandbox: verified: ");
  ASSERT_EQ(r.status, 0) << r.err;
  const json v = r.Json()["verification"];
  EXPECT_EQ(v["policy"], "refuse");
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["refused"], false);
  EXPECT_EQ(r.Json()["status"], "exited");
  EXPECT_THAT(r.err, Not(HasSubstr("killing")));
}

TEST_F(CliVerifyTest, RefuseNeverRefusesAProgramThatAlreadyEnded) {
  // It may end before its limits are read, or not: either way it is not
  // stopped, and its exit status is its own.
  ToolRun r = Run({"run", "--verify=refuse", "--json", "--memory", "64M", "--",
                   kHelper, "exit", "7"});
  EXPECT_EQ(r.status, 7) << r.err;
  const json v = r.Json()["verification"];
  EXPECT_EQ(v["refused"], false) << v.dump(2);
  if (v["error"].is_string()) {
    EXPECT_THAT(v["error"].get<std::string>(), HasSubstr("ended"));
    EXPECT_EQ(v["ok"], nullptr);
  } else {
    EXPECT_EQ(v["ok"], true) << v.dump(2);
  }
}

TEST_F(CliVerifyTest, WithoutVerifyTheFieldIsNullAndNothingIsSaid) {
  ToolRun r =
      Run({"run", "--json", "--memory", "64M", "--", kHelper, "exit", "3"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_TRUE(r.Json().contains("verification"));
  EXPECT_EQ(r.Json()["verification"], nullptr);
  EXPECT_THAT(r.err, Not(HasSubstr("verified")));
}

TEST_F(CliVerifyTest, QuietSaysNothingButTheResultHasIt) {
  ToolRun r = Run({"run", "--quiet", "--verify", "--json", "--memory", "64M",
                   "--", kHelper, "exit", "0"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(r.Json()["verification"].is_object());
}

TEST_F(CliVerifyTest, AnUnknownPolicyIs125NamingIt) {
  ToolRun r = Run({"run", "--verify=maybe", "--", kHelper, "exit", "0"});
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr("--verify \"maybe\""));
}

}  // namespace
}  // namespace procsandbox_cli_test

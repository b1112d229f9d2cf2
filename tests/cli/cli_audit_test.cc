// procsandbox run --audit: one record per run in the audit schema
// (docs/AUDIT.md), whole lines from parallel invocations, and a failed write
// that never changes the exit status.
#include <pwd.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace procsandbox_cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::vector<json> Records(const std::string& path) {
  std::vector<json> records;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    records.push_back(json::parse(line));
  }
  return records;
}

class CliAuditTest : public CliTest {};

TEST_F(CliAuditTest, ARunAppendsOneRecordWithItsFields) {
  const std::string log = Path("audit.jsonl");
  ToolRun r = Run({"run", "--audit", log, "--principal", "ci-job-7", "--json",
                   "--timeout", "5s", "--env", "GREETING=hi", "--", "/bin/sh",
                   "-c", "exit 3"});
  ASSERT_EQ(r.status, 3) << r.err;
  EXPECT_TRUE(r.Json()["audit_error"].is_null());
  std::vector<json> records = Records(log);
  ASSERT_THAT(records, SizeIs(1));
  const json& a = records[0];
  EXPECT_EQ(a["schema"], 1);
  EXPECT_THAT(a["run_id"].get<std::string>(), StartsWith("cli-"));
  EXPECT_EQ(a["principal"], "ci-job-7");
  EXPECT_EQ(a["program"], "/bin/sh");
  EXPECT_EQ(a["argv"], json::array({"/bin/sh", "-c", "exit 3"}));
  EXPECT_EQ(a["env_names"], json::array({"GREETING"}));
  EXPECT_EQ(a["limits_asked"]["wall_time_ms"], 5000);
  EXPECT_EQ(a["status"], "failed");
  EXPECT_EQ(a["outcome"]["reason"], "exited");
  EXPECT_EQ(a["outcome"]["exit_code"], 3);
  EXPECT_EQ(a["pid"], r.Json()["pid"]);
  EXPECT_TRUE(a["error"].is_null());
  EXPECT_TRUE(a["started_at"].is_string());
  EXPECT_TRUE(a["enforcement"]["limits"].is_array());
  EXPECT_GE(a["duration_ms"].get<double>(), 0.0);
  // The log is private and the value of a variable is not in it.
  EXPECT_THAT(ReadFile(log), ::testing::Not(HasSubstr("GREETING=hi")));
}

TEST_F(CliAuditTest, ThePrincipalDefaultsToTheUsersName) {
  const std::string log = Path("audit.jsonl");
  ToolRun r = Run({"run", "--audit", log, "--", "/bin/true"});
  ASSERT_EQ(r.status, 0) << r.err;
  const struct passwd* pw = getpwuid(getuid());
  ASSERT_NE(pw, nullptr);
  std::vector<json> records = Records(log);
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0]["principal"], pw->pw_name);
}

TEST_F(CliAuditTest, ARunThatDidNotStartIsRecorded) {
  const std::string log = Path("audit.jsonl");
  ToolRun r =
      Run({"run", "--audit", log, "--json", "--", "no-such-program-here"});
  EXPECT_EQ(r.status, 127);
  std::vector<json> records = Records(log);
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0]["status"], "error");
  EXPECT_EQ(records[0]["error_code"], "NOT_FOUND");
  EXPECT_THAT(records[0]["error"].get<std::string>(),
              HasSubstr("no-such-program-here"));
  EXPECT_TRUE(records[0]["pid"].is_null());
  EXPECT_TRUE(records[0]["outcome"].is_null());
  EXPECT_TRUE(records[0]["started_at"].is_null());
}

TEST_F(CliAuditTest, AFailedAuditWriteKeepsTheExitStatus) {
  // A file nobody may open: the tool runs as another user.
  const std::string locked = Path("locked.jsonl");
  WriteFile(locked, "");
  ASSERT_EQ(chmod(locked.c_str(), 0600), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  if (getuid() != 0) GTEST_SKIP() << "needs root to run the tool as nobody";
  SpawnOptions as_nobody;
  as_nobody.user = 65534;
  ToolRun n =
      Run({"run", "--audit", locked, "--json", "--", "/bin/sh", "-c", "exit 4"},
          "", as_nobody);
  ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
  EXPECT_EQ(n.status, 4) << n.err;
  EXPECT_THAT(n.err, HasSubstr(absl::StrCat("append the audit record to \"",
                                            locked, "\": permission denied")));
  EXPECT_THAT(n.Json()["audit_error"].get<std::string>(),
              HasSubstr("permission denied (EACCES)"));
  EXPECT_EQ(ReadFile(locked), "");
}

TEST_F(CliAuditTest, ParallelInvocationsAppendWholeLines) {
  const std::string log = Path("audit.jsonl");
  constexpr int kRuns = 12;
  // A long argument (under MAX_ARG_STRLEN, 128 KiB): a record far larger
  // than PIPE_BUF, written whole all the same.
  const std::string big(100000, 'x');
  std::vector<pid_t> pids;
  for (int i = 0; i < kRuns; ++i) {
    pids.push_back(
        Spawn({"run", "--audit", log, "--principal", absl::StrCat("p", i),
               "--quiet", "--", "/bin/true", big},
              "/dev/null", Path(absl::StrCat("err", i))));
  }
  for (pid_t pid : pids) EXPECT_EQ(WaitExit(pid), 0);
  std::vector<json> records;
  ASSERT_NO_THROW(records = Records(log));
  ASSERT_THAT(records, SizeIs(kRuns));
  std::set<std::string> principals, ids;
  for (const json& a : records) {
    principals.insert(a["principal"].get<std::string>());
    ids.insert(a["run_id"].get<std::string>());
    EXPECT_EQ(a["argv"][1].get<std::string>().size(), big.size());
  }
  EXPECT_THAT(principals, SizeIs(kRuns));
  EXPECT_THAT(ids, SizeIs(kRuns));  // a fresh id per invocation
}

TEST_F(CliAuditTest, ABadPrincipalIsRefusedBeforeAnythingRuns) {
  ToolRun r = Run({"run", "--audit", Path("a.jsonl"), "--principal",
                   "a\x1b[2Jb", "--", "/bin/true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_THAT(r.err, HasSubstr("--principal \"a\\x1b[2Jb\": contains a "
                               "control character"));
  EXPECT_FALSE(std::ifstream(Path("a.jsonl")).good());
}

}  // namespace
}  // namespace procsandbox_cli_test

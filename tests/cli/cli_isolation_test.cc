// The `procsandbox` command's isolation: the flags and their errors, the
// JSON and doctor entries, and what the program sees from inside under
// --isolate. A check of a mechanism runs where this host's manager has it
// (doctor says so) and is skipped with doctor's reason where it has not.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace procsandbox_cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The mechanisms --isolate asks for (the user namespace only where the host
// needs one).
constexpr const char* kIsolateKinds[] = {
    "no_new_privs",  "capabilities",     "mount_namespace",
    "pid_namespace", "net_namespace",    "ipc_namespace",
    "uts_namespace", "cgroup_namespace", "seccomp"};

class CliIsolationTest : public CliTest {
 protected:
  // Why the manager cannot have `kind` here (doctor's detail), or "" when it
  // can.
  std::string Unavailable(const std::string& kind,
                          const SpawnOptions& options = {}) {
    ToolRun doctor = Run({"doctor", "--json"}, "", options);
    const json entry = doctor.Json()["isolation"][kind];
    if (entry["available"].get<bool>()) return "";
    return entry["detail"].get<std::string>();
  }

  // The value of `field` ("CapEff") in the program's /proc/self/status.
  static std::string StatusField(const std::string& status,
                                 const std::string& field) {
    for (absl::string_view line : absl::StrSplit(status, '\n')) {
      if (absl::ConsumePrefix(&line, field + ":")) {
        return std::string(absl::StripAsciiWhitespace(line));
      }
    }
    return "(no " + field + ")";
  }
};

#define SKIP_UNLESS_AVAILABLE(kind)                               \
  if (const std::string why = Unavailable(kind); !why.empty()) {  \
    GTEST_SKIP() << kind << " cannot be had here (yet): " << why; \
  }

// --- Bad flags ---------------------------------------------------------------

TEST_F(CliIsolationTest, EachBadIsolationFlagIs125WithOneLineNamingIt) {
  const std::string filter = Path("filter");
  WriteFile(filter, "# my filter\ndefault allow\ndeny ptrace\n");
  const std::string tall(65, 'a');
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--net"}, "--net: only with --isolate"},
      {{"--tmp-size", "1M"}, "--tmp-size \"1M\": only with --isolate"},
      {{"--isolate", "--tmp-size", "0"}, "--tmp-size \"0\": is 0 bytes"},
      {{"--unshare", "net,disk"},
       "--unshare \"net,disk\": unknown namespace \"disk\""},
      {{"--isolate", "--net", "--unshare", "net"},
       "--net: the host's network, and --unshare net"},
      {{"--ro-bind", "/no/such/dir"},
       "--ro-bind \"/no/such/dir\": No such file or directory"},
      {{"--bind", "/tmp:relative"}, "--bind \"/tmp:relative\": isolation "},
      {{"--tmpfs", "scratch"}, "is not absolute"},
      {{"--tmpfs", "/scratch:lots"},
       "--tmpfs \"/scratch:lots\": size \"lots\""},
      {{"--proc", "/a/../proc"}, "has a \"..\" part"},
      {{"--dev", "/a//dev"}, "has an empty part"},
      {{"--bind", ""}, "--bind \"\": empty"},
      {{"--seccomp", Path("missing")},
       absl::StrCat("--seccomp \"", Path("missing"), "\": cannot read it")},
      {{"--seccomp", filter},
       absl::StrCat("--seccomp \"", filter,
                    "\": seccomp filter line 3: expected default, include or "
                    "an action, not \"deny\"")},
      {{"--keep-cap", "CAP_FLY"},
       "--keep-cap \"CAP_FLY\": unknown capability \"CAP_FLY\""},
      {{"--keep-cap", "all", "--keep-cap", "chown"}, "give it alone"},
      {{"--hostname", "my box"}, "--hostname \"my box\": "},
      {{"--hostname", tall}, "is longer than 64 bytes"},
  };
  for (const auto& [flags, error] : cases) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    for (const char* a : {"--", "/bin/sh", "-c", "echo ran"}) args.push_back(a);
    ToolRun r = Run(args);
    EXPECT_EQ(r.status, 125) << absl::StrJoin(flags, " ") << ": " << r.err;
    EXPECT_THAT(r.err, StartsWith("procsandbox: "))
        << absl::StrJoin(flags, " ");
    EXPECT_THAT(r.err, HasSubstr(error)) << absl::StrJoin(flags, " ");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "") << absl::StrJoin(flags, " ");
  }
}

TEST_F(CliIsolationTest, HelpListsTheIsolationFlags) {
  ToolRun r = Run({"run", "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--isolate", "--tmp-size", "--net", "--unshare",
                           "--ro-bind", "--bind", "--tmpfs", "--proc", "--dev",
                           "--seccomp", "--keep-cap", "--hostname"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
}

// --- Reports -----------------------------------------------------------------

TEST_F(CliIsolationTest, DoctorListsEachMechanismAndWhyOrWhyNot) {
  ToolRun text = Run({"doctor"});
  ASSERT_EQ(text.status, 0) << text.err;
  const json j = Run({"doctor", "--json"}).Json();
  for (const char* kind :
       {"no_new_privs", "credentials", "capabilities", "user_namespace",
        "mount_namespace", "pid_namespace", "net_namespace", "ipc_namespace",
        "uts_namespace", "cgroup_namespace", "seccomp"}) {
    ASSERT_TRUE(j["isolation"].contains(kind)) << kind;
    EXPECT_TRUE(j["isolation"][kind]["available"].is_boolean()) << kind;
    const std::string detail = j["isolation"][kind]["detail"];
    EXPECT_FALSE(detail.empty()) << kind;
    EXPECT_THAT(text.out, HasSubstr(kind));
    EXPECT_THAT(text.out, HasSubstr(detail));
  }
}

TEST_F(CliIsolationTest, TheJsonReportsEachMechanismIsolateAskedFor) {
  ToolRun r = Run({"run", "--isolate", "--result", Path("result"), "--", "id"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("uid="));
  const json doctor = Run({"doctor", "--json"}).Json();
  const json j = json::parse(ReadFile(Path("result")));
  EXPECT_EQ(j["status"], "exited");
  EXPECT_TRUE(j["syscall"].is_null());
  EXPECT_TRUE(j["syscall_name"].is_null());
  for (const char* kind : kIsolateKinds) {
    ASSERT_TRUE(j["isolation"].contains(kind)) << kind << ": " << j.dump();
    const json& e = j["isolation"][kind];
    EXPECT_TRUE(e["detail"].is_string()) << kind;
    // As the host's manager says it can (as root: nothing needs a user
    // namespace to be added).
    EXPECT_EQ(e["enforced"], doctor["isolation"][kind]["available"]) << kind;
    if (!e["enforced"].get<bool>() && std::string(kind) != "no_new_privs") {
      EXPECT_THAT(r.err, HasSubstr(absl::StrCat("procsandbox: isolation ", kind,
                                                " is not enforced: ")));
    }
  }
  EXPECT_FALSE(j["isolation"].contains("credentials"));
}

TEST_F(CliIsolationTest, FineGrainedFlagsEditWhatIsolateAsksFor) {
  ToolRun r =
      Run({"run", "--isolate", "--net", "--seccomp", "none", "--keep-cap",
           "all", "--json", "--quiet", "--", "/bin/true"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json isolation = r.Json()["isolation"];
  for (const char* kind : {"net_namespace", "seccomp", "capabilities"}) {
    EXPECT_FALSE(isolation.contains(kind)) << kind << ": " << isolation.dump();
  }
  for (const char* kind :
       {"mount_namespace", "pid_namespace", "uts_namespace"}) {
    EXPECT_TRUE(isolation.contains(kind)) << kind << ": " << isolation.dump();
  }
  ToolRun only = Run({"run", "--unshare", "pid,ipc", "--keep-cap", "all",
                      "--json", "--quiet", "--", "/bin/true"});
  ASSERT_EQ(only.status, 0) << only.err;
  const json asked = only.Json()["isolation"];
  std::vector<std::string> kinds;  // json keeps its keys sorted
  for (const auto& [kind, entry] : asked.items()) kinds.push_back(kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"ipc_namespace", "no_new_privs",
                                             "pid_namespace"}));
}

TEST_F(CliIsolationTest, AStartFailureJsonSaysWhatTheHostCouldGive) {
  ToolRun r = Run({"run", "--isolate", "--json", "--", "/no/such/program"});
  EXPECT_EQ(r.status, 127) << r.err;
  const json j = r.Json();
  EXPECT_EQ(j["status"], "start_failed");
  EXPECT_TRUE(j["syscall"].is_null());
  for (const char* kind : kIsolateKinds) {
    EXPECT_TRUE(j["isolation"][kind]["enforced"].is_boolean()) << kind;
  }
}

TEST_F(CliIsolationTest, StrictRefusesTheFirstMechanismThatCannotBeHad) {
  std::string missing;
  for (const char* kind : kIsolateKinds) {
    if (std::string(kind) != "no_new_privs" && !Unavailable(kind).empty()) {
      missing = kind;
      break;
    }
  }
  // The program prints nothing: stdout holds the JSON alone.
  ToolRun r = Run({"run", "--isolate", "--strict", "--json", "--", "/bin/sh",
                   "-c", "exit 0"});
  if (missing.empty()) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.Json()["status"], "exited");
    return;
  }
  EXPECT_EQ(r.status, 125) << r.err;
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                         "isolation ", missing,
                         " cannot be had here: ", Unavailable(missing))));
  EXPECT_EQ(r.Json()["status"], "start_failed");
  EXPECT_EQ(r.Json()["isolation"][missing]["enforced"], false);
}

// --- From inside the program -------------------------------------------------

TEST_F(CliIsolationTest, CapabilitiesAreDroppedByDefault) {
  SKIP_UNLESS_AVAILABLE("capabilities");
  ToolRun r = Run({"run", "--quiet", "--", "cat", "/proc/self/status"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(StatusField(r.out, "CapEff"), "0000000000000000");
  EXPECT_EQ(StatusField(r.out, "CapPrm"), "0000000000000000");
  EXPECT_EQ(StatusField(r.out, "CapBnd"), "0000000000000000");
  EXPECT_EQ(StatusField(r.out, "CapAmb"), "0000000000000000");
}

TEST_F(CliIsolationTest, KeepCapKeepsTheNamedOnesOrAll) {
  SKIP_UNLESS_AVAILABLE("capabilities");
  if (geteuid() != 0) GTEST_SKIP() << "needs root: there is nothing to keep";
  ToolRun one = Run({"run", "--quiet", "--keep-cap", "NET_RAW", "--", "cat",
                     "/proc/self/status"});
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(StatusField(one.out, "CapEff"), "0000000000002000");  // bit 13
  EXPECT_EQ(StatusField(one.out, "CapBnd"), "0000000000002000");
  ToolRun all = Run({"run", "--quiet", "--keep-cap", "all", "--", "cat",
                     "/proc/self/status"});
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_NE(StatusField(all.out, "CapEff"), "0000000000000000");
}

TEST_F(CliIsolationTest, IsolateDropsEveryCapability) {
  SKIP_UNLESS_AVAILABLE("capabilities");
  ToolRun r =
      Run({"run", "--isolate", "--quiet", "--", "cat", "/proc/self/status"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(StatusField(r.out, "CapEff"), "0000000000000000");
  EXPECT_EQ(StatusField(r.out, "CapBnd"), "0000000000000000");
  EXPECT_EQ(StatusField(r.out, "NoNewPrivs"), "1");
}

TEST_F(CliIsolationTest, IsolateGivesTheHostnameSandboxOrTheOneGiven) {
  SKIP_UNLESS_AVAILABLE("uts_namespace");
  ToolRun r = Run({"run", "--isolate", "--quiet", "--", "hostname"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "sandbox\n");
  ToolRun given =
      Run({"run", "--hostname", "box-1", "--quiet", "--", "hostname"});
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_EQ(given.out, "box-1\n");
}

TEST_F(CliIsolationTest, IsolateMakesTheProgramPid1) {
  SKIP_UNLESS_AVAILABLE("pid_namespace");
  ToolRun r =
      Run({"run", "--isolate", "--quiet", "--", "/bin/sh", "-c", "echo $$"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
}

TEST_F(CliIsolationTest, IsolateLeavesOnlyTheLoopbackInterface) {
  SKIP_UNLESS_AVAILABLE("net_namespace");
  ToolRun r =
      Run({"run", "--isolate", "--quiet", "--", "cat", "/proc/net/dev"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> interfaces;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    const std::size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;  // the two header lines
    interfaces.emplace_back(absl::StripAsciiWhitespace(line.substr(0, colon)));
  }
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"}) << r.out;
}

TEST_F(CliIsolationTest, IsolateShowsTheRunsOwnCgroupAsTheRoot) {
  SKIP_UNLESS_AVAILABLE("cgroup_namespace");
  ToolRun r =
      Run({"run", "--isolate", "--quiet", "--", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  for (absl::string_view line :
       absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::EndsWith(line, ":/")) << line;
  }
}

TEST_F(CliIsolationTest, IsolateMakesTheRootReadOnlyAndTmpEmpty) {
  SKIP_UNLESS_AVAILABLE("mount_namespace");
  ToolRun r = Run({"run", "--isolate", "--quiet", "--", "/bin/sh", "-c",
                   "touch /usr/procsandbox-probe 2>&1; ls -A /tmp; echo end"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "touch: cannot touch '/usr/procsandbox-probe': Read-only file "
            "system\nend\n");
  struct stat st;
  EXPECT_NE(stat("/usr/procsandbox-probe", &st), 0);
}

TEST_F(CliIsolationTest, IsolateKeepsTheWorkingDirectoryWritable) {
  SKIP_UNLESS_AVAILABLE("mount_namespace");
  ToolRun r = Run({"run", "--isolate", "--cwd", dir_, "--quiet", "--",
                   "/bin/sh", "-c", "echo made > made && cat made"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "made\n");
  EXPECT_EQ(ReadFile(Path("made")), "made\n");
  // A --workdir-root directory, made at run time, is writable too.
  const std::string root = Path("runs");
  ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
  ToolRun fresh = Run({"run", "--isolate", "--workdir-root", root, "--quiet",
                       "--", "/bin/sh", "-c", "echo x > made && cat made"});
  ASSERT_EQ(fresh.status, 0) << fresh.err;
  EXPECT_EQ(fresh.out, "x\n");
}

TEST_F(CliIsolationTest, MountFlagsApplyInTheOrderGiven) {
  SKIP_UNLESS_AVAILABLE("mount_namespace");
  struct stat st;
  if (stat("/srv", &st) != 0) GTEST_SKIP() << "no /srv to mount a tmpfs on";
  // /srv/out lies inside the tmpfs at /srv: given after it, it shows.
  ToolRun r = Run({"run", "--ro-bind", "/", "--tmpfs", "/srv:1M", "--bind",
                   absl::StrCat(dir_, ":/srv/out"), "--quiet", "--", "/bin/sh",
                   "-c", "echo in > /srv/out/file && ls -A /srv"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(ReadFile(Path("file")), "in\n");
}

TEST_F(CliIsolationTest, TheDefaultSeccompFilterDeniesNewNamespaces) {
  SKIP_UNLESS_AVAILABLE("seccomp");
  ToolRun r = Run({"run", "--seccomp", "default", "--quiet", "--", "unshare",
                   "--user", "true"});
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("Operation not permitted"));
}

TEST_F(CliIsolationTest, ASeccompKillIsReportedWithTheSyscall) {
  SKIP_UNLESS_AVAILABLE("seccomp");
  const std::string filter = Path("filter");
  WriteFile(filter, "kill uname\n");
  ToolRun r = Run({"run", "--seccomp", filter, "--json", "--", "uname"});
  EXPECT_EQ(r.status, 128 + SIGSYS) << r.err;
  const json j = r.Json();
  EXPECT_EQ(j["status"], "seccomp_violation");
  EXPECT_EQ(j["syscall_name"], "uname");
  EXPECT_TRUE(j["syscall"].is_number_integer());
}

// --- Without root ------------------------------------------------------------

TEST_F(CliIsolationTest, IsolateRunsAsAnUnprivilegedUserInAUserNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become uid 65534";
  SpawnOptions nobody;
  nobody.user = 65534;
  if (const std::string why = Unavailable("user_namespace", nobody);
      !why.empty()) {
    GTEST_SKIP() << "no user namespace for uid 65534 here: " << why;
  }
  ToolRun r =
      Run({"run", "--isolate", "--json", "--", "/bin/true"}, "", nobody);
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = r.Json();
  EXPECT_EQ(j["isolation"]["user_namespace"]["enforced"], true) << j.dump();
  // The caller, 65534 outside, is root inside.
  EXPECT_EQ(j["status"], "exited");
  ToolRun map =
      Run({"run", "--isolate", "--quiet", "--", "cat", "/proc/self/uid_map"},
          "", nobody);
  ASSERT_EQ(map.status, 0) << map.err;
  std::vector<std::string> fields =
      absl::StrSplit(map.out, ' ', absl::SkipEmpty());
  ASSERT_GE(fields.size(), 3u) << map.out;
  EXPECT_EQ(fields[0], "0");
  EXPECT_EQ(fields[1], "65534");
}

}  // namespace
}  // namespace procsandbox_cli_test

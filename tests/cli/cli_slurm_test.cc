// `procsandbox run --backend slurm` and `doctor --backend slurm` where no
// cluster is needed: the Slurm flags and their refusals, and a doctor that
// says why no cluster can be used. With a real cluster:
// cli_slurm_cluster_test.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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
using ::testing::IsEmpty;
using ::testing::StartsWith;

// The Slurm-only flags with a value each would accept under --backend slurm.
const std::vector<std::pair<std::string, std::string>>& SlurmFlags() {
  static const auto* const kFlags =
      new std::vector<std::pair<std::string, std::string>>{
          {"--partition", "debug"},
          {"--account", "physics"},
          {"--qos", "normal"},
          {"--cpus-per-task", "2"},
          {"--slurm-conf", "/etc/hostname"},
      };
  return *kFlags;
}

// The lines of `text` (without the empty one after the last newline).
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CliSlurmTest : public CliTest {
 protected:
  // A slurm.conf whose controller is a bound socket that never listens:
  // every connection is refused at once, and MessageTimeout=1 keeps the
  // clients from retrying long.
  std::string DeadControllerConf() {
    dead_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(dead_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(dead_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(getsockname(dead_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    std::string conf = Path("slurm.conf");
    WriteFile(conf, absl::StrCat("ClusterName=nowhere\n",
                                 "SlurmctldHost=localhost(127.0.0.1)\n",
                                 "SlurmctldPort=", ntohs(addr.sin_port), "\n",
                                 "MessageTimeout=1\n"));
    return conf;
  }
  void TearDown() override {
    if (dead_ >= 0) close(dead_);
    CliTest::TearDown();
  }

  int dead_ = -1;
};

TEST_F(CliSlurmTest, RunRefusesSlurmFlagsForOtherBackends) {
  for (const std::string backend : {"", "linux", "linux-nocgroup", "posix"}) {
    for (const auto& [flag, value] : SlurmFlags()) {
      std::vector<std::string> args = {"run", flag, value};
      if (!backend.empty()) {
        args.insert(args.end(), {"--backend", backend});
      }
      args.insert(args.end(), {"--result", Path("r.json"), "--", "/bin/true"});
      const ToolRun r = Run(args);
      EXPECT_EQ(r.status, 125) << flag << " " << backend;
      EXPECT_THAT(r.err, HasSubstr(absl::StrCat(flag, " \"", value,
                                                "\": only with --backend "
                                                "slurm")))
          << backend;
      EXPECT_THAT(Lines(r.err), ::testing::SizeIs(1)) << r.err;
      EXPECT_THAT(ReadFile(Path("r.json")), IsEmpty()) << "nothing started";
    }
  }
}

TEST_F(CliSlurmTest, DoctorRefusesSlurmFlagsForOtherBackends) {
  for (const std::string backend : {"", "linux", "posix"}) {
    for (const auto& [flag, value] : SlurmFlags()) {
      if (flag == "--cpus-per-task") continue;  // run's only
      std::vector<std::string> args = {"doctor", flag, value};
      if (!backend.empty()) {
        args.insert(args.end(), {"--backend", backend});
      }
      const ToolRun r = Run(args);
      EXPECT_EQ(r.status, 125) << flag << " " << backend;
      EXPECT_THAT(r.out, IsEmpty());
      EXPECT_THAT(r.err, HasSubstr(absl::StrCat(flag, " \"", value,
                                                "\": only with --backend "
                                                "slurm")));
    }
  }
}

TEST_F(CliSlurmTest, RunChecksTheSlurmValuesBeforeAnythingStarts) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--cpus-per-task", "0"}, "--cpus-per-task \"0\": must be in 1.."},
      {{"--cpus-per-task", "two"},
       "--cpus-per-task \"two\": not a whole number"},
      {{"--partition", "a b"},
       "--partition \"a b\": contains a blank or a control character"},
      {{"--account", "x\ty"}, "--account \"x\\ty\": contains a blank"},
      {{"--qos", ""}, "--qos \"\": empty"},
      // Slurm's commands would wait a minute for the file to appear.
      {{"--slurm-conf", "/no/such/slurm.conf"},
       "--slurm-conf \"/no/such/slurm.conf\": no such file"},
      {{"--slurm-conf", "/"}, "--slurm-conf \"/\": not a regular file"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {"run", "--backend", "slurm"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--result", Path("r.json"), "--", "/bin/true"});
    const ToolRun r = Run(args);
    EXPECT_EQ(r.status, 125) << message;
    EXPECT_THAT(r.err, StartsWith(absl::StrCat("procsandbox: ", message)));
    EXPECT_THAT(ReadFile(Path("r.json")), IsEmpty()) << message;
  }
}

TEST_F(CliSlurmTest, BackendErrorListsSlurm) {
  for (const std::string command : {"run", "doctor"}) {
    std::vector<std::string> args = {command, "--backend", "pbs"};
    if (command == "run") args.insert(args.end(), {"--", "/bin/true"});
    const ToolRun r = Run(args);
    EXPECT_EQ(r.status, 125);
    EXPECT_THAT(r.err, HasSubstr("--backend \"pbs\": want auto, linux, "
                                 "linux-nocgroup, posix or slurm"));
  }
}

TEST_F(CliSlurmTest, DoctorSaysWhyNoClusterCanBeUsed) {
  const std::string conf = DeadControllerConf();
  for (const bool json : {false, true}) {
    std::vector<std::string> args = {"doctor", "--backend", "slurm",
                                     "--slurm-conf", conf};
    if (json) args.emplace_back("--json");
    const ToolRun r = Run(args);
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_THAT(r.out, IsEmpty()) << "json " << json;
    ASSERT_THAT(Lines(r.err), ::testing::SizeIs(1)) << r.err;
    EXPECT_THAT(r.err, StartsWith("procsandbox: backend slurm cannot be used "
                                  "here: "));
  }
}

TEST_F(CliSlurmTest, RunWithoutAClusterFailsBeforeStarting) {
  const std::string conf = DeadControllerConf();
  const std::string marker = Path("ran");
  const ToolRun r =
      Run({"run", "--backend", "slurm", "--slurm-conf", conf, "--", "/bin/sh",
           "-c", absl::StrCat("touch ", marker)});
  EXPECT_EQ(r.status, 125) << r.err;
  EXPECT_THAT(Lines(r.err), ::testing::SizeIs(1)) << r.err;
  EXPECT_THAT(ReadFile(marker), IsEmpty());
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "the program ran";
}

}  // namespace
}  // namespace procsandbox_cli_test

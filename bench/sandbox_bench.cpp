// The sandbox layer's overhead: Sandbox::Run against a bare procsandbox::Run
// of the same program on the same manager, measured interleaved in the same
// run (bench_util.h).
//
//   build/release/bench/procsandbox_sandbox_bench "[fake]"  # policy checks
//   only build/release/bench/procsandbox_sandbox_bench "[os]"    # + workdir,
//   real spawn
//
// On the fake the sandbox runs its environment and program checks (a
// FakeProgramResolver), the queue and the output collector, without a
// working directory. On the OS manager it also resolves the program on the
// real file system and makes a working directory in /tmp (or in
// $PROCSANDBOX_BENCH_WORKDIR_ROOT), removed in the background (the default)
// and, for comparison, in the run (remove_in_background = false).
#define CATCH_CONFIG_MAIN
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/memory_manager.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/run.h"
#include "procsandbox/sandbox.h"

namespace {

using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::Variant;

void Report(const std::vector<Variant>& v) {
  const double bare = Median(v[0].samples), sandboxed = Median(v[1].samples);
  std::printf("\n%-44s %9.2f us\n%-44s %9.2f us  %.3fx, +%.2f us per run\n\n",
              v[0].name.c_str(), bare * 1e6, v[1].name.c_str(), sandboxed * 1e6,
              sandboxed / bare, (sandboxed - bare) * 1e6);
}

}  // namespace

TEST_CASE("Sandbox::Run vs Run on the fake", "[fake]") {
  procsandbox::MemoryManagerOptions options;
  options.history_limit = 1000;
  procsandbox::MemoryManager fake(options);
  fake.Register("/usr/bin/tool", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("a line of output\n");
    return 0;
  });
  auto resolver = std::make_shared<procsandbox::FakeProgramResolver>();
  resolver->AddProgram("/usr/bin/tool");
  procsandbox::SandboxPolicy policy;
  policy.programs.resolver = resolver;
  policy.programs.allow = {"/usr/bin/tool"};
  policy.environment.mode = procsandbox::EnvironmentPolicy::Mode::kAllowlist;
  policy.environment.allow = {"PATH", "LANG", "LC_*"};
  policy.environment.host = procsandbox::Environment{
      {"PATH", "/usr/bin:/bin"}, {"LANG", "C"}, {"HOME", "/root"}};
  procsandbox::Sandbox sandbox(fake, policy);
  std::vector<Variant> v = {
      {"bare Run(fake, /usr/bin/tool)",
       [&] {
         procsandbox::Command cmd("/usr/bin/tool");
         cmd.env =
             procsandbox::Environment{{"PATH", "/usr/bin:/bin"}, {"LANG", "C"}};
         auto r = procsandbox::Run(fake, cmd);
         return r.ok() && r->ok();
       },
       {}},
      {"Sandbox::Run(tool), checks + queue + caps",
       [&] {
         procsandbox::RunRequest request;
         request.program = "tool";
         auto r = sandbox.Run(request);
         return r.ok() && r->ok();
       },
       {}},
  };
  Interleave(v, 20000);
  Report(v);
  CHECK(Median(v[1].samples) > 0);
}

TEST_CASE("Sandbox::Run vs Run on the OS manager", "[os]") {
  procsandbox::OsManagerOptions options;
  options.cgroups =
      false;  // the spawn path alone (cgroups: os_bench "[cgroup]")
  auto manager = procsandbox::NewOsManager(options);
  REQUIRE(manager.ok());
  const char* dir = std::getenv("PROCSANDBOX_BENCH_WORKDIR_ROOT");
  std::string templ_text =
      std::string(dir != nullptr ? dir : "/tmp") + "/procsandbox-bench-XXXXXX";
  char* templ = templ_text.data();
  REQUIRE(mkdtemp(templ) != nullptr);
  {  // the sandboxes go (their pending removals done) before the root
    procsandbox::SandboxPolicy policy;
    policy.workdir.root = templ;
    procsandbox::Sandbox sandbox(**manager, policy);
    procsandbox::SandboxPolicy sync_policy = policy;
    sync_policy.workdir.remove_in_background = false;
    procsandbox::Sandbox sync_removal(**manager, sync_policy);
    procsandbox::Sandbox no_workdir(**manager, procsandbox::SandboxPolicy{});
    std::vector<Variant> v = {
        {"bare Run(os, /bin/true)",
         [&] {
           auto r =
               procsandbox::Run(**manager, procsandbox::Command("/bin/true"));
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), + resolve + workdir",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = sandbox.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), workdir removed in run",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = sync_removal.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), no workdir",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = no_workdir.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        {"bare Run(os, /bin/true), Stdio::Lines sinks",
         [&] {
           procsandbox::Command cmd("/bin/true");
           cmd.stdout_ = procsandbox::Stdio::Lines([](absl::string_view) {});
           cmd.stderr_ = procsandbox::Stdio::Lines([](absl::string_view) {});
           auto r = procsandbox::Run(**manager, cmd);
           return r.ok() && r->ok();
         },
         {}},
    };
    Interleave(v, 1000);
    for (std::size_t i = 2; i < v.size(); ++i) {
      std::printf("%-44s %9.2f us  %.3fx\n", v[i].name.c_str(),
                  Median(v[i].samples) * 1e6,
                  Median(v[i].samples) / Median(v[0].samples));
    }
    Report(v);
    CHECK(Median(v[1].samples) > 0);
  }
  std::filesystem::remove_all(templ);
}

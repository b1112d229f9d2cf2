// What each isolation mechanism adds to a spawn, and bubblewrap doing the
// same, against a plain posix_spawn of the same program in the same run.
//
//   build/release/bench/procsandbox_isolation_bench "[isolation]"
//   PROCSANDBOX_BENCH_ITERATIONS=100 build/release/bench/... # fewer rounds
//
// Every variant starts and waits for the tiny static helper (exit_group(0),
// no libc start-up), so what shows is the set-up cost: the OS manager plain
// (no cgroups, the streams the host's), with one mechanism of Isolation at a
// time (capabilities dropped, each namespace alone, the mount list of
// Isolation::Untrusted, the default seccomp deny list), with all of them
// (Isolation::Untrusted), and `bwrap` with the closest options (skipped with
// a message where bubblewrap is not installed). Variants run interleaved,
// in a new random order each round (a namespace's teardown goes on in the
// kernel after the wait returns and would always tax the same successor
// under a fixed rotation); figures are medians, ratios against the
// posix_spawn baseline and against the manager's plain spawn.
//
// The manager is not strict: a mechanism this host or build cannot have
// runs as a plain spawn, and the table says so with the enforcement report
// of that variant (read from a start before the timing).
#define CATCH_CONFIG_MAIN
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/procsandbox.h"

namespace {

using procsandbox::Command;
using procsandbox::Enforcement;
using procsandbox::Isolation;
using procsandbox::IsolationEnforcement;
using procsandbox::Manager;
using procsandbox::Stdio;
using procsandbox::bench::InterleaveShuffled;
using procsandbox::bench::Median;
using procsandbox::bench::PosixSpawnWait;
using procsandbox::bench::Variant;

constexpr char kTiny[] = PROCSANDBOX_TINY_HELPER;

Command TinyWith(const Isolation& isolation) {
  Command cmd(kTiny);
  cmd.isolation = isolation;
  // The host's streams, as posix_spawn's: no pipe to drain.
  cmd.stdin_ = Stdio::Inherit();
  cmd.stdout_ = Stdio::Inherit();
  cmd.stderr_ = Stdio::Inherit();
  return cmd;
}

bool StartWait(Manager& m, const Command& cmd) {
  std::shared_ptr<procsandbox::Process> p = m.New(cmd);
  if (!p->Start().ok()) return false;
  absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
  return outcome.ok() && outcome->ok();
}

// "enforced: capabilities" or "NOT enforced: pid_namespace (why)" per
// requested mechanism but the defaults (no_new_privs).
std::string EnforcementOf(Manager& m, const Command& cmd) {
  std::shared_ptr<procsandbox::Process> p = m.New(cmd);
  const absl::Status started = p->Start();
  if (!started.ok()) return "start failed: " + started.ToString();
  const Enforcement enforcement = p->enforcement();
  p->Wait().IgnoreError();
  std::string text;
  for (const IsolationEnforcement& e : enforcement.isolation) {
    if (e.kind == procsandbox::IsolationKind::kNoNewPrivs) continue;
    if (!text.empty()) text += "; ";
    text += (e.enforced ? "" : "NOT enforced: ") +
            std::string(procsandbox::IsolationKindName(e.kind)) +
            (e.enforced ? "" : " (" + e.detail + ")");
  }
  return text.empty() ? "-" : text;
}

std::string FindBwrap() {
  for (const char* path : {"/usr/bin/bwrap", "/bin/bwrap"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// posix_spawn of bwrap with `args` running the tiny helper, then waitpid.
bool BwrapWait(const std::string& bwrap, const std::vector<std::string>& args) {
  std::vector<std::string> all = {bwrap};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(kTiny);
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, bwrap.c_str(), nullptr, nullptr, argv.data(),
                  environ) != 0) {
    return false;
  }
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

int Iterations() {
  const char* text = std::getenv("PROCSANDBOX_BENCH_ITERATIONS");
  const int n = text == nullptr ? 0 : std::atoi(text);
  return n > 0 ? n : 500;
}

}  // namespace

TEST_CASE("isolation mechanisms and bwrap vs posix_spawn, interleaved",
          "[isolation]") {
  procsandbox::OsManagerOptions options;
  options.cgroups = false;  // the mechanisms alone, not a cgroup per run
  auto made = procsandbox::NewOsManager(options);
  REQUIRE(made.ok());
  Manager& m = **made;

  const Isolation untrusted = Isolation::Untrusted();
  struct Case {
    std::string name;
    Isolation isolation;
  };
  std::vector<Case> cases;
  cases.push_back({"manager, plain", Isolation()});
  auto one = [&cases](std::string name, std::function<void(Isolation&)> set) {
    Isolation isolation;
    set(isolation);
    cases.push_back({std::move(name), isolation});
  };
  one("capabilities dropped", [](Isolation& i) { i.drop_capabilities = true; });
  one("user namespace", [](Isolation& i) { i.namespaces.user = true; });
  one("mount namespace", [](Isolation& i) { i.namespaces.mount = true; });
  one("pid namespace", [](Isolation& i) { i.namespaces.pid = true; });
  one("net namespace", [](Isolation& i) { i.namespaces.net = true; });
  one("ipc namespace", [](Isolation& i) { i.namespaces.ipc = true; });
  one("uts namespace + hostname", [](Isolation& i) {
    i.namespaces.uts = true;
    i.hostname = "sandbox";
  });
  one("cgroup namespace", [](Isolation& i) { i.namespaces.cgroup = true; });
  one("mounts of Untrusted()", [&untrusted](Isolation& i) {
    i.namespaces.mount = true;
    i.mounts = untrusted.mounts;
  });
  one("seccomp default deny list", [](Isolation& i) {
    i.seccomp = procsandbox::SeccompFilter::DefaultDenyList();
  });
  cases.push_back({"all: Isolation::Untrusted()", untrusted});

  std::vector<Variant> variants;
  variants.push_back({"posix_spawn+waitpid (baseline)",
                      [] { return PosixSpawnWait(kTiny); },
                      {}});
  std::vector<std::string> reports(1, "-");
  for (const Case& c : cases) {
    Command cmd = TinyWith(c.isolation);
    reports.push_back(EnforcementOf(m, cmd));
    variants.push_back({c.name, [&m, cmd] { return StartWait(m, cmd); }, {}});
  }
  const std::string bwrap = FindBwrap();
  if (bwrap.empty()) {
    std::printf(
        "bwrap not found (Debian: bubblewrap): its variants are skipped\n");
  } else {
    // The closest to Isolation::Untrusted(): every namespace, / read-only,
    // a tmpfs /tmp, /proc, /dev, the hostname, capabilities dropped. (No
    // seccomp: bwrap takes a compiled BPF program only.)
    const std::vector<std::string> all = {"--unshare-all",
                                          "--die-with-parent",
                                          "--ro-bind",
                                          "/",
                                          "/",
                                          "--tmpfs",
                                          "/tmp",
                                          "--proc",
                                          "/proc",
                                          "--dev",
                                          "/dev",
                                          "--hostname",
                                          "sandbox",
                                          "--cap-drop",
                                          "ALL"};
    const std::vector<std::string> mount_only = {"--ro-bind", "/", "/"};
    variants.push_back(
        {"bwrap --ro-bind / / (mount namespace)",
         [bwrap, mount_only] { return BwrapWait(bwrap, mount_only); },
         {}});
    reports.push_back("bwrap " + std::string("--ro-bind / /"));
    variants.push_back({"bwrap, all (--unshare-all, binds, --cap-drop ALL)",
                        [bwrap, all] { return BwrapWait(bwrap, all); },
                        {}});
    reports.push_back("bwrap --unshare-all --ro-bind / / --tmpfs /tmp ...");
  }

  const int iterations = Iterations();
  InterleaveShuffled(variants, iterations);

  const double base = Median(variants[0].samples);
  const double plain = Median(variants[1].samples);
  std::printf(
      "\nspawn + wait of the tiny static helper, %d each, medians "
      "(cgroups off)\n",
      iterations);
  std::printf("  %-52s %10s %9s %9s\n", "variant", "median", "vs spawn",
              "vs plain");
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const double med = Median(variants[i].samples);
    std::printf("  %-52s %7.1f us %8.2fx %8.2fx\n", variants[i].name.c_str(),
                med * 1e6, med / base, med / plain);
  }
  std::printf("\nwhat each variant's enforcement() said:\n");
  for (std::size_t i = 1; i < variants.size(); ++i) {
    std::printf("  %-52s %s\n", variants[i].name.c_str(), reports[i].c_str());
  }
  std::printf("\n");
  CHECK(base > 0);
}

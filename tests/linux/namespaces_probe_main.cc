// procsandbox_namespaces_probe: what a host that is not root gets. The
// namespaces test starts it as uid 65534 (Isolation::uid); it makes its own
// OS manager and runs its arguments as one command in pid, net, ipc, uts
// (hostname "inner") and cgroup namespaces, the library adding the user
// namespace. Prints "cgroup_v2: yes|no <detail>" (its manager's), the
// command's stdout, then the user_namespace entry of the enforcement
// report, and exits with the command's exit code.
// Exit 77 with "skip: <why>" when this host cannot have a user namespace;
// 1 with the Status when Start() fails.
//
//   procsandbox_namespaces_probe /bin/cat /proc/self/uid_map
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "procsandbox/procsandbox.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  procsandbox::OsManagerOptions options;
  options.strict = true;
  absl::StatusOr<std::unique_ptr<procsandbox::Manager>> manager =
      procsandbox::NewOsManager(options);
  if (!manager.ok()) {
    std::fprintf(stderr, "%s\n", manager.status().ToString().c_str());
    return 1;
  }
  const procsandbox::IsolationEnforcement* user =
      (*manager)->capabilities().Find(
          procsandbox::IsolationKind::kUserNamespace);
  if (user == nullptr || !user->enforced) {
    std::printf("skip: %s\n", user != nullptr ? user->detail.c_str() : "?");
    return 77;
  }
  for (const procsandbox::Feature& f : (*manager)->capabilities().features) {
    if (f.name == "cgroup_v2") {
      std::printf("cgroup_v2: %s %s\n", f.available ? "yes" : "no",
                  f.detail.c_str());
    }
  }
  procsandbox::Command command(argv[1],
                               std::vector<std::string>(argv + 2, argv + argc));
  procsandbox::Namespaces& ns = command.isolation.namespaces;
  ns.pid = ns.net = ns.ipc = ns.uts = ns.cgroup = true;
  command.isolation.hostname = "inner";
  absl::StatusOr<procsandbox::RunResult> r =
      procsandbox::RunCommand(**manager, std::move(command));
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    return 1;
  }
  const procsandbox::IsolationEnforcement* entry =
      r->enforcement.Find(procsandbox::IsolationKind::kUserNamespace);
  std::printf(
      "%s%s\n", r->stdout_.c_str(),
      entry != nullptr ? ToString(*entry).c_str() : "user_namespace: none");
  std::fputs(r->stderr_.c_str(), stderr);
  return r->outcome.reason == procsandbox::ExitReason::kExited
             ? r->outcome.exit_code
             : 128 + r->outcome.signal;
}

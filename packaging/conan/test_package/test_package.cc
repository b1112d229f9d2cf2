// The Conan test_package: a scripted program run on the in-memory manager
// through the public API. It succeeds only if the library works: the
// program's output comes back and a 1 s wall_time ends a 10 s sleep (in
// virtual time, so at once).
#include <cstdio>
#include <string>

#include "procsandbox/procsandbox.h"

int main() {
  std::printf("procsandbox %s\n", procsandbox::Version());

  procsandbox::MemoryManager fake;
  fake.Register("greet", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("hello " + p.args().at(0) + "\n");
    p.Sleep(absl::Seconds(10));
    return 0;
  });
  procsandbox::Command command("greet", {"conan"});
  command.limits.wall_time = absl::Seconds(1);
  const absl::StatusOr<procsandbox::RunResult> result =
      procsandbox::RunCommand(fake, command);
  if (!result.ok()) {
    std::fprintf(stderr, "RunCommand: %s\n",
                 result.status().ToString().c_str());
    return 1;
  }
  std::printf("%s: %s", procsandbox::ToString(*result).c_str(),
              result->stdout_.c_str());
  if (result->outcome.reason != procsandbox::ExitReason::kTimedOut ||
      result->stdout_ != "hello conan\n") {
    std::fprintf(stderr, "want a timeout after \"hello conan\\n\"\n");
    return 1;
  }
  return 0;
}

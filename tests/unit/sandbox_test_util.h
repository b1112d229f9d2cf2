// What the sandbox unit tests share: a fake manager whose scripted programs
// also exist in a FakeProgramResolver, and a policy using it.
#ifndef PROCSANDBOX_TESTS_UNIT_SANDBOX_TEST_UTIL_H_
#define PROCSANDBOX_TESTS_UNIT_SANDBOX_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "procsandbox/memory_manager.h"
#include "procsandbox/sandbox.h"

namespace procsandbox::sandbox_test {

// A fake manager and resolver filled together.
struct Rig {
  MemoryManager fake;
  std::shared_ptr<FakeProgramResolver> resolver =
      std::make_shared<FakeProgramResolver>();

  // A scripted program at absolute `path` (so found as its base name on
  // /usr/bin:/bin).
  void Program(const std::string& path, FakeProgram program,
               uint32_t mode = 0755) {
    fake.Register(path, std::move(program));
    resolver->AddProgram(path, mode);
  }

  // A policy on this rig: no host environment, default everything else.
  SandboxPolicy Policy() const {
    SandboxPolicy policy;
    policy.programs.resolver = resolver;
    policy.environment.host = Environment{};
    return policy;
  }
};

inline RunRequest Request(std::string program,
                          std::vector<std::string> args = {}) {
  RunRequest r;
  r.program = std::move(program);
  r.args = std::move(args);
  return r;
}

}  // namespace procsandbox::sandbox_test

#endif  // PROCSANDBOX_TESTS_UNIT_SANDBOX_TEST_UTIL_H_

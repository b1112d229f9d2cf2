// What the sandbox unit tests share: a fake manager whose scripted programs
// also exist in a FakeProgramResolver, and a policy using it.
#ifndef PROCSANDBOX_TESTS_UNIT_SANDBOX_TEST_UTIL_H_
#define PROCSANDBOX_TESTS_UNIT_SANDBOX_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
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

// Spins (yielding, no sleep) until `done`, for at most 10 s of real time:
// the state of threads blocked in the sandbox, reached without a clock.
inline void AwaitState(const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!done()) {
    ASSERT_LT(absl::Now(), give_up) << "state never reached";
    std::this_thread::yield();
  }
}

// Events collected from any thread (a run's, the background cleaner's).
class EventLog {
 public:
  std::function<void(const SandboxEvent&)> Sink() {
    return [this](const SandboxEvent& e) {
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    };
  }
  std::vector<SandboxEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Every event's text, one a line.
  std::string AllText() const {
    absl::MutexLock lock(&mu_);
    std::string text;
    for (const SandboxEvent& e : events_)
      absl::StrAppend(&text, ToString(e), "\n");
    return text;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<SandboxEvent> events_;
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

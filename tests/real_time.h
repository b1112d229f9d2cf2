// Real-time helpers for the tests that run real processes: a wall-time limit
// is a race between the deadline and the program's own setup, which a slow
// or loaded machine can lose. These let such a test tell "the limit ended a
// program that was ready" from "the machine was too slow to get there".
#ifndef PROCSANDBOX_TESTS_REAL_TIME_H_
#define PROCSANDBOX_TESTS_REAL_TIME_H_

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox {

// Runs `command`, whose steps print "ready" once set up (signals ignored or
// caught, children forked), under a wall-time limit of `wall`. When the limit
// ran out before "ready" reached stdout, runs it again with the limit doubled,
// up to about 20 s in all: the result then tells what the limit does to a
// program that was ready, never how fast this machine started one.
inline absl::StatusOr<RunResult> RunReadyUnderWallTime(Manager& manager,
                                                       Command command,
                                                       absl::Duration wall) {
  for (;;) {
    command.limits.wall_time = wall;
    absl::StatusOr<RunResult> r = procsandbox::Run(manager, command);
    if (!r.ok() || absl::StrContains(r->stdout_, "ready") ||
        wall > absl::Seconds(10)) {
      return r;
    }
    wall *= 2;
  }
}

}  // namespace procsandbox

#endif  // PROCSANDBOX_TESTS_REAL_TIME_H_

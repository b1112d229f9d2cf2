// The scripted twin of tests/helper/procsandbox_test_helper for the in-memory
// manager, so that the conformance suite runs the same command lines on the
// fake and on a real manager.
//
// The twin reads the same steps (tests/helper/README.md), checks the whole
// command line first with the same messages and exit code 125, and does for
// each step what the fake can model: exit, exit-code-hex (as the Windows
// helper, on every platform), signal, abort, crash, sleep-ms,
// sleep-forever, echo-stdin, echo-lines, count-stdin, write-stdout,
// write-stderr, write-both (the same byte pattern), print, print-stderr,
// print-env, print-cwd, print-pid, alloc-mb, alloc-forever, burn-ms,
// burn-forever, fork, fork-bomb, wait-children, ignore, catch-term-exit,
// write-file (into the fake file system; a relative path is taken from the
// command's working directory), open-files and json-rpc.
//
// A command line with a step the fake cannot model (print-fds, print-ppid,
// print-pgid, print-sid, print-ids, print-rlimit, print-sigmask,
// print-sigign, print-no-new-privs, daemonize, grandchild-holds-pipe,
// stop-self, and `signal` with a signal that stops the process) runs no step:
// the twin names the step on stderr and dies of SIGABRT, so that a test that
// uses one on the fake fails loudly instead of passing by accident.
#ifndef PROCSANDBOX_TESTS_CONFORMANCE_HELPER_TWIN_H_
#define PROCSANDBOX_TESTS_CONFORMANCE_HELPER_TWIN_H_

#include <string>

#include "procsandbox/memory_manager.h"

namespace procsandbox::conformance {

// Registers the twin on `fake` at `helper_path` (the real helper's path, so
// that the same Command runs on every manager).
void RegisterHelperTwin(procsandbox::MemoryManager& fake,
                        const std::string& helper_path);

}  // namespace procsandbox::conformance

#endif  // PROCSANDBOX_TESTS_CONFORMANCE_HELPER_TWIN_H_

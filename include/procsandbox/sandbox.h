// procsandbox/sandbox.h: the sandbox layer in one include.
//
// A `Sandbox` runs tools for requests, safely, over any Manager. Its API is
// split by noun under procsandbox/sandbox/; include one of them alone when
// that is all a file needs:
//   sandbox/sandbox.h    Sandbox, SandboxProcess, RunRequest
//   sandbox/policy.h     SandboxPolicy and its parts: EnvironmentPolicy,
//                        ProgramPolicy (ProgramResolver, ProgramFile),
//                        WorkdirPolicy, OutputPolicy, QueuePolicy
//   sandbox/quota.h      Quota, QuotaPolicy, QuotaExceeded, QuotaKeyStats
//   sandbox/result.h     SandboxResult, SandboxStatus, SandboxEvent, QueueStats
//   sandbox/violation.h  SecurityViolation, the refusal payload
//   sandbox/workdir.h    RunDirectory, a run's directory without a Sandbox
//
// Example: see procsandbox/sandbox/sandbox.h.
#ifndef PROCSANDBOX_SANDBOX_H_
#define PROCSANDBOX_SANDBOX_H_

#include "procsandbox/sandbox/audit.h"      // IWYU pragma: export
#include "procsandbox/sandbox/policy.h"     // IWYU pragma: export
#include "procsandbox/sandbox/quota.h"      // IWYU pragma: export
#include "procsandbox/sandbox/result.h"     // IWYU pragma: export
#include "procsandbox/sandbox/sandbox.h"    // IWYU pragma: export
#include "procsandbox/sandbox/violation.h"  // IWYU pragma: export
#include "procsandbox/sandbox/workdir.h"    // IWYU pragma: export

#endif  // PROCSANDBOX_SANDBOX_H_

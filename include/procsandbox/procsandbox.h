// procsandbox/procsandbox.h: the whole public API in one include.
#ifndef PROCSANDBOX_PROCSANDBOX_H_
#define PROCSANDBOX_PROCSANDBOX_H_

#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/monitor.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/run.h"
#include "procsandbox/sandbox.h"
#include "procsandbox/slurm_manager.h"
#include "procsandbox/stdio.h"
#include "procsandbox/verification.h"
#include "procsandbox/version.h"

#endif  // PROCSANDBOX_PROCSANDBOX_H_

// `procsandbox run`: starts the program under its plan, forwards the
// signals the tool receives, reports, and returns the exit status.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_H_

#include "run_options.h"

namespace procsandbox::cli {

int RunProgram(RunPlan plan);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_H_

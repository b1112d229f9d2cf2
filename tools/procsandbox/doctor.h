// `procsandbox doctor`: what this machine can enforce, and why not.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_DOCTOR_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_DOCTOR_H_

#include <string>

#include "nlohmann/json.hpp"
#include "procsandbox/procsandbox.h"
#include "run_options.h"

namespace procsandbox::cli {

nlohmann::ordered_json DoctorJson(const Capabilities& caps);

// Reports what the manager of `backend` (--backend, with --backend slurm's
// flags) enforces here, as text or JSON on stdout. A backend that cannot be
// used here (NewOsManager or NewSlurmManager failed: no srun, no controller
// answering) is one line on stderr saying why, and kExitToolFailed.
int Doctor(bool json, const std::string& backend, const SlurmFlags& slurm);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_DOCTOR_H_

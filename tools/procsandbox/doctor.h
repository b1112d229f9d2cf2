// `procsandbox doctor`: what this machine can enforce, and why not.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_DOCTOR_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_DOCTOR_H_

#include "nlohmann/json.hpp"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

nlohmann::ordered_json DoctorJson(const Capabilities& caps);
int Doctor(bool json);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_DOCTOR_H_

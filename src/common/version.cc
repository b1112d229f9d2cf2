#include "procsandbox/version.h"

namespace procsandbox {

const char* Version() { return PROCSANDBOX_VERSION_STRING; }

}  // namespace procsandbox

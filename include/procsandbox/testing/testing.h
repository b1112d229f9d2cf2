// procsandbox/testing/testing.h: deprecated; include
// procsandbox_testing/testing.h and write procsandbox_testing:: (see
// legacy_namespace.h). Kept for one release.
#ifndef PROCSANDBOX_TESTING_LEGACY_TESTING_H_
#define PROCSANDBOX_TESTING_LEGACY_TESTING_H_

#include "procsandbox/testing/legacy_namespace.h"
#include "procsandbox_testing/testing.h"

#endif  // PROCSANDBOX_TESTING_LEGACY_TESTING_H_

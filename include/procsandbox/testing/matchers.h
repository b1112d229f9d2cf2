// procsandbox/testing/matchers.h: deprecated; include
// procsandbox_testing/matchers.h and write procsandbox_testing:: (see
// legacy_namespace.h). Kept for one release.
#ifndef PROCSANDBOX_TESTING_LEGACY_MATCHERS_H_
#define PROCSANDBOX_TESTING_LEGACY_MATCHERS_H_

#include "procsandbox/testing/legacy_namespace.h"
#include "procsandbox_testing/matchers.h"

#endif  // PROCSANDBOX_TESTING_LEGACY_MATCHERS_H_

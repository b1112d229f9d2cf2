// procsandbox/testing/mocks.h: deprecated; include procsandbox_testing/mocks.h
// and write procsandbox_testing:: (see legacy_namespace.h). Kept for one
// release.
#ifndef PROCSANDBOX_TESTING_LEGACY_MOCKS_H_
#define PROCSANDBOX_TESTING_LEGACY_MOCKS_H_

#include "procsandbox/testing/legacy_namespace.h"
#include "procsandbox_testing/mocks.h"

#endif  // PROCSANDBOX_TESTING_LEGACY_MOCKS_H_

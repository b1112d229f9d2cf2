// procsandbox/testing/testing.h: everything of procsandbox::testing in one
// include: the gmock mocks (mocks.h) and the gtest matchers (matchers.h).
// Link the CMake target `procsandbox::testing`.
//
// Example:
//   #include "procsandbox/testing/testing.h"
//
//   procsandbox::testing::MockManager manager;   // or a MemoryManager
//   EXPECT_THAT(host.Build(), procsandbox::testing::ExitedWith(0));
#ifndef PROCSANDBOX_TESTING_TESTING_H_
#define PROCSANDBOX_TESTING_TESTING_H_

#include "procsandbox/testing/matchers.h"
#include "procsandbox/testing/mocks.h"

#endif  // PROCSANDBOX_TESTING_TESTING_H_

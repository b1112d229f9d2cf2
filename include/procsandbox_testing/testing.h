// procsandbox_testing/testing.h: everything of procsandbox_testing in one
// include: the gmock mocks (mocks.h) and the gtest matchers (matchers.h).
// Link the CMake target `procsandbox::testing`.
//
// Example:
//   #include "procsandbox_testing/testing.h"
//
//   procsandbox_testing::MockManager manager;   // or a MemoryManager
//   EXPECT_THAT(host.Build(), procsandbox_testing::ExitedWith(0));
#ifndef PROCSANDBOX_TESTING_TESTING_H_
#define PROCSANDBOX_TESTING_TESTING_H_

#include "procsandbox_testing/matchers.h"
#include "procsandbox_testing/mocks.h"

#endif  // PROCSANDBOX_TESTING_TESTING_H_

// procsandbox/testing/legacy_namespace.h: the deprecated spelling
// `procsandbox::testing::X` of `procsandbox_testing::X`, kept for one release
// (0.2) through the old headers procsandbox/testing/{matchers,mocks,
// testing}.h; it goes in 0.3.
//
// Include procsandbox_testing/testing.h (or its matchers.h, mocks.h) and
// write procsandbox_testing:: instead: a namespace named `testing` inside
// procsandbox makes gtest's `testing::` ambiguous under
// `using namespace procsandbox;`. Define PROCSANDBOX_NO_DEPRECATED to drop
// this namespace while still including the old headers.
#ifndef PROCSANDBOX_TESTING_LEGACY_NAMESPACE_H_
#define PROCSANDBOX_TESTING_LEGACY_NAMESPACE_H_

#ifndef PROCSANDBOX_NO_DEPRECATED
namespace procsandbox_testing {}

namespace procsandbox {
namespace
    [[deprecated("procsandbox::testing is now procsandbox_testing (include "
                 "procsandbox_testing/testing.h)")]] testing {
using namespace ::procsandbox_testing;  // NOLINT(google-build-using-namespace)
}  // namespace testing
}  // namespace procsandbox
#endif

#endif  // PROCSANDBOX_TESTING_LEGACY_NAMESPACE_H_

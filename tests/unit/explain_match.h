// What a matcher says about a value, for the matcher tests.
#ifndef PROCSANDBOX_TESTS_UNIT_EXPLAIN_MATCH_H_
#define PROCSANDBOX_TESTS_UNIT_EXPLAIN_MATCH_H_

#include <string>

#include "gmock/gmock.h"

namespace procsandbox::matchers_test {

// The text after "Actual: <value>" in a failure: ExplainMatchResult's.
template <typename T, typename M>
std::string Explain(const M& matcher, const T& value) {
  ::testing::StringMatchResultListener listener;
  ::testing::ExplainMatchResult(matcher, value, &listener);
  return listener.str();
}

}  // namespace procsandbox::matchers_test

#endif  // PROCSANDBOX_TESTS_UNIT_EXPLAIN_MATCH_H_

// Regression tests from a review of the OS manager's cgroup integration.
#include "gtest/gtest.h"

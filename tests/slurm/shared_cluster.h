// One Slurm cluster for a whole test binary: started before its first test,
// stopped after its last (a gtest Environment that shared_cluster.cc
// registers), so many cases share the few seconds a cluster takes to start.
// A binary using it runs as one ctest test (tests/CMakeLists.txt).
//
// Example:
//   absl::StatusOr<std::unique_ptr<Manager>> manager = NewClusterManager();
//   if (!manager.ok()) GTEST_SKIP() << manager.status();
#ifndef PROCSANDBOX_TESTS_SLURM_SHARED_CLUSTER_H_
#define PROCSANDBOX_TESTS_SLURM_SHARED_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "procsandbox/manager.h"
#include "procsandbox/slurm_manager.h"
#include "slurm/slurm_cluster.h"

namespace procsandbox::slurm_testing {

// The cluster, or null when it could not start here (WhyNoCluster()).
SlurmCluster* SharedCluster();
// Why there is no cluster: root or the packages are missing (a skip), or
// it failed to start (the environment has already failed the run).
const std::string& WhyNoCluster();

// A Slurm manager over the shared cluster, with `options`' other fields;
// FailedPrecondition with WhyNoCluster() when there is none.
absl::StatusOr<std::unique_ptr<Manager>> NewClusterManager(
    SlurmOptions options = {});

}  // namespace procsandbox::slurm_testing

#endif  // PROCSANDBOX_TESTS_SLURM_SHARED_CLUSTER_H_

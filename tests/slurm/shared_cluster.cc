#include "slurm/shared_cluster.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "procsandbox/slurm_manager.h"
#include "slurm/slurm_cluster.h"

namespace procsandbox::slurm_testing {
namespace {

std::unique_ptr<SlurmCluster>& Cluster() {
  static auto* const cluster = new std::unique_ptr<SlurmCluster>();
  return *cluster;
}

std::string& WhyNot() {
  static auto* const why = new std::string("the cluster was not started");
  return *why;
}

class SharedClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (std::optional<std::string> why = SlurmCluster::WhyUnavailable()) {
      WhyNot() = *why;
      return;
    }
    absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster =
        SlurmCluster::Start({});
    if (!cluster.ok()) {
      // Root and the packages are here: a cluster that does not start is
      // a failure, not a skip.
      WhyNot() = std::string(cluster.status().message());
      ADD_FAILURE() << "start the Slurm cluster: " << cluster.status();
      return;
    }
    Cluster() = *std::move(cluster);
  }

  void TearDown() override {
    if (Cluster() == nullptr) return;
    // Every test cleaned up after itself: nothing of theirs is queued.
    absl::StatusOr<std::vector<std::string>> queued = Cluster()->QueuedJobs();
    EXPECT_TRUE(queued.ok()) << queued.status();
    if (queued.ok()) {
      EXPECT_TRUE(queued->empty())
          << "jobs left in the queue: " << ::testing::PrintToString(*queued);
    }
    Cluster().reset();
  }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedClusterEnvironment);

}  // namespace

SlurmCluster* SharedCluster() { return Cluster().get(); }

const std::string& WhyNoCluster() { return WhyNot(); }

absl::StatusOr<std::unique_ptr<Manager>> NewClusterManager(
    SlurmOptions options) {
  SlurmCluster* cluster = SharedCluster();
  if (cluster == nullptr) {
    return absl::FailedPreconditionError("no Slurm cluster here: " +
                                         WhyNoCluster());
  }
  options.slurm_conf = cluster->conf_path();
  if (options.partition.empty()) options.partition = cluster->partition();
  return NewSlurmManager(std::move(options));
}

}  // namespace procsandbox::slurm_testing

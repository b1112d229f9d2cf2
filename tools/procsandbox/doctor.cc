#include "doctor.h"

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "posix/errno_status.h"
#include "report.h"
#include "result_file.h"

namespace procsandbox::cli {
namespace {

const Feature* FindFeature(const Capabilities& caps, const std::string& name) {
  for (const Feature& f : caps.features) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

nlohmann::ordered_json FeatureJson(const Feature* f) {
  if (f == nullptr) return {{"available", false}, {"detail", "not probed"}};
  return {{"available", f->available}, {"detail", f->detail}};
}

}  // namespace

nlohmann::ordered_json DoctorJson(const Capabilities& caps) {
  // The keys are the names of the library (capabilities.h,
  // docs/CAPABILITIES.md): the fields of Capabilities, LimitKindName,
  // IsolationKindName and each Feature's name.
  nlohmann::ordered_json j;
  j["backend"] = caps.backend;
  j["strict"] = caps.strict;
  j["tree_kill"] = {{"available", caps.tree_kill},
                    {"detail", caps.tree_kill_detail}};
  j["tree_freeze"] = {{"available", caps.tree_freeze},
                      {"detail", caps.tree_freeze_detail}};
  nlohmann::ordered_json limits = nlohmann::ordered_json::object();
  for (const LimitEnforcement& e : caps.limits) {
    limits[std::string(LimitKindName(e.limit))] = {
        {"mechanism", std::string(MechanismName(e.mechanism))},
        {"detail", e.detail}};
  }
  j["limits"] = limits;
  nlohmann::ordered_json isolation = nlohmann::ordered_json::object();
  for (const IsolationEnforcement& e : caps.isolation) {
    isolation[std::string(IsolationKindName(e.kind))] = {
        {"available", e.enforced}, {"detail", e.detail}};
  }
  j["isolation"] = isolation;
  nlohmann::ordered_json features = nlohmann::ordered_json::object();
  for (const Feature& f : caps.features) features[f.name] = FeatureJson(&f);
  j["features"] = features;

  // Deprecated in 0.2, removed in 0.3: the keys of 0.1 that repeat a
  // feature under another name.
  const Feature* kernel = FindFeature(caps, "kernel");
  j["kernel"] = kernel != nullptr ? kernel->detail : "";
  const Feature* root = FindFeature(caps, "root");
  j["root"] = root != nullptr && root->available;
  // "mode hybrid": how the host mounts cgroups.
  const Feature* cgroups = FindFeature(caps, "cgroups");
  std::string mode = "none";
  if (cgroups != nullptr && absl::StartsWith(cgroups->detail, "mode ")) {
    mode = cgroups->detail.substr(5);
  }
  j["cgroup"] = {{"mode", mode},
                 {"usable", cgroups != nullptr && cgroups->available},
                 {"v2", FeatureJson(FindFeature(caps, "cgroup_v2"))},
                 {"v1", FeatureJson(FindFeature(caps, "cgroup_v1"))}};
  j["deprecated"] = {{"kernel", "features.kernel.detail"},
                     {"root", "features.root.available"},
                     {"cgroup",
                      "features.cgroups (detail \"mode <mode>\"), "
                      "features.cgroup_v2, features.cgroup_v1"}};
  return j;
}

int Doctor(bool json, const std::string& backend, const SlurmFlags& slurm) {
  absl::StatusOr<BackendPlan> plan =
      MakeBackendPlan(backend, slurm, /*strict=*/false);
  if (!plan.ok()) {
    std::fprintf(stderr, "procsandbox: %s\n",
                 std::string(plan.status().message()).c_str());
    return kExitToolFailed;
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewManagerOf(*plan);
  if (!manager.ok()) {
    std::fprintf(stderr, "procsandbox: backend %s cannot be used here: %s\n",
                 plan->name.c_str(),
                 std::string(manager.status().message()).c_str());
    return kExitToolFailed;
  }
  const Capabilities caps = (*manager)->capabilities();
  if (json) {
    absl::Status written = WriteAll(1, JsonText(DoctorJson(caps)), "stdout");
    if (!written.ok()) {
      std::fprintf(stderr, "procsandbox: %s\n",
                   std::string(written.message()).c_str());
      return kExitToolFailed;
    }
    return 0;
  }
  std::printf(
      "backend: %s\n\ntree (what kills and freezes a whole process tree, or "
      "why nothing can):\n",
      caps.backend.c_str());
  std::printf("  %-16s %-4s %s\n", "tree_kill", caps.tree_kill ? "yes" : "no",
              caps.tree_kill_detail.c_str());
  std::printf("  %-16s %-4s %s\n", "tree_freeze",
              caps.tree_freeze ? "yes" : "no", caps.tree_freeze_detail.c_str());
  std::printf("\nlimits (what enforces each, or why nothing does):\n");
  for (const LimitEnforcement& e : caps.limits) {
    std::printf(
        "  %-16s %-10s %s\n", std::string(LimitKindName(e.limit)).c_str(),
        std::string(MechanismName(e.mechanism)).c_str(), e.detail.c_str());
  }
  std::printf(
      "\nisolation (what gives each mechanism here, or why it cannot be "
      "had):\n");
  for (const IsolationEnforcement& e : caps.isolation) {
    std::printf("  %-16s %-4s %s\n",
                std::string(IsolationKindName(e.kind)).c_str(),
                e.enforced ? "yes" : "no", e.detail.c_str());
  }
  std::printf("\nfeatures:\n");
  for (const Feature& f : caps.features) {
    std::printf("  %-16s %-4s %s\n", f.name.c_str(), f.available ? "yes" : "no",
                f.detail.c_str());
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(
        stderr, "procsandbox: %s\n",
        std::string(
            posix_internal::ErrnoStatus(errno, "write stdout").message())
            .c_str());
    return kExitToolFailed;
  }
  return 0;
}

}  // namespace procsandbox::cli

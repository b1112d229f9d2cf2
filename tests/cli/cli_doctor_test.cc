// `procsandbox doctor --json` against the library: its keys are the names
// Manager::capabilities() reports (so the two cannot drift apart), each is
// listed in docs/CAPABILITIES.md, and the deprecated keys of 0.1 are still
// written with what replaces them.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "procsandbox/capabilities.h"
#include "procsandbox/os_manager.h"

namespace procsandbox_cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// What doctor writes besides the fields of Capabilities: the keys of 0.1,
// deprecated, and the map from each of them to its replacement.
const std::set<std::string>& DeprecatedKeys() {
  static const auto* const keys =
      new std::set<std::string>{"kernel", "root", "cgroup"};
  return *keys;
}

std::vector<std::string> Keys(const json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

class CliDoctorTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ToolRun r = Run({"doctor", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    doctor_ = r.Json();
    absl::StatusOr<std::unique_ptr<procsandbox::Manager>> manager =
        procsandbox::NewOsManager();
    ASSERT_TRUE(manager.ok()) << manager.status();
    caps_ = (*manager)->capabilities();
  }

  json doctor_;
  procsandbox::Capabilities caps_;
};

TEST_F(CliDoctorTest, TopLevelKeysAreTheFieldsOfCapabilities) {
  std::vector<std::string> expected = {"backend",     "strict",    "tree_kill",
                                       "tree_freeze", "limits",    "isolation",
                                       "features",    "deprecated"};
  expected.insert(expected.end(), DeprecatedKeys().begin(),
                  DeprecatedKeys().end());
  EXPECT_THAT(Keys(doctor_), UnorderedElementsAreArray(expected));
  EXPECT_EQ(doctor_["backend"], caps_.backend);
  EXPECT_EQ(doctor_["strict"], caps_.strict);
  EXPECT_EQ(doctor_["tree_kill"]["available"], caps_.tree_kill);
  EXPECT_EQ(doctor_["tree_kill"]["detail"], caps_.tree_kill_detail);
  EXPECT_EQ(doctor_["tree_freeze"]["available"], caps_.tree_freeze);
  EXPECT_EQ(doctor_["tree_freeze"]["detail"], caps_.tree_freeze_detail);
}

TEST_F(CliDoctorTest, FeatureLimitAndIsolationKeysAreTheLibrarysNames) {
  std::vector<std::string> features;
  for (const procsandbox::Feature& f : caps_.features) {
    features.push_back(f.name);
    EXPECT_EQ(doctor_["features"][f.name]["available"], f.available) << f.name;
  }
  EXPECT_THAT(Keys(doctor_["features"]), UnorderedElementsAreArray(features));
  std::vector<std::string> limits;
  for (const procsandbox::LimitEnforcement& e : caps_.limits) {
    limits.emplace_back(procsandbox::LimitKindName(e.limit));
  }
  EXPECT_THAT(Keys(doctor_["limits"]), UnorderedElementsAreArray(limits));
  std::vector<std::string> isolation;
  for (const procsandbox::IsolationEnforcement& e : caps_.isolation) {
    isolation.emplace_back(procsandbox::IsolationKindName(e.kind));
  }
  EXPECT_THAT(Keys(doctor_["isolation"]), UnorderedElementsAreArray(isolation));
}

TEST_F(CliDoctorTest, EveryNameIsListedInTheCapabilitiesDocument) {
  const std::string doc = ReadFile(PROCSANDBOX_CAPABILITIES_DOC);
  ASSERT_FALSE(doc.empty()) << PROCSANDBOX_CAPABILITIES_DOC;
  std::vector<std::string> names = Keys(doctor_);
  for (const char* section : {"limits", "isolation", "features"}) {
    for (const std::string& name : Keys(doctor_[section])) {
      names.push_back(name);
    }
  }
  // Also the features other backends list.
  for (const std::string& name : procsandbox::FeatureNames()) {
    names.push_back(name);
  }
  for (const std::string& name : names) {
    EXPECT_THAT(doc, HasSubstr(absl::StrCat("`", name, "`"))) << name;
  }
}

TEST_F(CliDoctorTest, DeprecatedKeysRepeatTheFeaturesTheyStandFor) {
  for (const std::string& key : DeprecatedKeys()) {
    EXPECT_TRUE(doctor_["deprecated"][key].is_string()) << key;
  }
  const json& features = doctor_["features"];
  EXPECT_EQ(doctor_["kernel"], features["kernel"]["detail"]);
  EXPECT_EQ(doctor_["root"], features["root"]["available"]);
  EXPECT_EQ(doctor_["cgroup"]["usable"], features["cgroups"]["available"]);
  EXPECT_EQ(absl::StrCat("mode ", doctor_["cgroup"]["mode"].get<std::string>()),
            features["cgroups"]["detail"].get<std::string>());
  EXPECT_EQ(doctor_["cgroup"]["v2"]["available"],
            features["cgroup_v2"]["available"]);
  EXPECT_EQ(doctor_["cgroup"]["v1"]["available"],
            features["cgroup_v1"]["available"]);
}

}  // namespace
}  // namespace procsandbox_cli_test

#include "procsandbox/environment.h"

#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace procsandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "hunter2-s3cr3t";

std::vector<std::string> Names(const Environment& env) {
  std::vector<std::string> names;
  for (const Environment::Entry& entry : env.entries()) {
    names.push_back(entry.name);
  }
  return names;
}

// --- Construction ------------------------------------------------------------

TEST(EnvironmentTest, DefaultHasNoVariables) {
  const Environment env;
  EXPECT_TRUE(env.empty());
  EXPECT_EQ(env.size(), 0u);
  EXPECT_FALSE(env.Contains("PATH"));
}

TEST(EnvironmentTest, InitializerListKeepsOrder) {
  const Environment env = {{"B", "2"}, {"A", "1"}, {"C", "3"}};
  EXPECT_THAT(Names(env), ElementsAre("B", "A", "C"));
  EXPECT_THAT(env.ToStrings(), ElementsAre("B=2", "A=1", "C=3"));
}

TEST(EnvironmentTest, InitializerListLaterPairReplacesEarlierInPlace) {
  const Environment env = {{"A", "1"}, {"B", "2"}, {"A", "3"}};
  EXPECT_THAT(env.ToStrings(), ElementsAre("A=3", "B=2"));
}

TEST(EnvironmentTest, FromChecksEveryEntryAndKeepsOrder) {
  const absl::StatusOr<Environment> env =
      Environment::From({{"B", "2"}, {"A", "1"}, {"B", "3"}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_THAT(env->ToStrings(), ElementsAre("B=3", "A=1"));
}

TEST(EnvironmentTest, FromMarksSecretEntriesAndKeepsThemSecret) {
  const absl::StatusOr<Environment> env = Environment::From(
      {{"TOKEN", kSecret, /*secret=*/true}, {"TOKEN", "rotated"}, {"A", "1"}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_TRUE(env->IsSecret("TOKEN"));
  EXPECT_FALSE(env->IsSecret("A"));
  EXPECT_EQ(ToString(*env), "{TOKEN=<redacted>, A=1}");
}

TEST(EnvironmentTest, FromReportsTheFirstBadEntry) {
  const absl::StatusOr<Environment> env =
      Environment::From({{"A", "1"}, {"B=C", "2"}, {"", "3"}});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(env.status().message()),
            "environment variable \"B=C\": name contains '='");
}

TEST(EnvironmentTest, FromRejectsAnEmptyName) {
  const absl::StatusOr<Environment> env = Environment::From({{"", "x"}});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(std::string(env.status().message()),
            "environment variable \"\": name is empty");
}

TEST(EnvironmentTest, FromRejectsANulByteInANameOrValue) {
  const absl::StatusOr<Environment> name =
      Environment::From({{std::string("A\0B", 3), "x"}});
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(name.status().message()),
              HasSubstr("name contains a NUL byte"));
  const absl::StatusOr<Environment> value =
      Environment::From({{"A", std::string("x\0y", 3)}});
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(value.status().message()),
            "environment variable \"A\": value contains a NUL byte");
}

TEST(EnvironmentTest, FromNeverShowsASecretValueInAnError) {
  const std::string value = std::string(kSecret) + std::string("\0", 1);
  const absl::StatusOr<Environment> env =
      Environment::From({{"TOKEN", value, /*secret=*/true}});
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(env.status().message()), HasSubstr("\"TOKEN\""));
  EXPECT_THAT(std::string(env.status().message()), Not(HasSubstr("hunter2")));
}

TEST(EnvironmentTest, FromWithNoEntriesIsEmpty) {
  const absl::StatusOr<Environment> env = Environment::From({});
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(env->empty());
}

TEST(EnvironmentTest, FromHostMatchesGetenv) {
  const Environment env = Environment::FromHost();
  for (const Environment::Entry& entry : env.entries()) {
    const char* value = std::getenv(entry.name.c_str());
    ASSERT_NE(value, nullptr) << entry.name;
    EXPECT_EQ(entry.value, value) << entry.name;
    EXPECT_FALSE(entry.secret);
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    EXPECT_EQ(env.Get("PATH"), std::string(path));
  }
}

// --- Set, SetSecret, Unset, Get ----------------------------------------------

TEST(EnvironmentTest, SetAppendsANewName) {
  Environment env = {{"A", "1"}};
  ASSERT_TRUE(env.Set("B", "2").ok());
  EXPECT_THAT(env.ToStrings(), ElementsAre("A=1", "B=2"));
}

TEST(EnvironmentTest, SetReplacesAValueKeepingItsPosition) {
  Environment env = {{"A", "1"}, {"B", "2"}};
  ASSERT_TRUE(env.Set("A", "9").ok());
  EXPECT_THAT(env.ToStrings(), ElementsAre("A=9", "B=2"));
}

TEST(EnvironmentTest, SetAcceptsAnEmptyValueAndEqualsInTheValue) {
  Environment env;
  ASSERT_TRUE(env.Set("EMPTY", "").ok());
  ASSERT_TRUE(env.Set("OPTS", "a=b").ok());
  EXPECT_EQ(env.Get("EMPTY"), "");
  EXPECT_EQ(env.Get("OPTS"), "a=b");
}

TEST(EnvironmentTest, GetOfAnUnsetNameIsNullopt) {
  const Environment env = {{"A", "1"}};
  EXPECT_EQ(env.Get("B"), std::nullopt);
  EXPECT_EQ(env.Get("A"), "1");
}

TEST(EnvironmentTest, UnsetRemovesAndReportsWhetherItWasSet) {
  Environment env = {{"A", "1"}, {"B", "2"}};
  EXPECT_TRUE(env.Unset("A"));
  EXPECT_FALSE(env.Unset("A"));
  EXPECT_FALSE(env.Contains("A"));
  EXPECT_THAT(env.ToStrings(), ElementsAre("B=2"));
}

TEST(EnvironmentTest, SetSecretMarksTheValueSecret) {
  Environment env;
  ASSERT_TRUE(env.SetSecret("TOKEN", kSecret).ok());
  ASSERT_TRUE(env.Set("PATH", "/bin").ok());
  EXPECT_TRUE(env.IsSecret("TOKEN"));
  EXPECT_FALSE(env.IsSecret("PATH"));
  EXPECT_FALSE(env.IsSecret("MISSING"));
  EXPECT_EQ(env.Get("TOKEN"), kSecret);
}

TEST(EnvironmentTest, SetKeepsANameSecretUntilUnset) {
  Environment env;
  ASSERT_TRUE(env.SetSecret("TOKEN", kSecret).ok());
  ASSERT_TRUE(env.Set("TOKEN", "rotated").ok());
  EXPECT_TRUE(env.IsSecret("TOKEN"));
  EXPECT_TRUE(env.Unset("TOKEN"));
  ASSERT_TRUE(env.Set("TOKEN", "plain").ok());
  EXPECT_FALSE(env.IsSecret("TOKEN"));
}

TEST(EnvironmentTest, ToStringsIncludesSecretValuesForTheSpawnPath) {
  Environment env;
  ASSERT_TRUE(env.SetSecret("TOKEN", kSecret).ok());
  EXPECT_THAT(env.ToStrings(), ElementsAre(std::string("TOKEN=") + kSecret));
}

// --- Bad names and values ----------------------------------------------------

TEST(EnvironmentTest, SetRejectsAnEmptyName) {
  Environment env;
  const absl::Status s = env.Set("", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"\": name is empty");
  EXPECT_TRUE(env.empty());
}

TEST(EnvironmentTest, SetRejectsANameContainingEquals) {
  Environment env;
  const absl::Status s = env.Set("A=B", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"A=B\": name contains '='");
}

TEST(EnvironmentTest, SetRejectsANulByteInTheName) {
  Environment env;
  const absl::Status s = env.Set(std::string("A\0B", 3), "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"A\\x00\\x42\": name contains a NUL byte");
}

TEST(EnvironmentTest, SetRejectsANulByteInTheValueNamingTheVariable) {
  Environment env;
  const absl::Status s = env.Set("A", std::string("x\0y", 3));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"A\": value contains a NUL byte");
  EXPECT_FALSE(env.Contains("A"));
}

TEST(EnvironmentTest, SetSecretNeverShowsTheValueInAnError) {
  Environment env;
  const std::string value = std::string(kSecret) + std::string("\0", 1);
  const absl::Status s = env.SetSecret("TOKEN", value);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"TOKEN\""));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2")));
  EXPECT_FALSE(env.Contains("TOKEN"));
}

TEST(EnvironmentTest, ValidateAcceptsGoodEntries) {
  const Environment env = {{"PATH", "/bin"}, {"HOME", "/root"}};
  EXPECT_TRUE(env.Validate().ok());
}

TEST(EnvironmentTest, ValidateReportsABadNameFromTheInitializerList) {
  const Environment env = {{"GOOD", "1"}, {"A=B", "2"}, {"", "3"}};
  const absl::Status s = env.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"A=B\": name contains '='");
}

TEST(EnvironmentTest, ValidateReportsANulByteInAValue) {
  const Environment env = {{"V", std::string("a\0b", 3)}};
  const absl::Status s = env.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"V\": value contains a NUL byte");
}

TEST(ValidateEnvironmentNameTest, AcceptsOrdinaryNames) {
  EXPECT_TRUE(ValidateEnvironmentName("PATH").ok());
  EXPECT_TRUE(ValidateEnvironmentName("lower_case.dots-1").ok());
}

TEST(ValidateEnvironmentNameTest, RejectsEmptyAndEqualsNames) {
  EXPECT_EQ(ValidateEnvironmentName("").code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status s = ValidateEnvironmentName("=C:");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"=C:\""));
}

// --- Equality and ToString ---------------------------------------------------

TEST(EnvironmentTest, EqualityComparesOrderValuesAndSecrecy) {
  const Environment a = {{"A", "1"}, {"B", "2"}};
  EXPECT_EQ(a, (Environment{{"A", "1"}, {"B", "2"}}));
  EXPECT_NE(a, (Environment{{"B", "2"}, {"A", "1"}}));
  EXPECT_NE(a, (Environment{{"A", "1"}, {"B", "3"}}));
  Environment secret = a;
  ASSERT_TRUE(secret.SetSecret("B", "2").ok());
  EXPECT_NE(a, secret);
}

TEST(EnvironmentToStringTest, PrintsBracesForNoVariables) {
  EXPECT_EQ(ToString(Environment()), "{}");
}

TEST(EnvironmentToStringTest, RedactsSecrets) {
  Environment env;
  ASSERT_TRUE(env.Set("PATH", "/usr/bin").ok());
  ASSERT_TRUE(env.SetSecret("TOKEN", kSecret).ok());
  EXPECT_EQ(ToString(env), "{PATH=/usr/bin, TOKEN=<redacted>}");
}

TEST(EnvironmentToStringTest, FmtAndStreamsNeverShowASecret) {
  Environment env;
  ASSERT_TRUE(env.SetSecret("TOKEN", kSecret).ok());
  std::ostringstream os;
  os << env;
  EXPECT_THAT(os.str(), Not(HasSubstr("hunter2")));
  EXPECT_EQ(fmt::format("{}", env), "{TOKEN=<redacted>}");
}

TEST(EnvironmentToStringTest, EscapesControlBytes) {
  const Environment env = {{"A", "x\ny"}};
  EXPECT_EQ(ToString(env), "{A=x\\ny}");
}

}  // namespace
}  // namespace procsandbox

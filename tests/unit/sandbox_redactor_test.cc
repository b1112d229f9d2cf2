// Redactor: a run's secrets taken out of a Status, its payloads included.
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/environment.h"
#include "procsandbox/sandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox/quota.h"
#include "sandbox/redactor.h"

namespace procsandbox::sandbox_internal {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr char kSecret[] = "s3cr3t-Value-42";
constexpr char kOtherUrl[] = "type.example.com/other";

Redactor WithSecret(const std::string& name, const std::string& value) {
  Environment env;
  EXPECT_THAT(env.SetSecret(name, value), IsOk());
  Redactor redactor;
  redactor.AddSecrets(env);
  return redactor;
}

TEST(RedactorTest, RedactsAViolationsSubjectAndMessage) {
  SecurityViolation v;
  v.kind = SecurityViolation::Kind::kProgramNotAllowed;
  v.severity = SecurityViolation::Severity::kMedium;
  v.subject = absl::StrCat("/opt/", kSecret, "/perl");
  v.message = absl::StrCat("run \"perl\": /opt/", kSecret, "/perl is not ...");
  const absl::Status s = WithSecret("TOKEN", kSecret).Redact(ToStatus(v));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied,
                          "run \"perl\": /opt/<redacted>/perl is not ..."));
  SecurityViolation expected = v;
  expected.subject = "/opt/<redacted>/perl";
  expected.message = "run \"perl\": /opt/<redacted>/perl is not ...";
  EXPECT_THAT(GetSecurityViolation(s), Optional(expected));
  EXPECT_THAT(s.ToString(), Not(HasSubstr(kSecret)));
}

TEST(RedactorTest, RedactsAQuotaRefusalsKey) {
  QuotaExceeded q;
  q.kind = QuotaExceeded::Kind::kConcurrency;
  q.key = absl::StrCat("tenant-", kSecret);
  absl::Status status = absl::ResourceExhaustedError("quota");
  SetQuotaExceeded(status, q);
  const absl::Status s = WithSecret("TOKEN", kSecret).Redact(status);
  std::optional<QuotaExceeded> got = GetQuotaExceeded(s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "tenant-<redacted>");
  EXPECT_EQ(got->kind, QuotaExceeded::Kind::kConcurrency);
}

TEST(RedactorTest, DropsAnotherPayloadOnlyWhenItHoldsASecret) {
  absl::Status status = absl::InternalError("start failed");
  status.SetPayload(kOtherUrl, absl::Cord(absl::StrCat("x", kSecret, "y")));
  status.SetPayload("type.example.com/clean", absl::Cord("nothing secret"));
  const absl::Status s = WithSecret("TOKEN", kSecret).Redact(status);
  EXPECT_FALSE(s.GetPayload(kOtherUrl).has_value());
  EXPECT_THAT(s.GetPayload("type.example.com/clean"),
              Optional(absl::Cord("nothing secret")));
}

TEST(RedactorTest, EachDirectoryOfASecretPathIsASecret) {
  const Redactor redactor =
      WithSecret("PATH", absl::StrCat("/opt/", kSecret, ":.::/:/usr/bin"));
  EXPECT_EQ(redactor.Redact(absl::StrCat("/opt/", kSecret, "/tool")),
            "<redacted>/tool");
  EXPECT_EQ(redactor.Redact("/usr/bin/tool"), "<redacted>/tool");
  // Relative and root entries are not searched: text with them is kept.
  EXPECT_EQ(redactor.Redact("./a/b"), "./a/b");
}

}  // namespace
}  // namespace procsandbox::sandbox_internal

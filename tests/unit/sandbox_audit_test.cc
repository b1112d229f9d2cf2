// Sandbox: the audit log. Every field of the record as JSON, a record per
// run (refused ones too), a failing sink, the secret scan over the log file,
// and records appended whole by many threads; on the in-memory manager.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::EventLog;
using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
namespace fs = std::filesystem;

// Records kept in memory, from any thread.
class RecordLog {
 public:
  AuditSink Sink() {
    return [this](const AuditRecord& r) {
      absl::MutexLock lock(&mu_);
      records_.push_back(r);
      return absl::OkStatus();
    };
  }
  std::vector<AuditRecord> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<AuditRecord> records_;
};

std::vector<SandboxEvent> EventsOf(const EventLog& log, SandboxEvent::Kind k) {
  std::vector<SandboxEvent> out;
  for (const SandboxEvent& e : log.events()) {
    if (e.kind == k) out.push_back(e);
  }
  return out;
}

bool IsUtf8(const std::string& s) {
  std::size_t pos = 0;
  char32_t cp;
  while (pos < s.size()) {
    if (!internal::DecodeUtf8(s, &pos, &cp)) return false;
  }
  return true;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class SandboxAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/procsandbox-audit-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    log_path_ = dir_ + "/runs.jsonl";
    // A fixed start for the virtual clock's readings in the records.
    ASSERT_THAT(
        rig_.fake.clock().Advance(absl::Seconds(1780000000) -
                                  (rig_.fake.Now() - absl::UnixEpoch())),
        IsOk());
    rig_.Program("/usr/bin/tool", [](FakeProcess& p) {
      p.UseCpu(absl::Milliseconds(250));
      p.UseMemory(4096);
      p.WriteStdout("out\n");
      p.WriteStderr("err!\n");
      return p.args().empty() ? 0 : 3;
    });
  }
  void TearDown() override { fs::remove_all(dir_); }

  SandboxPolicy Policy() {
    SandboxPolicy policy = rig_.Policy();
    policy.audit = records_.Sink();
    policy.on_event = events_.Sink();
    return policy;
  }

  Rig rig_;
  RecordLog records_;
  EventLog events_;
  std::string dir_;
  std::string log_path_;
};

// --- The record, field by field ---------------------------------------------

TEST_F(SandboxAuditTest, ACompletedRunsRecordHasEveryField) {
  SandboxPolicy policy = Policy();
  policy.default_limits.memory_bytes = 1 << 20;
  policy.max_limits.wall_time = absl::Seconds(30);
  Sandbox sandbox(rig_.fake, policy);
  RunRequest request = Request("tool");
  request.id = "req-1";
  request.principal = "alice@example.com";
  request.limits.cpu_time = absl::Milliseconds(1500);
  ASSERT_THAT(request.env.Set("LANG", "C"), IsOk());
  ASSERT_THAT(request.env.SetSecret("API_TOKEN", "t0ken"), IsOk());
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->audit_status, IsOk());
  std::vector<AuditRecord> records = records_.records();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(
      AuditRecordJson(records[0]),
      R"({"schema":1,"time":"2026-05-28T20:26:40.250000Z","run_id":"req-1",)"
      R"("principal":"alice@example.com","quota_key":"","program":"tool",)"
      R"("program_path":"/usr/bin/tool","argv":["tool"],)"
      R"("env_names":["API_TOKEN","LANG"],"secret_names":["API_TOKEN"],)"
      R"("working_dir":"","limits_asked":{"cpu_time_ms":1500},)"
      R"("limits":{"wall_time_ms":30000,"cpu_time_ms":1500,)"
      R"("memory_bytes":1048576,"output_bytes":1048576},)"
      R"("enforcement":{"limits":[)"
      R"({"limit":"wall_time","mechanism":"virtual","enforced":true,)"
      R"("detail":"simulated"},)"
      R"({"limit":"cpu_time","mechanism":"virtual","enforced":true,)"
      R"("detail":"simulated"},)"
      R"({"limit":"memory_bytes","mechanism":"virtual","enforced":true,)"
      R"("detail":"simulated"},)"
      R"({"limit":"output_bytes","mechanism":"virtual","enforced":true,)"
      R"("detail":"simulated"}],)"
      R"("isolation":[{"kind":"no_new_privs","enforced":true,)"
      R"("detail":"virtual"},{"kind":"capabilities","enforced":true,)"
      R"("detail":"virtual"}]},)"
      // SandboxPolicy::verify's default (report): what was read right
      // after the start, at its virtual instant.
      R"j("verification":{"ok":true,"all_verified":false,)j"
      R"j("time":"2026-05-28T20:26:40.000000Z","checks":[)j"
      R"j({"item":"wall_time","result":"unverified","asked":"30s",)j"
      R"j("found":"","source":"",)j"
      R"j("detail":"held by the library's timer, not by the kernel"},)j"
      R"j({"item":"cpu_time","result":"match","asked":"1.5s",)j"
      R"j("found":"1.5s","source":"memory manager (virtual)","detail":""},)j"
      R"j({"item":"memory_bytes","result":"match","asked":"1 MiB",)j"
      R"j("found":"1 MiB","source":"memory manager (virtual)","detail":""},)j"
      R"j({"item":"output_bytes","result":"unverified","asked":"1 MiB",)j"
      R"j("found":"","source":"","detail":)j"
      R"j("held by the library's output accounting, not by the kernel"},)j"
      R"j({"item":"no_new_privs","result":"match","asked":"on",)j"
      R"j("found":"on","source":"memory manager (virtual)","detail":""},)j"
      R"j({"item":"capabilities","result":"match","asked":"all dropped",)j"
      R"j("found":"all dropped","source":"memory manager (virtual)",)j"
      R"j("detail":""}]},)j"
      R"("verify_error":null,"status":"completed",)"
      R"("outcome":{"reason":"exited","exit_code":0,"signal":null,)"
      R"("signal_name":null,"exception":null,"syscall":null,)"
      R"("syscall_name":null,"wall_time_ms":250,"user_time_ms":250,)"
      R"("system_time_ms":0,"peak_memory_bytes":4096,"samples":[]},)"
      R"("pid":1000,"stdout_bytes":4,"stderr_bytes":5,"error_code":null,)"
      R"("error":null,"violation":null,)"
      R"("queued_at":"2026-05-28T20:26:40.000000Z",)"
      R"("started_at":"2026-05-28T20:26:40.000000Z",)"
      R"("finished_at":"2026-05-28T20:26:40.250000Z","duration_ms":250})");
  EXPECT_EQ(records[0].pid, r->pid);
  EXPECT_EQ(records[0].outcome, r->outcome);
  EXPECT_EQ(records[0].enforcement, r->enforcement);
}

TEST_F(SandboxAuditTest, ARefusedRunsRecordNamesTheViolation) {
  SandboxPolicy policy = Policy();
  policy.programs.allow = {"/usr/bin/other"};
  Sandbox sandbox(rig_.fake, policy);
  RunRequest request = Request("tool", {"-x", "y z"});
  request.id = "req-2";
  request.principal = "svc:builder";
  request.limits.memory_bytes = 2048;
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  std::vector<AuditRecord> records = records_.records();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(
      AuditRecordJson(records[0]),
      R"({"schema":1,"time":"2026-05-28T20:26:40.000000Z","run_id":"req-2",)"
      R"("principal":"svc:builder","quota_key":"","program":"tool",)"
      R"("program_path":"","argv":["tool","-x","y z"],"env_names":[],)"
      R"("secret_names":[],"working_dir":"",)"
      R"("limits_asked":{"memory_bytes":2048},"limits":{},)"
      R"("enforcement":{"limits":[],"isolation":[]},"verification":null,)"
      R"("verify_error":null,"status":"rejected","outcome":null,"pid":null,)"
      R"("stdout_bytes":0,"stderr_bytes":0,"error_code":"PERMISSION_DENIED",)"
      R"("error":"run \"tool\": /usr/bin/tool is not on the program )"
      R"(allowlist","violation":{"kind":"program_not_allowed",)"
      R"("severity":"medium","subject":"/usr/bin/tool","message":)"
      R"("run \"tool\": /usr/bin/tool is not on the program allowlist"},)"
      R"("queued_at":"2026-05-28T20:26:40.000000Z","started_at":null,)"
      R"("finished_at":"2026-05-28T20:26:40.000000Z","duration_ms":0})");
}

TEST_F(SandboxAuditTest, AStartFailuresRecordHasTheErrorAndNoOutcome) {
  rig_.fake.RegisterStartError("/usr/bin/tool",
                               absl::ResourceExhaustedError("fork: EAGAIN"));
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest request = Request("tool");
  request.id = "req-3";
  request.quota_key = "ignored-without-quotas";
  ASSERT_THAT(sandbox.Run(request),
              StatusIs(absl::StatusCode::kResourceExhausted));
  std::vector<AuditRecord> records = records_.records();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(
      AuditRecordJson(records[0]),
      R"({"schema":1,"time":"2026-05-28T20:26:40.000000Z","run_id":"req-3",)"
      R"("principal":"","quota_key":"ignored-without-quotas",)"
      R"("program":"tool","program_path":"/usr/bin/tool","argv":["tool"],)"
      R"("env_names":[],"secret_names":[],"working_dir":"",)"
      R"("limits_asked":{},"limits":{"output_bytes":1048576},)"
      R"("enforcement":{"limits":[],"isolation":[]},"verification":null,)"
      R"("verify_error":null,"status":"rejected","outcome":null,"pid":null,)"
      R"("stdout_bytes":0,"stderr_bytes":0,)"
      R"("error_code":"RESOURCE_EXHAUSTED","error":"fork: EAGAIN",)"
      R"("violation":null,"queued_at":"2026-05-28T20:26:40.000000Z",)"
      R"("started_at":null,"finished_at":"2026-05-28T20:26:40.000000Z",)"
      R"("duration_ms":0})");
}

TEST_F(SandboxAuditTest, AMonitoredRunsRecordCarriesItsSamples) {
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest request = Request("tool");
  request.monitor.enabled = true;
  request.monitor.interval = absl::Milliseconds(100);
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->outcome.samples, Not(IsEmpty()));
  std::vector<AuditRecord> records = records_.records();
  ASSERT_THAT(records, SizeIs(1));
  ASSERT_TRUE(records[0].outcome.has_value());
  EXPECT_EQ(records[0].outcome->samples, r->outcome.samples);
  EXPECT_THAT(AuditRecordJson(records[0]),
              HasSubstr(R"("samples":[{"time":"2026-05-28T20:26:40)"));
}

// What the sandbox does not fill yet (or only on some runs): written from a
// record made by hand.
TEST(AuditRecordJsonTest, WritesVerificationSamplesAndSignals) {
  AuditRecord r;
  r.time = absl::FromUnixMicros(1780000000123456);
  r.run_id = "run-7";
  r.status = "failed";
  Verification v;
  v.time = absl::FromUnixSeconds(1780000000);
  VerificationCheck c;
  c.item = "memory_bytes";
  c.limit = LimitKind::kMemory;
  c.asked = "64 MiB";
  c.found = "1 GiB";
  c.source = "/sys/fs/cgroup/memory/x/memory.limit_in_bytes";
  c.result = CheckResult::kMismatch;
  c.detail = "raised from outside";
  v.checks.push_back(c);
  r.verification = v;
  r.verify_error = "";
  Outcome o;
  o.reason = ExitReason::kSignaled;
  o.exit_code = -1;
  o.signal = 9;
  o.wall_time = absl::Microseconds(1500);
  UsageSample s;
  s.time = absl::FromUnixSeconds(1780000001);
  s.elapsed = absl::Seconds(1);
  s.user_time = absl::Milliseconds(900);
  s.cpu_percent = 92.5;
  s.memory_bytes = 10;
  s.peak_memory_bytes = 20;
  s.processes = 2;
  s.stdout_bytes = 3;
  s.state = ProcessState::kRunning;
  o.samples.push_back(s);
  r.outcome = o;
  r.pid = 42;
  r.queued_at = absl::FromUnixSeconds(1780000000);
  r.started_at = r.queued_at;
  r.finished_at = r.queued_at + absl::Microseconds(1);
  r.duration = absl::Microseconds(1);
  EXPECT_EQ(
      AuditRecordJson(r),
      R"({"schema":1,"time":"2026-05-28T20:26:40.123456Z","run_id":"run-7",)"
      R"("principal":"","quota_key":"","program":"","program_path":"",)"
      R"("argv":[],"env_names":[],"secret_names":[],"working_dir":"",)"
      R"("limits_asked":{},"limits":{},)"
      R"("enforcement":{"limits":[],"isolation":[]},)"
      R"("verification":{"ok":false,"all_verified":false,)"
      R"("time":"2026-05-28T20:26:40.000000Z","checks":[)"
      R"({"item":"memory_bytes","result":"mismatch","asked":"64 MiB",)"
      R"("found":"1 GiB","source":"/sys/fs/cgroup/memory/x/memory.limit_in_bytes",)"
      R"("detail":"raised from outside"}]},"verify_error":null,)"
      R"("status":"failed","outcome":{"reason":"signaled","exit_code":null,)"
      R"("signal":9,"signal_name":"SIGKILL","exception":null,"syscall":null,)"
      R"("syscall_name":null,"wall_time_ms":1.5,"user_time_ms":0,)"
      R"("system_time_ms":0,"peak_memory_bytes":0,"samples":[)"
      R"({"time":"2026-05-28T20:26:41.000000Z","elapsed_ms":1000,)"
      R"("user_time_ms":900,"system_time_ms":0,"cpu_percent":92.5,)"
      R"("memory_bytes":10,"peak_memory_bytes":20,"processes":2,)"
      R"("stdout_bytes":3,"stderr_bytes":0,"state":"running"}]},)"
      R"("pid":42,"stdout_bytes":0,"stderr_bytes":0,"error_code":null,)"
      R"("error":null,"violation":null,)"
      R"("queued_at":"2026-05-28T20:26:40.000000Z",)"
      R"("started_at":"2026-05-28T20:26:40.000000Z",)"
      R"("finished_at":"2026-05-28T20:26:40.000001Z","duration_ms":0.001})");
}

TEST(AuditRecordJsonTest, InvalidUtf8BecomesReplacementAndControlsAreEscaped) {
  AuditRecord r;
  r.argv = {"\xff",
            "a\xc3(b",
            "\x1b[31mred",
            "tab\there\n",
            "q\"b\\s",
            "\x7f\xc2\x85",
            "\xe2\x80\xa8",
            "caf\xc3\xa9",
            "\xf0\x9f\x98\x80",
            std::string("nul\0x", 5)};
  const std::string json = AuditRecordJson(r);
  EXPECT_TRUE(IsUtf8(json));
  EXPECT_THAT(json, Not(HasSubstr("\n")));
  EXPECT_THAT(
      json, HasSubstr("\"argv\":[\"\xef\xbf\xbd\",\"a\xef\xbf\xbd(b\","
                      R"("\u001b[31mred",)"
                      R"("tab\there\n","q\"b\\s","\u007f\u0085","\u2028",)"
                      "\"caf\xc3\xa9\",\"\xf0\x9f\x98\x80\",\"nul\\u0000x\"]"));
}

// --- One record per run -----------------------------------------------------

TEST_F(SandboxAuditTest, LaunchAndFinishMakeOneRecord) {
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest request = Request("tool", {"fail"});
  request.principal = "bob";
  absl::StatusOr<std::unique_ptr<SandboxProcess>> p = sandbox.Launch(request);
  ASSERT_THAT(p, IsOk());
  EXPECT_THAT(records_.records(), IsEmpty());
  absl::StatusOr<SandboxResult> r = (*p)->Finish();
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT((*p)->Finish(), IsOk());  // the same result, no new record
  p->reset();
  std::vector<AuditRecord> records = records_.records();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0].run_id, r->id);
  EXPECT_EQ(records[0].principal, "bob");
  EXPECT_EQ(records[0].status, "failed");
  EXPECT_EQ(records[0].argv, (std::vector<std::string>{"tool", "fail"}));
  ASSERT_TRUE(records[0].outcome.has_value());
  EXPECT_EQ(records[0].outcome->exit_code, 3);
}

TEST_F(SandboxAuditTest, QueueFullAndCancelledRunsAreRecorded) {
  rig_.Program("/usr/bin/slow", [](FakeProcess& p) {
    p.Sleep(absl::Hours(1));
    return 0;
  });
  SandboxPolicy policy = Policy();
  policy.queue.max_concurrent = 1;
  policy.queue.max_queued = 1;
  auto sandbox = std::make_unique<Sandbox>(rig_.fake, policy);
  rig_.fake.clock().SetAutoAdvance(false);
  std::thread running([&] {
    RunRequest slow = Request("slow");
    slow.id = "slow";
    (void)sandbox->Run(slow);
  });
  ASSERT_THAT(rig_.fake.WaitIdle(1), IsOk());  // "slow" runs
  std::thread queued([&] {
    RunRequest next = Request("tool");
    next.id = "queued";
    EXPECT_THAT(sandbox->Run(next), StatusIs(absl::StatusCode::kCancelled));
  });
  ASSERT_THAT(rig_.fake.WaitIdle(2), IsOk());  // "queued" waits
  RunRequest full = Request("tool");
  full.id = "full";
  EXPECT_THAT(sandbox->Run(full),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_THAT(sandbox->Cancel("queued"), IsOk());
  queued.join();
  ASSERT_THAT(sandbox->Cancel("slow"), IsOk());
  running.join();
  sandbox.reset();
  std::set<std::string> seen;
  for (const AuditRecord& r : records_.records()) {
    seen.insert(absl::StrCat(r.run_id, " ", r.status, " ", r.error_code));
  }
  EXPECT_THAT(seen,
              ElementsAre("full rejected RESOURCE_EXHAUSTED",
                          "queued cancelled CANCELLED", "slow cancelled "));
}

TEST_F(SandboxAuditTest, AQuotaRefusalIsRecordedWithItsKey) {
  SandboxPolicy policy = Policy();
  policy.quota.enabled = true;
  policy.quota.default_quota.max_runs = 1;
  Sandbox sandbox(rig_.fake, policy);
  RunRequest first = Request("tool");
  first.quota_key = "tenant-a";
  ASSERT_THAT(sandbox.Run(first), IsOk());
  RunRequest second = Request("tool");
  second.quota_key = "tenant-a";
  second.principal = "alice";
  EXPECT_THAT(sandbox.Run(second),
              StatusIs(absl::StatusCode::kResourceExhausted));
  std::vector<AuditRecord> records = records_.records();
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_EQ(records[0].status, "completed");
  EXPECT_EQ(records[1].quota_key, "tenant-a");
  EXPECT_EQ(records[1].principal, "alice");
  EXPECT_EQ(records[1].status, "rejected");
  EXPECT_EQ(records[1].error_code, "RESOURCE_EXHAUSTED");
  EXPECT_FALSE(records[1].outcome.has_value());
  EXPECT_FALSE(records[1].started_at.has_value());
}

TEST_F(SandboxAuditTest, ABadPrincipalIsRefusedNamingTheField) {
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest control = Request("tool");
  control.principal = "eve\x1b[2J";
  EXPECT_THAT(sandbox.Run(control),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("RunRequest::principal")));
  RunRequest long_one = Request("tool");
  long_one.principal = std::string(257, 'p');
  EXPECT_THAT(sandbox.Run(long_one),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("RunRequest::principal")));
  RunRequest longest = Request("tool");
  longest.principal = std::string(256, 'p');
  EXPECT_THAT(sandbox.Run(longest), IsOk());
  EXPECT_THAT(rig_.fake.History(), SizeIs(1));
  EXPECT_THAT(records_.records(), SizeIs(3));
}

// --- A failing sink ----------------------------------------------------------

TEST_F(SandboxAuditTest, AFailingSinkKeepsTheResultAndIsReported) {
  SandboxPolicy policy = Policy();
  policy.audit = [](const AuditRecord&) {
    return absl::UnavailableError("log server down");
  };
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("tool"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
  EXPECT_EQ(r->stdout_, "out\n");
  EXPECT_THAT(r->audit_status,
              StatusIs(absl::StatusCode::kUnavailable, "log server down"));
  std::vector<SandboxEvent> failed =
      EventsOf(events_, SandboxEvent::Kind::kAuditFailed);
  ASSERT_THAT(failed, SizeIs(1));
  EXPECT_EQ(failed[0].run_id, r->id);
  EXPECT_THAT(failed[0].detail, HasSubstr("log server down"));
  // A refused run: its error stands, the event says the record is lost.
  EXPECT_THAT(sandbox.Run(Request("missing")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(EventsOf(events_, SandboxEvent::Kind::kAuditFailed), SizeIs(2));
}

TEST_F(SandboxAuditTest, ASinkThatThrowsIsReportedAsAnError) {
  SandboxPolicy policy = Policy();
  policy.audit = [](const AuditRecord&) -> absl::Status {
    throw std::runtime_error("disk on fire");
  };
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("tool"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->audit_status,
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("disk on fire")));
  EXPECT_THAT(EventsOf(events_, SandboxEvent::Kind::kAuditFailed), SizeIs(1));
}

TEST_F(SandboxAuditTest, AFileSinkOnAMissingDirectoryNamesThePath) {
  SandboxPolicy policy = Policy();
  const std::string path = dir_ + "/no/such/dir/runs.jsonl";
  policy.audit = AuditFileSink(path);
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("tool"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
  EXPECT_THAT(r->audit_status,
              StatusIs(absl::StatusCode::kNotFound,
                       absl::StrCat("append the audit record to \"", path,
                                    "\": no such file or directory (ENOENT)")));
  EXPECT_THAT(EventsOf(events_, SandboxEvent::Kind::kAuditFailed), SizeIs(1));
}

TEST(AuditFileSinkTest, AnEmptyPathIsAnError) {
  EXPECT_THAT(
      AuditFileSink("")(AuditRecord()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no file given")));
}

// Hostile destinations: a FIFO nobody reads fails at once (it would hold
// the run's thread forever on open), naming the path.
TEST_F(SandboxAuditTest, AFileSinkOnAFifoWithoutAReaderFailsAtOnce) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const absl::Status s = AuditFileSink(fifo)(AuditRecord());
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), AllOf(HasSubstr(fifo), HasSubstr("ENXIO")));
}

TEST_F(SandboxAuditTest, AFileSinkAppendsOneLinePerRunToAPrivateFile) {
  SandboxPolicy policy = Policy();
  policy.audit = AuditFileSink(log_path_);
  Sandbox sandbox(rig_.fake, policy);
  ASSERT_THAT(sandbox.Run(Request("tool")), IsOk());
  ASSERT_THAT(sandbox.Run(Request("missing")),
              StatusIs(absl::StatusCode::kNotFound));
  const std::string text = ReadFile(log_path_);
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[2], "");
  EXPECT_THAT(lines[0], HasSubstr(R"("status":"completed")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("error_code":"NOT_FOUND")"));
  struct stat st;
  ASSERT_EQ(stat(log_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// --- No secret reaches the log -----------------------------------------------

TEST_F(SandboxAuditTest, NoSecretValueReachesTheLogFile) {
  const std::string kSecret = "s3cr3t-Value-42";
  const std::string kSecretDir = absl::StrCat("/opt/", kSecret, "/bin");
  rig_.Program(kSecretDir + "/found", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = Policy();
  policy.audit = AuditFileSink(log_path_);
  policy.workdir.root = dir_ + "/runs";
  ASSERT_EQ(mkdir(policy.workdir.root.c_str(), 0700), 0);
  policy.workdir.remove_in_background = false;
  ASSERT_THAT(policy.environment.set.SetSecret("HOST_API_KEY", kSecret),
              IsOk());
  {
    Sandbox sandbox(rig_.fake, policy);
    auto with_secret = [&](RunRequest r) {
      EXPECT_THAT(r.env.SetSecret("TOKEN", kSecret), IsOk());
      return r;
    };
    // The secret in argv, in the principal and the key, in the working
    // directory, on a secret PATH, in a refused program's name, in an
    // error message (a forbidden variable's value).
    RunRequest args = with_secret(Request("tool", {"--token", kSecret}));
    args.principal = absl::StrCat("user-", kSecret);
    args.quota_key = kSecret;
    EXPECT_THAT(sandbox.Run(args), IsOk());
    RunRequest dir = with_secret(Request("tool"));
    dir.working_dir = absl::StrCat("w/", kSecret);
    EXPECT_THAT(sandbox.Run(dir), IsOk());
    RunRequest path = Request("found");
    ASSERT_THAT(path.env.SetSecret("PATH", kSecretDir), IsOk());
    EXPECT_THAT(sandbox.Run(path), IsOk());
    RunRequest named = with_secret(Request(absl::StrCat("bin/", kSecret)));
    EXPECT_FALSE(sandbox.Run(named).ok());
    RunRequest missing = with_secret(Request(absl::StrCat("no-", kSecret)));
    EXPECT_FALSE(sandbox.Run(missing).ok());
    RunRequest escape = with_secret(Request("tool"));
    escape.working_dir = absl::StrCat("../", kSecret);
    EXPECT_FALSE(sandbox.Run(escape).ok());
    RunRequest bad = with_secret(Request("tool"));
    ASSERT_THAT(bad.env.Set("LD_PRELOAD", kSecret), IsOk());
    EXPECT_FALSE(sandbox.Run(bad).ok());
  }
  const std::string log = ReadFile(log_path_);
  const std::vector<std::string> lines =
      absl::StrSplit(log, '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, SizeIs(7));
  EXPECT_THAT(log, Not(HasSubstr(kSecret)));
  // The secret's names are there, and so is what stood in for it.
  EXPECT_THAT(log, HasSubstr(R"("secret_names":["HOST_API_KEY","TOKEN"])"));
  EXPECT_THAT(log, HasSubstr(R"("argv":["tool","--token","<redacted>"])"));
  EXPECT_THAT(log, HasSubstr("/w/<redacted>\""));
}

// --- Many writers ------------------------------------------------------------

// Threads with sinks of their own on one file, records large enough to need
// several writes on a pipe-sized buffer: every line is one whole record.
TEST_F(SandboxAuditTest, ConcurrentWritersAppendWholeLines) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AuditSink sink = AuditFileSink(log_path_);
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord r;
        r.run_id = absl::StrCat("t", t, "-", i);
        r.argv = {std::string(100000, static_cast<char>('a' + t))};
        EXPECT_THAT(sink(r), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      AuditRecord r;
      r.run_id = absl::StrCat("t", t, "-", i);
      r.argv = {std::string(100000, static_cast<char>('a' + t))};
      expected.insert(AuditRecordJson(r));
    }
  }
  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(log_path_), '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(kThreads * kPerThread));
  std::set<std::string> seen;
  for (const std::string& line : lines) {
    EXPECT_EQ(expected.count(line), 1u) << line.substr(0, 80);
    seen.insert(line);
  }
  EXPECT_EQ(seen, expected);
}

// The sandbox's runs from many threads, one file: a record per run.
TEST_F(SandboxAuditTest, ConcurrentRunsEachLeaveOneRecord) {
  SandboxPolicy policy = Policy();
  policy.audit = AuditFileSink(log_path_);
  policy.queue.max_concurrent = 4;
  Sandbox sandbox(rig_.fake, policy);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        RunRequest r = Request("tool");
        r.id = absl::StrCat("t", t, "-", i);
        EXPECT_THAT(sandbox.Run(r), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(log_path_), '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const std::string& line : lines) {
    EXPECT_THAT(line, ::testing::StartsWith(R"({"schema":1,)"));
    EXPECT_THAT(line, ::testing::EndsWith("}"));
    const std::size_t at = line.find(R"("run_id":")");
    ASSERT_NE(at, std::string::npos);
    ids.insert(line.substr(at + 10, line.find('"', at + 10) - at - 10));
  }
  EXPECT_THAT(ids, SizeIs(kThreads * kPerThread));
  EXPECT_THAT(ids, Contains("t5-9"));
}

}  // namespace
}  // namespace procsandbox

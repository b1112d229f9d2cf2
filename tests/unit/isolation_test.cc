// Isolation: validation of every field, capability names, the seccomp
// filter text, ToString and equality, Untrusted(), and how the fake
// reports and refuses isolation mechanisms.
#include "procsandbox/isolation.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

Isolation WithMount(Mount mount) {
  Isolation isolation;
  isolation.mounts.push_back(std::move(mount));
  return isolation;
}

Isolation WithRules(std::vector<SeccompRule> rules) {
  Isolation isolation;
  isolation.seccomp = SeccompFilter{SeccompAction::kAllow, std::move(rules)};
  return isolation;
}

// --- ValidateIsolation
// --------------------------------------------------------

TEST(ValidateIsolationTest, AcceptsTheDefaultsAndUntrusted) {
  EXPECT_THAT(ValidateIsolation(Isolation()), IsOk());
  EXPECT_THAT(ValidateIsolation(Isolation::Untrusted()), IsOk());
  EXPECT_THAT(ValidateIsolation(Isolation::Untrusted("/srv/runs/42")), IsOk());
}

TEST(ValidateIsolationTest, RefusesGroupsWithoutAUidOrGid) {
  Isolation isolation;
  isolation.groups = {10, 20};
  EXPECT_THAT(ValidateIsolation(isolation),
              StatusIs(kInvalid, AllOf(HasSubstr("groups [10, 20]"),
                                       HasSubstr("without uid or gid"))));
  isolation.gid = 100;
  EXPECT_THAT(ValidateIsolation(isolation), IsOk());
}

TEST(ValidateIsolationTest, RefusesKeptCapabilitiesWithoutTheDrop) {
  Isolation isolation;
  isolation.keep_capabilities = {"CAP_NET_BIND_SERVICE"};
  EXPECT_THAT(ValidateIsolation(isolation),
              StatusIs(kInvalid, HasSubstr("without drop_capabilities")));
  isolation.drop_capabilities = true;
  EXPECT_THAT(ValidateIsolation(isolation), IsOk());
}

TEST(ValidateIsolationTest, RefusesAnUnknownCapabilityNamingIt) {
  Isolation isolation;
  isolation.drop_capabilities = true;
  isolation.keep_capabilities = {"net_bind_service", "CAP_FLY"};
  EXPECT_THAT(ValidateIsolation(isolation),
              StatusIs(kInvalid, AllOf(HasSubstr("keep_capabilities"),
                                       HasSubstr("\"CAP_FLY\""))));
}

TEST(ValidateIsolationTest, RefusesAMountPathThatIsNotAbsoluteAndPlain) {
  struct Case {
    Mount mount;
    const char* cause;
  };
  const Case cases[] = {
      {Mount::ReadOnlyBind("usr", "/usr"), "is not absolute"},
      {Mount::ReadOnlyBind("/usr", "usr"), "is not absolute"},
      {Mount::Tmpfs("", 1 << 20), "is empty"},
      {Mount::Bind(""), "is empty"},
      {Mount::Tmpfs("/tmp/./x", 1 << 20), "has a \".\" part"},
      {Mount::ReadOnlyBind("/usr/../etc"), "has a \"..\" part"},
      {Mount::ReadOnlyBind("/usr", "/mnt/.."), "has a \"..\" part"},
      {Mount::Proc("/a//proc"), "has an empty part"},
      {Mount::Dev("//dev"), "has an empty part"},
      {Mount::Bind(std::string("/a\0b", 4)), "contains a NUL byte"},
      {Mount::Tmpfs("/" + std::string(5000, 'x'), 0), "longer than PATH_MAX"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        ValidateIsolation(WithMount(c.mount)),
        StatusIs(kInvalid, AllOf(HasSubstr("mount "), HasSubstr(c.cause))))
        << ToString(c.mount);
  }
}

TEST(ValidateIsolationTest, AcceptsTheRootAndATrailingSlash) {
  EXPECT_THAT(ValidateIsolation(WithMount(Mount::ReadOnlyBind("/"))), IsOk());
  EXPECT_THAT(ValidateIsolation(WithMount(Mount::Bind("/srv/", "/work/"))),
              IsOk());
}

TEST(ValidateIsolationTest, RefusesASourceOnAMountThatTakesNone) {
  for (Mount mount : {Mount::Tmpfs("/tmp", 0), Mount::Proc(), Mount::Dev()}) {
    mount.source = "/host";
    EXPECT_THAT(ValidateIsolation(WithMount(mount)),
                StatusIs(kInvalid,
                         HasSubstr(absl::StrCat("a ", MountTypeName(mount.type),
                                                " mount takes no source"))))
        << ToString(mount);
  }
}

TEST(ValidateIsolationTest, RefusesANegativeSize) {
  EXPECT_THAT(ValidateIsolation(WithMount(Mount::Tmpfs("/tmp", -1))),
              StatusIs(kInvalid, HasSubstr("size_bytes is negative")));
}

TEST(ValidateIsolationTest, RefusesASizeOnABindOrProc) {
  for (Mount mount :
       {Mount::Bind("/srv"), Mount::ReadOnlyBind("/usr"), Mount::Proc()}) {
    mount.size_bytes = 4096;
    EXPECT_THAT(
        ValidateIsolation(WithMount(mount)),
        StatusIs(kInvalid, HasSubstr("only tmpfs and dev mounts take a size")))
        << ToString(mount);
  }
  Mount dev = Mount::Dev();
  dev.size_bytes = 1 << 20;
  EXPECT_THAT(ValidateIsolation(WithMount(dev)), IsOk());
}

TEST(ValidateIsolationTest, RefusesAHostnameWithoutTheUtsNamespace) {
  Isolation isolation;
  isolation.hostname = "box";
  EXPECT_THAT(ValidateIsolation(isolation),
              StatusIs(kInvalid, AllOf(HasSubstr("hostname \"box\""),
                                       HasSubstr("needs namespaces.uts"))));
  isolation.namespaces.uts = true;
  EXPECT_THAT(ValidateIsolation(isolation), IsOk());
}

TEST(ValidateIsolationTest, RefusesAHostnameTooLongOrWithABadCharacter) {
  Isolation isolation;
  isolation.namespaces.uts = true;
  isolation.hostname = std::string(64, 'a');
  EXPECT_THAT(ValidateIsolation(isolation), IsOk());
  isolation.hostname = std::string(65, 'a');
  EXPECT_THAT(ValidateIsolation(isolation),
              StatusIs(kInvalid, HasSubstr("longer than 64 bytes")));
  for (const char* bad : {"my box", "box_1", "box/1", "bö"}) {
    isolation.hostname = bad;
    EXPECT_THAT(ValidateIsolation(isolation),
                StatusIs(kInvalid, HasSubstr("a character other than")))
        << bad;
  }
}

TEST(ValidateIsolationTest, RefusesSeccompWithoutNoNewPrivs) {
  Isolation isolation;
  isolation.seccomp = SeccompFilter::DefaultDenyList();
  isolation.no_new_privs = false;
  EXPECT_THAT(ValidateIsolation(isolation),
              StatusIs(kInvalid, HasSubstr("needs no_new_privs")));
}

TEST(ValidateIsolationTest, RefusesAnEmptyOrInvalidSyscallName) {
  EXPECT_THAT(ValidateIsolation(WithRules({{"", SeccompAction::kEperm, 0}})),
              StatusIs(kInvalid, HasSubstr("empty syscall name")));
  EXPECT_THAT(
      ValidateIsolation(WithRules({{"ptrace(2)", SeccompAction::kEperm, 0}})),
      StatusIs(kInvalid, AllOf(HasSubstr("\"ptrace(2)\""),
                               HasSubstr("is not a syscall name"))));
}

TEST(ValidateIsolationTest, RefusesTwoActionsForOneCall) {
  EXPECT_THAT(
      ValidateIsolation(WithRules({{"ptrace", SeccompAction::kEperm, 0},
                                   {"ptrace", SeccompAction::kKill, 0}})),
      StatusIs(kInvalid,
               AllOf(HasSubstr("\"ptrace\""),
                     HasSubstr("is given twice, as eperm and kill"))));
}

TEST(ValidateIsolationTest, AcceptsARepeatedRuleAndRulesOnOtherArguments) {
  EXPECT_THAT(
      ValidateIsolation(WithRules({{"ptrace", SeccompAction::kEperm, 0},
                                   {"ptrace", SeccompAction::kEperm, 0},
                                   {"clone", SeccompAction::kAllow, 0},
                                   {"clone", SeccompAction::kKill, 0x10}})),
      IsOk());
}

TEST(ValidateIsolationTest, CommandValidationRefusesABadIsolation) {
  Command cmd("true");
  cmd.isolation.hostname = "box";
  EXPECT_THAT(ValidateCommand(cmd),
              StatusIs(kInvalid, HasSubstr("needs namespaces.uts")));
}

// --- Capability names
// ---------------------------------------------------------

TEST(CapabilityNameTest, ParsesAnyCaseWithOrWithoutThePrefix) {
  for (const char* name :
       {"CAP_SYS_ADMIN", "cap_sys_admin", "SYS_ADMIN", "sys_admin"}) {
    absl::StatusOr<int> n = ParseCapability(name);
    ASSERT_THAT(n.status(), IsOk()) << name;
    EXPECT_EQ(*n, 21) << name;
  }
  EXPECT_EQ(*ParseCapability("chown"), 0);
  EXPECT_EQ(*ParseCapability("CAP_CHECKPOINT_RESTORE"), 40);
}

TEST(CapabilityNameTest, RefusesAnUnknownNameNamingIt) {
  for (const char* name : {"", "CAP_", "CAP_FLY", "cap_63", "all"}) {
    EXPECT_THAT(ParseCapability(name).status(),
                StatusIs(kInvalid, HasSubstr("unknown capability")))
        << name;
  }
  EXPECT_THAT(ParseCapability("CAP_FLY").status(),
              StatusIs(kInvalid, HasSubstr("\"CAP_FLY\"")));
}

TEST(CapabilityNameTest, NamesEachNumberAndRoundTrips) {
  EXPECT_EQ(CapabilityName(0), "CAP_CHOWN");
  EXPECT_EQ(CapabilityName(21), "CAP_SYS_ADMIN");
  EXPECT_EQ(CapabilityName(63), "cap_63");
  EXPECT_EQ(CapabilityName(-1), "cap_-1");
  for (int n = 0; n <= 40; ++n) {
    absl::StatusOr<int> back = ParseCapability(CapabilityName(n));
    ASSERT_THAT(back.status(), IsOk()) << n;
    EXPECT_EQ(*back, n);
  }
}

// --- ParseSeccompFilter
// -------------------------------------------------------

TEST(ParseSeccompFilterTest, ReadsDefaultsActionsAndComments) {
  absl::StatusOr<SeccompFilter> filter = ParseSeccompFilter(
      "# an allow list\n"
      "default kill\n"
      "\n"
      "allow read write   exit_group  # the basics\n"
      "\teperm socket\r\n"
      "enosys clone3\n");
  ASSERT_THAT(filter.status(), IsOk());
  EXPECT_EQ(filter->default_action, SeccompAction::kKill);
  const std::vector<SeccompRule> want = {
      {"read", SeccompAction::kAllow, 0},
      {"write", SeccompAction::kAllow, 0},
      {"exit_group", SeccompAction::kAllow, 0},
      {"socket", SeccompAction::kEperm, 0},
      {"clone3", SeccompAction::kEnosys, 0},
  };
  EXPECT_EQ(filter->rules, want);
}

TEST(ParseSeccompFilterTest, AnEmptyTextAllowsEverything) {
  absl::StatusOr<SeccompFilter> filter = ParseSeccompFilter("# nothing\n\n");
  ASSERT_THAT(filter.status(), IsOk());
  EXPECT_EQ(*filter, SeccompFilter());
}

TEST(ParseSeccompFilterTest, IncludesTheDefaultDenyListWithItsAction) {
  absl::StatusOr<SeccompFilter> eperm =
      ParseSeccompFilter("include default-deny-list\n");
  ASSERT_THAT(eperm.status(), IsOk());
  EXPECT_EQ(*eperm, SeccompFilter::DefaultDenyList());
  absl::StatusOr<SeccompFilter> kill =
      ParseSeccompFilter("include default-deny-list kill\n");
  ASSERT_THAT(kill.status(), IsOk());
  EXPECT_EQ(*kill, SeccompFilter::DefaultDenyList(SeccompAction::kKill));
  absl::StatusOr<SeccompFilter> more = ParseSeccompFilter(
      "include default-deny-list\n"
      "eperm socket\n");
  ASSERT_THAT(more.status(), IsOk());
  EXPECT_EQ(more->rules.size(),
            SeccompFilter::DefaultDenyList().rules.size() + 1);
  EXPECT_EQ(more->rules.back(), (SeccompRule{"socket", SeccompAction::kEperm}));
}

TEST(ParseSeccompFilterTest, NamesTheLineOfEachMistake) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"default", "line 1: default takes one action"},
      {"default allow kill", "line 1: default takes one action"},
      {"# x\ndefault eperm\ndefault kill", "line 3: a second default"},
      {"\ndefault deny", "line 2: unknown action \"deny\""},
      {"include", "line 1: include takes default-deny-list"},
      {"include my-list", "line 1: include takes default-deny-list"},
      {"include default-deny-list kill eperm",
       "line 1: include takes default-deny-list"},
      {"include default-deny-list maybe", "line 1: unknown action \"maybe\""},
      {"block ptrace", "line 1: expected default, include or an action"},
      {"allow read\nkill", "line 2: an action without a syscall"},
      {"allow read\n\neperm sys-call", "line 3: isolation seccomp rule"},
      {"eperm ptrace\nkill ptrace",
       "line 2: isolation seccomp rule \"ptrace\": is given twice"},
      {"allow ptrace\ninclude default-deny-list",
       "line 2: isolation seccomp rule \"ptrace\": is given twice"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        ParseSeccompFilter(c.text).status(),
        StatusIs(kInvalid, HasSubstr(absl::StrCat("seccomp filter ", c.error))))
        << c.text;
  }
}

// --- Values: ToString, equality, Untrusted
// ------------------------------------

TEST(IsolationValueTest, ToStringOfEachType) {
  EXPECT_EQ(ToString(Namespaces()), "[]");
  EXPECT_EQ(ToString(Namespaces::All()), "[mount,pid,net,ipc,uts,cgroup]");
  EXPECT_EQ(ToString(Mount::ReadOnlyBind("/")), "ro-bind \"/\"");
  EXPECT_EQ(ToString(Mount::Bind("/srv/42", "/work")),
            "bind \"/srv/42\" -> \"/work\"");
  EXPECT_EQ(ToString(Mount::Tmpfs("/tmp", 64 << 20)),
            "tmpfs \"/tmp\" (64 MiB)");
  EXPECT_EQ(ToString(Mount::Proc()), "proc \"/proc\"");
  EXPECT_EQ(ToString(Mount::Dev()), "dev \"/dev\"");
  EXPECT_EQ(
      ToString(SeccompFilter{SeccompAction::kEperm,
                             {{"read", SeccompAction::kAllow, 0},
                              {"clone", SeccompAction::kKill, 0x10000000}}}),
      "{default eperm, 2 rules: allow read, kill clone(arg0 & 0x10000000)}");
  EXPECT_EQ(ToString(IsolationKind::kCgroupNamespace), "cgroup_namespace");
  EXPECT_EQ(ToString(Isolation()),
            "{new_process_group=true, new_session=false, no_new_privs=true, "
            "die_with_parent=true}");
  Isolation isolation;
  isolation.uid = 1000;
  isolation.gid = 100;
  isolation.groups = {4, 24};
  isolation.drop_capabilities = true;
  isolation.keep_capabilities = {"NET_RAW"};
  isolation.namespaces.uts = true;
  isolation.mounts = {Mount::Tmpfs("/tmp", 1 << 20)};
  isolation.hostname = "box";
  isolation.seccomp = SeccompFilter();
  EXPECT_EQ(ToString(isolation),
            "{new_process_group=true, new_session=false, no_new_privs=true, "
            "die_with_parent=true, uid=1000, gid=100, groups=[4,24], "
            "drop_capabilities=true, keep_capabilities=[NET_RAW], "
            "namespaces=[uts], mounts=[tmpfs \"/tmp\" (1 MiB)], "
            "hostname=\"box\", seccomp={default allow, 0 rules}}");
  EXPECT_EQ(fmt::format("{}", isolation), ToString(isolation));
}

TEST(IsolationValueTest, NamesEachKindActionAndMountType) {
  std::vector<std::string> kinds;
  for (IsolationKind kind : kAllIsolationKinds) {
    kinds.emplace_back(IsolationKindName(kind));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{
                       "no_new_privs", "credentials", "capabilities",
                       "user_namespace", "mount_namespace", "pid_namespace",
                       "net_namespace", "ipc_namespace", "uts_namespace",
                       "cgroup_namespace", "seccomp"}));
  EXPECT_EQ(SeccompActionName(SeccompAction::kAllow), "allow");
  EXPECT_EQ(SeccompActionName(SeccompAction::kEperm), "eperm");
  EXPECT_EQ(SeccompActionName(SeccompAction::kEnosys), "enosys");
  EXPECT_EQ(SeccompActionName(SeccompAction::kKill), "kill");
  EXPECT_EQ(MountTypeName(Mount::Type::kBindReadOnly), "ro-bind");
  EXPECT_EQ(MountTypeName(Mount::Type::kBind), "bind");
}

TEST(IsolationValueTest, EqualityComparesEveryField) {
  const Isolation base = Isolation::Untrusted("/srv/42");
  EXPECT_EQ(base, Isolation::Untrusted("/srv/42"));
  std::vector<Isolation> changed(13, base);
  changed[0].new_process_group = false;
  changed[1].new_session = true;
  changed[2].no_new_privs = false;
  changed[3].die_with_parent = false;
  changed[4].uid = 1;
  changed[5].gid = 1;
  changed[6].groups = {1};
  changed[7].drop_capabilities = false;
  changed[8].keep_capabilities = {"CHOWN"};
  changed[9].namespaces.net = false;
  changed[10].mounts.back().size_bytes = 1;
  changed[11].hostname = "other";
  changed[12].seccomp->rules.pop_back();
  for (std::size_t i = 0; i < changed.size(); ++i) {
    EXPECT_NE(changed[i], base) << i;
    EXPECT_FALSE(changed[i] == base) << i;
  }
  Mount m = Mount::Bind("/a");
  EXPECT_NE(m, Mount::ReadOnlyBind("/a"));
  EXPECT_NE(m, Mount::Bind("/a", "/b"));
  EXPECT_NE(m, Mount::Bind("/b", "/a"));
  EXPECT_NE((SeccompRule{"clone", SeccompAction::kEperm, 1}),
            (SeccompRule{"clone", SeccompAction::kEperm, 2}));
  Namespaces user;
  user.user = true;
  EXPECT_NE(user, Namespaces());
  EXPECT_TRUE(user.any());
  EXPECT_FALSE(Namespaces().any());
}

TEST(IsolationValueTest, UntrustedDropsEverythingAndMountsTheRootReadOnly) {
  const Isolation isolation = Isolation::Untrusted("/srv/42", 8 << 20);
  EXPECT_TRUE(isolation.drop_capabilities);
  EXPECT_TRUE(isolation.keep_capabilities.empty());
  EXPECT_TRUE(isolation.no_new_privs);
  EXPECT_EQ(isolation.namespaces, Namespaces::All());
  EXPECT_FALSE(isolation.namespaces.user);
  Mount dev = Mount::Dev();
  dev.size_bytes = 8 << 20;
  const std::vector<Mount> want = {Mount::ReadOnlyBind("/"),
                                   Mount::Tmpfs("/tmp", 8 << 20),
                                   Mount::Tmpfs("/run", 8 << 20),
                                   Mount::Bind("/srv/42"),
                                   Mount::Proc(),
                                   dev};
  EXPECT_EQ(isolation.mounts, want);
  EXPECT_EQ(isolation.hostname, "sandbox");
  EXPECT_EQ(isolation.seccomp, SeccompFilter::DefaultDenyList());
  // Without a working directory nothing is writable but the tmpfs entries.
  for (const Mount& m : Isolation::Untrusted().mounts) {
    EXPECT_NE(m.type, Mount::Type::kBind) << ToString(m);
  }
  EXPECT_EQ(Isolation::Untrusted().mounts[1].size_bytes, int64_t{64} << 20);
}

TEST(IsolationValueTest, TheDefaultDenyListDeniesTheKernelWideCalls) {
  const SeccompFilter filter =
      SeccompFilter::DefaultDenyList(SeccompAction::kKill);
  EXPECT_EQ(filter.default_action, SeccompAction::kAllow);
  auto action_of = [&](const std::string& name) {
    for (const SeccompRule& r : filter.rules) {
      if (r.syscall == name) return SeccompActionName(r.action);
    }
    return absl::string_view("none");
  };
  for (const char* name : {"ptrace", "mount", "kexec_load", "bpf", "keyctl",
                           "add_key", "unshare", "setns", "perf_event_open"}) {
    EXPECT_EQ(action_of(name), "kill") << name;
  }
  EXPECT_EQ(action_of("clone3"), "enosys");
  EXPECT_EQ(action_of("read"), "none");
  for (const SeccompRule& r : filter.rules) {
    if (r.syscall == "clone") {
      EXPECT_NE(r.arg0_any_bits, 0u);
    }
  }
}

// --- The fake's report
// ---------------------------------------------------------

int ReturnZero(FakeProcess&) { return 0; }

TEST(MemoryManagerIsolationTest, ReportsEachRequestedKindAsVirtual) {
  MemoryManager fake;
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.isolation = Isolation::Untrusted();
  cmd.isolation.uid = 65534;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_THAT(r.status(), IsOk());
  std::vector<IsolationKind> kinds;
  for (const IsolationEnforcement& e : r->enforcement.isolation) {
    EXPECT_TRUE(e.enforced) << ToString(e);
    EXPECT_EQ(e.detail, "virtual") << ToString(e);
    kinds.push_back(e.kind);
  }
  // Every kind but the user namespace, which Untrusted() leaves to the
  // library.
  EXPECT_EQ(kinds,
            (std::vector<IsolationKind>{
                IsolationKind::kNoNewPrivs, IsolationKind::kCredentials,
                IsolationKind::kCapabilities, IsolationKind::kMountNamespace,
                IsolationKind::kPidNamespace, IsolationKind::kNetNamespace,
                IsolationKind::kIpcNamespace, IsolationKind::kUtsNamespace,
                IsolationKind::kCgroupNamespace, IsolationKind::kSeccomp}));
}

TEST(MemoryManagerIsolationTest, ReportsOnlyWhatWasAskedFor) {
  MemoryManager fake;
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.isolation.mounts = {Mount::Tmpfs("/tmp", 1 << 20)};
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_THAT(r.status(), IsOk());
  ASSERT_EQ(r->enforcement.isolation.size(), 2u);
  EXPECT_NE(r->enforcement.Find(IsolationKind::kNoNewPrivs), nullptr);
  EXPECT_NE(r->enforcement.Find(IsolationKind::kMountNamespace), nullptr);
  EXPECT_EQ(r->enforcement.Find(IsolationKind::kSeccomp), nullptr);
}

MemoryManagerOptions WithoutSeccomp(bool strict) {
  MemoryManagerOptions options;
  options.strict = strict;
  options.unenforced_isolation = {
      {IsolationKind::kSeccomp, false, "no seccomp in this kernel"}};
  return options;
}

TEST(MemoryManagerIsolationTest, CapabilitiesListEveryKindAndTheMissingOne) {
  MemoryManager fake(WithoutSeccomp(false));
  const Capabilities caps = fake.capabilities();
  ASSERT_EQ(caps.isolation.size(), std::size(kAllIsolationKinds));
  for (const IsolationEnforcement& e : caps.isolation) {
    if (e.kind == IsolationKind::kSeccomp) {
      EXPECT_FALSE(e.enforced);
      EXPECT_EQ(e.detail, "no seccomp in this kernel");
    } else {
      EXPECT_TRUE(e.enforced) << ToString(e);
      EXPECT_EQ(e.detail, "virtual");
    }
  }
}

TEST(MemoryManagerIsolationTest, StrictStartRefusesAMissingMechanismNamingIt) {
  MemoryManager fake(WithoutSeccomp(true));
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.isolation.seccomp = SeccompFilter::DefaultDenyList();
  EXPECT_THAT(
      fake.New(cmd)->Start(),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("start \"t\""), HasSubstr("isolation seccomp"),
                     HasSubstr("no seccomp in this kernel"))));
  // Without the filter the same command runs.
  cmd.isolation.seccomp.reset();
  EXPECT_THAT(procsandbox::RunCommand(fake, cmd).status(), IsOk());
}

TEST(MemoryManagerIsolationTest, NonStrictRunsAndReportsItNotEnforced) {
  MemoryManager fake(WithoutSeccomp(false));
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.isolation.seccomp = SeccompFilter::DefaultDenyList();
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  const IsolationEnforcement* seccomp =
      r->enforcement.Find(IsolationKind::kSeccomp);
  ASSERT_NE(seccomp, nullptr);
  EXPECT_FALSE(seccomp->enforced);
  EXPECT_EQ(seccomp->detail, "no seccomp in this kernel");
  EXPECT_FALSE(r->enforcement.all_enforced());
}

}  // namespace
}  // namespace procsandbox

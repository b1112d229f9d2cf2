#include "posix/exec_plan.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/exec_errors.h"
#include "posix/program_path.h"
#include "procsandbox/command.h"

namespace procsandbox::posix_internal {

std::string ShownProgram(const ExecPlan& plan) {
  return plan.shown_program.empty() ? absl::StrCat("\"", plan.path, "\"")
                                    : plan.shown_program;
}

std::vector<char*> PointersTo(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  // execve takes char* const[]; it does not write through them.
  for (const std::string& s : strings)
    pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

absl::Status PlanFromCommand(const Command& command, ExecPlan& plan) {
  absl::StatusOr<std::string> path =
      ResolveProgram(command.program, command.env, command.working_dir);
  if (!path.ok()) return path.status();
  plan.path = *std::move(path);
  plan.shown_program =
      internal::ShownProgram(command.program, plan.path, command.env);
  plan.argv.reserve(command.args.size() + 1);
  plan.argv.push_back(command.program);
  plan.argv.insert(plan.argv.end(), command.args.begin(), command.args.end());
  plan.envp = command.env.ToStrings();
  plan.working_dir = command.working_dir;
  plan.new_session = command.isolation.new_session;
  plan.new_process_group = command.isolation.new_process_group;
  plan.uid = command.isolation.uid;
  plan.gid = command.isolation.gid;
  plan.groups = command.isolation.groups;
  return absl::OkStatus();
}

}  // namespace procsandbox::posix_internal

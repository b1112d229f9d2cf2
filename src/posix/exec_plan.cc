#include "posix/exec_plan.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

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

}  // namespace procsandbox::posix_internal

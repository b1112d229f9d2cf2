// RunDirectory: the public face of the sandbox's Workdir.
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/sandbox/workdir.h"
#include "sandbox/workdir.h"

namespace procsandbox {

absl::StatusOr<RunDirectory> RunDirectory::Create(const std::string& root) {
  absl::StatusOr<std::unique_ptr<sandbox_internal::Workdir>> dir =
      sandbox_internal::Workdir::Create(root);
  if (!dir.ok()) return dir.status();
  return RunDirectory(*std::move(dir));
}

RunDirectory::RunDirectory(std::unique_ptr<sandbox_internal::Workdir> dir)
    : dir_(std::move(dir)) {}
RunDirectory::RunDirectory(RunDirectory&& other) noexcept = default;
RunDirectory& RunDirectory::operator=(RunDirectory&& other) noexcept = default;
RunDirectory::~RunDirectory() = default;

const std::string& RunDirectory::path() const {
  static const std::string* const kNone = new std::string();
  return dir_ ? dir_->path() : *kNone;
}

absl::Status RunDirectory::Remove(absl::Duration timeout) {
  return dir_ ? dir_->Remove(timeout) : absl::OkStatus();
}

}  // namespace procsandbox

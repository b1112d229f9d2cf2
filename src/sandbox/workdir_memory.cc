// WorkdirProvider's destructors, and MemoryWorkdirProvider: run directories
// that exist only as recorded names (see procsandbox/sandbox/workdir.h).
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "procsandbox/sandbox/workdir.h"
#include "sandbox/workdir.h"

namespace procsandbox {

WorkdirProvider::~WorkdirProvider() = default;
WorkdirProvider::Directory::~Directory() = default;

struct MemoryWorkdirProvider::State {
  absl::Mutex mu;
  std::size_t next ABSL_GUARDED_BY(mu) = 1;
  std::deque<absl::Status> create_failures ABSL_GUARDED_BY(mu);
  std::deque<absl::Status> remove_failures ABSL_GUARDED_BY(mu);
  std::vector<std::string> created ABSL_GUARDED_BY(mu);
  std::vector<std::string> removed ABSL_GUARDED_BY(mu);
  std::vector<std::string> subdirectories ABSL_GUARDED_BY(mu);
};

namespace {

class MemoryDirectory final : public WorkdirProvider::Directory {
 public:
  MemoryDirectory(std::shared_ptr<MemoryWorkdirProvider::State> state,
                  std::string path)
      : state_(std::move(state)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  absl::StatusOr<std::string> Subdirectory(
      absl::string_view relative) override {
    // The same rule as on disk (there is no symlink to meet here).
    if (absl::Status s = sandbox_internal::CheckRelativePath(relative);
        !s.ok()) {
      return s;
    }
    std::string path = path_;
    for (absl::string_view part : absl::StrSplit(relative, '/')) {
      if (!part.empty() && part != ".") absl::StrAppend(&path, "/", part);
    }
    absl::MutexLock lock(&state_->mu);
    state_->subdirectories.push_back(path);
    return path;
  }

  absl::Status Remove(absl::Duration /*timeout*/) override {
    if (removed_) return absl::OkStatus();
    absl::MutexLock lock(&state_->mu);
    if (!state_->remove_failures.empty()) {
      absl::Status error = std::move(state_->remove_failures.front());
      state_->remove_failures.pop_front();
      return error;
    }
    removed_ = true;
    state_->removed.push_back(path_);
    return absl::OkStatus();
  }

 private:
  const std::shared_ptr<MemoryWorkdirProvider::State> state_;
  const std::string path_;
  bool removed_ = false;  // one owner at a time, as for a Workdir
};

}  // namespace

MemoryWorkdirProvider::MemoryWorkdirProvider()
    : state_(std::make_shared<State>()) {}
MemoryWorkdirProvider::~MemoryWorkdirProvider() = default;

absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>>
MemoryWorkdirProvider::Create(const std::string& root) {
  absl::string_view base = root;
  while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
  absl::MutexLock lock(&state_->mu);
  if (!state_->create_failures.empty()) {
    absl::Status error = std::move(state_->create_failures.front());
    state_->create_failures.pop_front();
    return error;
  }
  std::string path =
      absl::StrCat(base == "/" ? "" : base, "/run-", state_->next++);
  state_->created.push_back(path);
  return std::make_unique<MemoryDirectory>(state_, std::move(path));
}

void MemoryWorkdirProvider::FailCreate(absl::Status error, std::size_t count) {
  if (error.ok()) {
    error = absl::InternalError(
        "MemoryWorkdirProvider::FailCreate was given an OK status");
  }
  absl::MutexLock lock(&state_->mu);
  for (std::size_t i = 0; i < count; ++i) {
    state_->create_failures.push_back(error);
  }
}

void MemoryWorkdirProvider::FailRemove(absl::Status error, std::size_t count) {
  if (error.ok()) {
    error = absl::InternalError(
        "MemoryWorkdirProvider::FailRemove was given an OK status");
  }
  absl::MutexLock lock(&state_->mu);
  for (std::size_t i = 0; i < count; ++i) {
    state_->remove_failures.push_back(error);
  }
}

std::vector<std::string> MemoryWorkdirProvider::created() const {
  absl::MutexLock lock(&state_->mu);
  return state_->created;
}

std::vector<std::string> MemoryWorkdirProvider::removed() const {
  absl::MutexLock lock(&state_->mu);
  return state_->removed;
}

std::vector<std::string> MemoryWorkdirProvider::present() const {
  absl::MutexLock lock(&state_->mu);
  std::vector<std::string> out;
  for (const std::string& path : state_->created) {
    bool gone = false;
    for (const std::string& r : state_->removed) gone = gone || r == path;
    if (!gone) out.push_back(path);
  }
  return out;
}

std::vector<std::string> MemoryWorkdirProvider::subdirectories() const {
  absl::MutexLock lock(&state_->mu);
  return state_->subdirectories;
}

}  // namespace procsandbox

#include "result_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "report.h"

namespace procsandbox::cli {

ResultFile::~ResultFile() {
  if (owned_) close(fd_);
}

absl::Status ResultFile::Open(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  if (path == "-") {
    fd_ = 1;
    name_ = "stdout";
    return absl::OkStatus();
  }
  name_ = absl::StrCat("\"", path, "\"");
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("open the result file ", name_,
                                               ": ", std::strerror(errno)));
  }
  fd_ = fd;
  owned_ = true;
  return absl::OkStatus();
}

absl::Status ResultFile::Write(const nlohmann::ordered_json& json) {
  if (fd_ < 0) return absl::OkStatus();
  if (owned_) {
    // From the start of the file, over whatever the program wrote in it
    // meanwhile (a FIFO or a device has no offset: nothing to do).
    struct stat st;
    if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      (void)ftruncate(fd_, 0);
      (void)lseek(fd_, 0, SEEK_SET);
    }
  }
  return WriteAll(fd_, JsonText(json), absl::StrCat("the result to ", name_));
}

absl::Status WriteAll(int fd, absl::string_view text, absl::string_view what) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("write ", what, ": ",
                       n < 0 ? std::strerror(errno) : "wrote 0 bytes"));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace procsandbox::cli

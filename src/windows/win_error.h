// Win32 errors as Statuses, and a handle that closes itself: the two
// building blocks every Win32 file of the Windows backend uses.
//
// A Win32 error becomes a Status at the call that failed, in the library's
// error grammar: `<action>: <cause> (<ERROR_NAME>)`, with the most specific
// canonical code (NotFound for ERROR_FILE_NOT_FOUND, PermissionDenied for
// ERROR_ACCESS_DENIED, ResourceExhausted for a lack of memory or handles).
#ifndef PROCSANDBOX_SRC_WINDOWS_WIN_ERROR_H_
#define PROCSANDBOX_SRC_WINDOWS_WIN_ERROR_H_

#include <windows.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace procsandbox::windows_internal {

// "ERROR_FILE_NOT_FOUND" for the errors the backend meets, else "error 1234".
std::string WinErrorName(DWORD err);
// The system's text for `err`, in lower case without the final period:
// "the system cannot find the file specified".
std::string WinErrorText(DWORD err);
// `<action>: <text> (<name>)` with the code that fits `err`.
absl::Status WinErrorStatus(DWORD err, absl::string_view action);
// The same for GetLastError().
absl::Status LastErrorStatus(absl::string_view action);

// Owns one HANDLE (null and INVALID_HANDLE_VALUE both mean none).
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(HANDLE h) : h_(h) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& other) noexcept : h_(other.release()) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;

  HANDLE get() const { return h_; }
  bool valid() const { return h_ != nullptr && h_ != INVALID_HANDLE_VALUE; }
  HANDLE release() {
    HANDLE h = h_;
    h_ = nullptr;
    return h;
  }
  void reset(HANDLE h = nullptr) {
    if (valid()) CloseHandle(h_);
    h_ = h;
  }

 private:
  HANDLE h_ = nullptr;
};

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_WIN_ERROR_H_

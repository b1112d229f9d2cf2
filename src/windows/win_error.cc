#include "windows/win_error.h"

#include <windows.h>

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "windows/utf16.h"

namespace procsandbox::windows_internal {
namespace {

struct ErrorInfo {
  DWORD err;
  const char* name;
  absl::StatusCode code;
};

constexpr ErrorInfo kErrors[] = {
    {ERROR_FILE_NOT_FOUND, "ERROR_FILE_NOT_FOUND", absl::StatusCode::kNotFound},
    {ERROR_PATH_NOT_FOUND, "ERROR_PATH_NOT_FOUND", absl::StatusCode::kNotFound},
    {ERROR_INVALID_DRIVE, "ERROR_INVALID_DRIVE", absl::StatusCode::kNotFound},
    {ERROR_BAD_NETPATH, "ERROR_BAD_NETPATH", absl::StatusCode::kNotFound},
    {ERROR_INVALID_NAME, "ERROR_INVALID_NAME",
     absl::StatusCode::kInvalidArgument},
    {ERROR_ACCESS_DENIED, "ERROR_ACCESS_DENIED",
     absl::StatusCode::kPermissionDenied},
    {ERROR_SHARING_VIOLATION, "ERROR_SHARING_VIOLATION",
     absl::StatusCode::kPermissionDenied},
    {ERROR_PRIVILEGE_NOT_HELD, "ERROR_PRIVILEGE_NOT_HELD",
     absl::StatusCode::kPermissionDenied},
    {ERROR_TOO_MANY_OPEN_FILES, "ERROR_TOO_MANY_OPEN_FILES",
     absl::StatusCode::kResourceExhausted},
    {ERROR_NOT_ENOUGH_MEMORY, "ERROR_NOT_ENOUGH_MEMORY",
     absl::StatusCode::kResourceExhausted},
    {ERROR_OUTOFMEMORY, "ERROR_OUTOFMEMORY",
     absl::StatusCode::kResourceExhausted},
    {ERROR_NO_SYSTEM_RESOURCES, "ERROR_NO_SYSTEM_RESOURCES",
     absl::StatusCode::kResourceExhausted},
    {ERROR_NOT_ENOUGH_QUOTA, "ERROR_NOT_ENOUGH_QUOTA",
     absl::StatusCode::kResourceExhausted},
    {ERROR_PIPE_BUSY, "ERROR_PIPE_BUSY", absl::StatusCode::kResourceExhausted},
    {ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER",
     absl::StatusCode::kInvalidArgument},
    {ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE",
     absl::StatusCode::kInvalidArgument},
    {ERROR_DIRECTORY, "ERROR_DIRECTORY", absl::StatusCode::kFailedPrecondition},
    {ERROR_BAD_EXE_FORMAT, "ERROR_BAD_EXE_FORMAT",
     absl::StatusCode::kInvalidArgument},
    {ERROR_EXE_MACHINE_TYPE_MISMATCH, "ERROR_EXE_MACHINE_TYPE_MISMATCH",
     absl::StatusCode::kInvalidArgument},
    {ERROR_BROKEN_PIPE, "ERROR_BROKEN_PIPE",
     absl::StatusCode::kFailedPrecondition},
    {ERROR_NO_DATA, "ERROR_NO_DATA", absl::StatusCode::kFailedPrecondition},
    {ERROR_PIPE_NOT_CONNECTED, "ERROR_PIPE_NOT_CONNECTED",
     absl::StatusCode::kFailedPrecondition},
    {ERROR_OPERATION_ABORTED, "ERROR_OPERATION_ABORTED",
     absl::StatusCode::kCancelled},
    {ERROR_NOT_SUPPORTED, "ERROR_NOT_SUPPORTED",
     absl::StatusCode::kUnimplemented},
    {ERROR_CALL_NOT_IMPLEMENTED, "ERROR_CALL_NOT_IMPLEMENTED",
     absl::StatusCode::kUnimplemented},
    {ERROR_INVALID_FUNCTION, "ERROR_INVALID_FUNCTION",
     absl::StatusCode::kUnimplemented},
};

const ErrorInfo* Find(DWORD err) {
  for (const ErrorInfo& e : kErrors) {
    if (e.err == err) return &e;
  }
  return nullptr;
}

}  // namespace

std::string WinErrorName(DWORD err) {
  if (const ErrorInfo* e = Find(err)) return e->name;
  return absl::StrCat("error ", err);
}

std::string WinErrorText(DWORD err) {
  wchar_t* text = nullptr;
  const DWORD n = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, err, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US),
      reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string out;
  if (n > 0 && text != nullptr) out = WideToUtf8(std::wstring_view(text, n));
  if (text != nullptr) LocalFree(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' ||
                          out.back() == ' ' || out.back() == '.')) {
    out.pop_back();
  }
  if (out.empty()) return "unknown error";
  if (out.size() > 1 && std::isupper(static_cast<unsigned char>(out[0])) &&
      std::islower(static_cast<unsigned char>(out[1]))) {
    out[0] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  }
  return out;
}

absl::Status WinErrorStatus(DWORD err, absl::string_view action) {
  const ErrorInfo* e = Find(err);
  const absl::StatusCode code =
      e != nullptr ? e->code : absl::StatusCode::kUnknown;
  return absl::Status(code, absl::StrCat(action, ": ", WinErrorText(err), " (",
                                         WinErrorName(err), ")"));
}

absl::Status LastErrorStatus(absl::string_view action) {
  return WinErrorStatus(GetLastError(), action);
}

}  // namespace procsandbox::windows_internal

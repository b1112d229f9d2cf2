#include "windows/pipes.h"

#include <windows.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/exec_errors.h"
#include "procsandbox/stdio.h"
#include "windows/utf16.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {
namespace {

std::wstring PipeName() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::string name =
      absl::StrCat("\\\\.\\pipe\\procsandbox-", GetCurrentProcessId(), "-",
                   counter.fetch_add(1), "-", random());
  return std::wstring(name.begin(), name.end());  // ASCII only
}

absl::Status OpenNull(bool write, UniqueHandle& out) {
  out.reset(CreateFileW(L"NUL", write ? GENERIC_WRITE : GENERIC_READ,
                        FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                        OPEN_EXISTING, 0, nullptr));
  if (!out.valid()) return LastErrorStatus("open NUL");
  return absl::OkStatus();
}

// A copy of `h` for the child (the host keeps its own).
absl::Status Duplicate(HANDLE h, absl::string_view what, UniqueHandle& out) {
  HANDLE copy = nullptr;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &copy, 0,
                       FALSE, DUPLICATE_SAME_ACCESS)) {
    return LastErrorStatus(absl::StrCat("duplicate ", what));
  }
  out.reset(copy);
  return absl::OkStatus();
}

// The host's own stream; the null device when the host has none (a GUI
// program, a service).
absl::Status Inherit(DWORD std_handle, bool write, absl::string_view what,
                     UniqueHandle& out) {
  HANDLE h = GetStdHandle(std_handle);
  if (h == nullptr || h == INVALID_HANDLE_VALUE) return OpenNull(write, out);
  return Duplicate(h, what, out);
}

absl::Status OpenOutput(Stream stream, const Stdio& stdio, DWORD pipe_size,
                        UniqueHandle& parent, UniqueHandle& child) {
  const std::string name(StreamName(stream));
  switch (stdio.kind()) {
    case Stdio::Kind::kDefault:
    case Stdio::Kind::kNull:
      return OpenNull(/*write=*/true, child);
    case Stdio::Kind::kInherit:
      return Inherit(
          stream == Stream::kStdout ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE,
          /*write=*/true, absl::StrCat("the host's ", name), child);
    case Stdio::Kind::kFd:
      return Duplicate(reinterpret_cast<HANDLE>(stdio.fd()),
                       absl::StrCat(name, " handle ", stdio.fd()), child);
    case Stdio::Kind::kFile: {
      const std::string action =
          absl::StrCat("open ", name, " file \"", stdio.path(), "\"");
      absl::StatusOr<std::wstring> path =
          Utf8ToWide(stdio.path(), absl::StrCat(name, " file"));
      if (!path.ok()) return path.status();
      const bool append = stdio.file_mode() == FileMode::kAppend;
      child.reset(
          CreateFileW(path->c_str(),
                      append ? FILE_APPEND_DATA | SYNCHRONIZE : GENERIC_WRITE,
                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                      nullptr, append ? OPEN_ALWAYS : CREATE_ALWAYS,
                      FILE_ATTRIBUTE_NORMAL, nullptr));
      if (!child.valid()) return LastErrorStatus(action);
      return absl::OkStatus();
    }
    default:  // capture, lines, chunks, pipe
      return MakePipe(/*parent_reads=*/true, /*overlapped=*/true, pipe_size,
                      parent, child);
  }
}

}  // namespace

absl::Status MakePipe(bool parent_reads, bool overlapped, DWORD size,
                      UniqueHandle& parent, UniqueHandle& child) {
  const DWORD open_mode =
      (parent_reads ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) |
      FILE_FLAG_FIRST_PIPE_INSTANCE | (overlapped ? FILE_FLAG_OVERLAPPED : 0);
  DWORD pipe_mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                    PIPE_REJECT_REMOTE_CLIENTS;
  std::wstring name;
  UniqueHandle server;
  for (int attempt = 0; attempt < 8 && !server.valid(); ++attempt) {
    name = PipeName();
    server.reset(CreateNamedPipeW(name.c_str(), open_mode, pipe_mode, 1, size,
                                  size, 0, nullptr));
    if (server.valid()) break;
    const DWORD err = GetLastError();
    if (err == ERROR_INVALID_PARAMETER &&
        (pipe_mode & PIPE_REJECT_REMOTE_CLIENTS) != 0) {
      // Systems before Vista (and some emulations) do not know the flag;
      // the name stays local to this machine all the same.
      pipe_mode &= ~static_cast<DWORD>(PIPE_REJECT_REMOTE_CLIENTS);
      continue;
    }
    // ERROR_ACCESS_DENIED: the name is taken (FIRST_PIPE_INSTANCE).
    if (err != ERROR_ACCESS_DENIED && err != ERROR_PIPE_BUSY) {
      return WinErrorStatus(err, "create a pipe");
    }
  }
  if (!server.valid()) return LastErrorStatus("create a pipe");
  UniqueHandle client(CreateFileW(name.c_str(),
                                  parent_reads
                                      ? GENERIC_WRITE | FILE_READ_ATTRIBUTES
                                      : GENERIC_READ | FILE_WRITE_ATTRIBUTES,
                                  0, nullptr, OPEN_EXISTING, 0, nullptr));
  if (!client.valid()) return LastErrorStatus("open a pipe's other end");
  parent = std::move(server);
  child = std::move(client);
  return absl::OkStatus();
}

absl::Status OpenChildStdio(const Command& command, DWORD pipe_size,
                            ChildStdio& out) {
  const Stdio& in = command.stdin_;
  UniqueHandle& child_in = out.child[0];
  switch (in.kind()) {
    case Stdio::Kind::kInherit:
      if (absl::Status s =
              Inherit(STD_INPUT_HANDLE, false, "the host's stdin", child_in);
          !s.ok()) {
        return s;
      }
      break;
    case Stdio::Kind::kFd:
      if (absl::Status s =
              Duplicate(reinterpret_cast<HANDLE>(in.fd()),
                        absl::StrCat("stdin handle ", in.fd()), child_in);
          !s.ok()) {
        return s;
      }
      break;
    case Stdio::Kind::kFile: {
      const std::string action =
          absl::StrCat("open stdin file \"", in.path(), "\"");
      absl::StatusOr<std::wstring> path = Utf8ToWide(in.path(), "stdin file");
      if (!path.ok()) return path.status();
      child_in.reset(
          CreateFileW(path->c_str(), GENERIC_READ,
                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                      nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
      if (!child_in.valid()) {
        const DWORD err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
          return internal::StdinFileNotFoundError(in.path());
        }
        return WinErrorStatus(err, action);
      }
      break;
    }
    case Stdio::Kind::kData:
    case Stdio::Kind::kPipe:
      // Data is written by the loop (overlapped), a pipe by host threads
      // (blocking writes).
      if (absl::Status s =
              MakePipe(/*parent_reads=*/false, in.kind() == Stdio::Kind::kData,
                       0, out.stdin_write, child_in);
          !s.ok()) {
        return s;
      }
      break;
    default:  // default, null
      if (absl::Status s = OpenNull(/*write=*/false, child_in); !s.ok()) {
        return s;
      }
      break;
  }
  if (absl::Status s = OpenOutput(Stream::kStdout, command.stdout_, pipe_size,
                                  out.stdout_read, out.child[1]);
      !s.ok()) {
    return s;
  }
  if (command.stderr_.kind() == Stdio::Kind::kToStdout) {
    // 2>&1: a second handle to stdout's sink (the handle list takes each
    // handle once).
    return Duplicate(out.child[1].get(), "stdout for stderr", out.child[2]);
  }
  return OpenOutput(Stream::kStderr, command.stderr_, pipe_size,
                    out.stderr_read, out.child[2]);
}

}  // namespace procsandbox::windows_internal

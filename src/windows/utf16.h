// UTF-8 <-> UTF-16 for the Windows API (its "W" functions take UTF-16).
//
// The library's strings are UTF-8; Windows wants UTF-16. A std::wstring holds
// UTF-16 code units on every platform (wchar_t is 16-bit on Windows; on Linux
// each 32-bit wchar_t holds one unit), so this file and its tests are the
// same everywhere.
//
// Example:
//   absl::StatusOr<std::wstring> wide = Utf8ToWide(arg, "argument 2");
//   if (!wide.ok()) return wide.status();  // "argument 2: is not valid ..."
#ifndef PROCSANDBOX_SRC_WINDOWS_UTF16_H_
#define PROCSANDBOX_SRC_WINDOWS_UTF16_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace procsandbox::windows_internal {

// `utf8` as UTF-16. InvalidArgument naming `what` ("argument 2", "working
// directory") and the offset, never the text (it may be a secret):
// "argument 2: is not valid UTF-8 (byte 0xFF at offset 3)", the first byte
// of a sequence that is not UTF-8 (a stray continuation byte, a sequence cut
// short, an overlong form, a surrogate U+D800..U+DFFF, a code point past
// U+10FFFF); "argument 2: contains a NUL byte" (Windows strings end at one).
absl::StatusOr<std::wstring> Utf8ToWide(absl::string_view utf8,
                                        absl::string_view what);

// The number of UTF-16 units `utf8` takes, or InvalidArgument as
// Utf8ToWide(); for length limits counted in UTF-16 (a command line).
absl::StatusOr<std::size_t> Utf16Length(absl::string_view utf8,
                                        absl::string_view what);

// `wide` as UTF-8. Windows strings need not be valid UTF-16: a lone
// surrogate, and on Linux a unit past 0xFFFF, becomes U+FFFD.
std::string WideToUtf8(std::wstring_view wide);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_UTF16_H_

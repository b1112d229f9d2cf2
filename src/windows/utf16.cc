#include "windows/utf16.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"

namespace procsandbox::windows_internal {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

absl::Status InvalidUtf8(absl::string_view utf8, std::size_t pos,
                         absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: is not valid UTF-8 (byte 0x%02X at offset %d)", what,
                      static_cast<unsigned char>(utf8[pos]), pos));
}

// Calls emit(code point) for each code point of `utf8`, or fails as
// Utf8ToWide().
template <typename Emit>
absl::Status Decode(absl::string_view utf8, absl::string_view what, Emit emit) {
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    if (utf8[pos] == '\0') {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: contains a NUL byte", what));
    }
    char32_t cp;
    if (!internal::DecodeUtf8(utf8, &pos, &cp))
      return InvalidUtf8(utf8, pos, what);
    emit(cp);
  }
  return absl::OkStatus();
}

// A wchar_t as a code unit: through its unsigned type, since wchar_t is
// signed on some platforms (a negative one is no UTF-16 unit either way).
uint32_t Unit(wchar_t c) {
  return static_cast<std::make_unsigned_t<wchar_t>>(c);
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

absl::StatusOr<std::wstring> Utf8ToWide(absl::string_view utf8,
                                        absl::string_view what) {
  std::wstring wide;
  wide.reserve(utf8.size());
  absl::Status status = Decode(utf8, what, [&](char32_t cp) {
    if (cp < 0x10000) {
      wide.push_back(static_cast<wchar_t>(cp));
    } else {
      cp -= 0x10000;
      wide.push_back(static_cast<wchar_t>(0xD800 | (cp >> 10)));
      wide.push_back(static_cast<wchar_t>(0xDC00 | (cp & 0x3FF)));
    }
  });
  if (!status.ok()) return status;
  return wide;
}

absl::StatusOr<std::size_t> Utf16Length(absl::string_view utf8,
                                        absl::string_view what) {
  std::size_t units = 0;
  absl::Status status =
      Decode(utf8, what, [&](char32_t cp) { units += cp < 0x10000 ? 1 : 2; });
  if (!status.ok()) return status;
  return units;
}

std::string WideToUtf8(std::wstring_view wide) {
  std::string utf8;
  utf8.reserve(wide.size());
  for (std::size_t i = 0; i < wide.size(); ++i) {
    const uint32_t unit = Unit(wide[i]);
    const uint32_t next = i + 1 < wide.size() ? Unit(wide[i + 1]) : 0;
    if (unit >= 0xD800 && unit <= 0xDBFF && next >= 0xDC00 && next <= 0xDFFF) {
      AppendUtf8(0x10000 + (((unit - 0xD800) << 10) | (next - 0xDC00)), &utf8);
      ++i;
    } else if (unit > 0xFFFF || (unit >= 0xD800 && unit <= 0xDFFF)) {
      AppendUtf8(kReplacement, &utf8);  // a lone surrogate, or not UTF-16
    } else {
      AppendUtf8(unit, &utf8);
    }
  }
  return utf8;
}

}  // namespace procsandbox::windows_internal

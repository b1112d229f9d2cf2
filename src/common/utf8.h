// Decoding UTF-8 one code point at a time, strictly (RFC 3629), for the
// code that must turn text into something else: UTF-16 for Windows, JSON
// that is always valid UTF-8 for the audit log.
#ifndef PROCSANDBOX_SRC_COMMON_UTF8_H_
#define PROCSANDBOX_SRC_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace procsandbox::internal {

// Decodes the code point at `*pos` and moves past it; false (with *pos
// unchanged, at the first byte of the bad sequence) for invalid UTF-8
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
inline bool DecodeUtf8(absl::string_view s, std::size_t* pos, char32_t* out) {
  const auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(s[i]);
  };
  const unsigned char lead = byte(*pos);
  if (lead < 0x80) {
    *out = lead;
    ++*pos;
    return true;
  }
  std::size_t length;
  char32_t cp;
  char32_t min;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return false;  // a continuation byte, or 0xF8..0xFF
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (*pos + i >= s.size() || (byte(*pos + i) & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (byte(*pos + i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return false;
  }
  *out = cp;
  *pos += length;
  return true;
}

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_UTF8_H_

// Quoting of user-supplied text in error messages and ToString() output, so
// that a NUL byte, a newline or a quote in a name shows for what it is.
#ifndef PROCSANDBOX_SRC_COMMON_QUOTE_H_
#define PROCSANDBOX_SRC_COMMON_QUOTE_H_

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace procsandbox::internal {

// `text` in double quotes, C-escaped: quotes, backslashes and control bytes
// become \", \\, \n, \x00...; UTF-8 sequences are kept as they are.
// Quote("a\0b") == "\"a\\x00b\"".
inline std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", absl::Utf8SafeCHexEscape(text), "\"");
}

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_QUOTE_H_

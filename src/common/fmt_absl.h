// Lets fmt print absl::string_view (a type of its own in this Abseil build,
// where ABSL_OPTION_USE_STD_STRING_VIEW is 0). Library-internal: included by
// .cc files only, never by a public header.
#ifndef PROCSANDBOX_SRC_COMMON_FMT_ABSL_H_
#define PROCSANDBOX_SRC_COMMON_FMT_ABSL_H_

#include <type_traits>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

#if !defined(ABSL_USES_STD_STRING_VIEW)
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view text, FormatContext& ctx) const
      -> decltype(ctx.out()) {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(text.data(), text.size()), ctx);
  }
};
#endif

#endif  // PROCSANDBOX_SRC_COMMON_FMT_ABSL_H_

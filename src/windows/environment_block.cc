#include "windows/environment_block.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/quote.h"
#include "procsandbox/environment.h"
#include "windows/utf16.h"

namespace procsandbox::windows_internal {
namespace {

// The upper case of one UTF-16 unit, for the scripts environment names use
// in practice (see the header); 0xFF's (U+0178) is outside Latin-1.
uint32_t Upper(uint32_t u) {
  if (u >= 'a' && u <= 'z') return u - 0x20;
  if (u >= 0xE0 && u <= 0xFE && u != 0xF7) return u - 0x20;
  if (u == 0xFF) return 0x178;
  if (u == 0x3C2) return 0x3A3;  // final sigma
  if (u >= 0x3B1 && u <= 0x3C9) return u - 0x20;
  if (u >= 0x430 && u <= 0x44F) return u - 0x20;
  if (u >= 0x450 && u <= 0x45F) return u - 0x50;
  return u;
}

// <0, 0, >0 as Windows orders the names `a` and `b`.
int CompareNames(const std::wstring& a, const std::wstring& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t x = Upper(static_cast<uint32_t>(a[i]));
    const uint32_t y = Upper(static_cast<uint32_t>(b[i]));
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

struct WideEntry {
  std::wstring name;
  std::wstring value;
  const Environment::Entry* entry;
};

std::string Subject(absl::string_view name) {
  return absl::StrCat("environment variable ", internal::Quote(name));
}

}  // namespace

bool SameVariableName(absl::string_view a, absl::string_view b) {
  absl::StatusOr<std::wstring> wa = Utf8ToWide(a, "name");
  absl::StatusOr<std::wstring> wb = Utf8ToWide(b, "name");
  if (!wa.ok() || !wb.ok()) return a == b;
  return CompareNames(*wa, *wb) == 0;
}

const Environment::Entry* FindVariable(const Environment& env,
                                       absl::string_view name) {
  for (const Environment::Entry& entry : env.entries()) {
    if (SameVariableName(entry.name, name)) return &entry;
  }
  return nullptr;
}

absl::StatusOr<std::wstring> BuildEnvironmentBlock(const Environment& env) {
  if (absl::Status s = env.Validate(); !s.ok()) return s;
  std::vector<WideEntry> entries;
  entries.reserve(env.size());
  for (const Environment::Entry& entry : env.entries()) {
    const std::string subject = Subject(entry.name);
    absl::StatusOr<std::wstring> name = Utf8ToWide(entry.name, subject);
    if (!name.ok()) return name.status();
    absl::StatusOr<std::wstring> value =
        Utf8ToWide(entry.value, absl::StrCat(subject, " value"));
    if (!value.ok()) return value.status();
    entries.push_back({*std::move(name), *std::move(value), &entry});
  }
  // Stable: of two names equal ignoring case, the first in env's order is
  // the one named first in the error.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const WideEntry& a, const WideEntry& b) {
                     return CompareNames(a.name, b.name) < 0;
                   });
  std::wstring block;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && CompareNames(entries[i - 1].name, entries[i].name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variables ", internal::Quote(entries[i - 1].entry->name),
          " and ", internal::Quote(entries[i].entry->name),
          ": one variable on Windows, whose names ignore case"));
    }
    block += entries[i].name;
    block += L'=';
    block += entries[i].value;
    block += L'\0';
  }
  if (entries.empty()) block += L'\0';
  block += L'\0';
  return block;
}

}  // namespace procsandbox::windows_internal

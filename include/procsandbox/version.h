// procsandbox/version.h: the version of procsandbox these headers belong to.
//
// The one place the version is written: CMakeLists.txt reads it from here,
// and tests/packaging checks that the Conan recipe, the vcpkg port and
// debian/changelog agree. procsandbox::Version() gives the version of the
// library that was linked, which differs from these macros when a program
// built against one release runs with another's shared library.
//
//   #if PROCSANDBOX_VERSION >= PROCSANDBOX_VERSION_OF(0, 2, 0)
//   ... use what 0.2 added ...
//   #endif
#ifndef PROCSANDBOX_VERSION_H_
#define PROCSANDBOX_VERSION_H_

#define PROCSANDBOX_VERSION_MAJOR 0
#define PROCSANDBOX_VERSION_MINOR 2
#define PROCSANDBOX_VERSION_PATCH 0

// One comparable number: MAJOR * 10000 + MINOR * 100 + PATCH (0.2.0 is 200).
#define PROCSANDBOX_VERSION_OF(major, minor, patch) \
  ((major)*10000 + (minor)*100 + (patch))
#define PROCSANDBOX_VERSION                                                    \
  PROCSANDBOX_VERSION_OF(PROCSANDBOX_VERSION_MAJOR, PROCSANDBOX_VERSION_MINOR, \
                         PROCSANDBOX_VERSION_PATCH)

#define PROCSANDBOX_VERSION_STRINGIFY_IMPL(x) #x
#define PROCSANDBOX_VERSION_STRINGIFY(x) PROCSANDBOX_VERSION_STRINGIFY_IMPL(x)
// "0.2.0"
#define PROCSANDBOX_VERSION_STRING                         \
  PROCSANDBOX_VERSION_STRINGIFY(PROCSANDBOX_VERSION_MAJOR) \
  "." PROCSANDBOX_VERSION_STRINGIFY(                       \
      PROCSANDBOX_VERSION_MINOR) "." PROCSANDBOX_VERSION_STRINGIFY(PROCSANDBOX_VERSION_PATCH)

#ifdef __cplusplus
#include "procsandbox/export.h"

namespace procsandbox {

// The version of the procsandbox library this program runs with, "0.2.0":
// PROCSANDBOX_VERSION_STRING as the library was built.
PROCSANDBOX_EXPORT const char* Version();

}  // namespace procsandbox
#endif

#endif  // PROCSANDBOX_VERSION_H_

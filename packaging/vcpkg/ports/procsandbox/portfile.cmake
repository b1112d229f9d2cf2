# vcpkg overlay port of procsandbox:
#
#   vcpkg install --overlay-ports=<checkout>/packaging/vcpkg/ports procsandbox
#   vcpkg install --overlay-ports=<checkout>/packaging/vcpkg/ports "procsandbox[testing,tools]"
#
# It builds the checkout it sits in (../../../.. from here), as the Conan
# recipe does: no release archive is published yet. A port published in a
# registry would take vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO
# <owner>/procsandbox REF "v${VERSION}" SHA512 <sha512 of the archive>)
# instead. PROCSANDBOX_SOURCE_DIR (in a triplet or the environment) points
# it at another checkout. vcpkg keys its binary cache on the port's files,
# not on the checkout: after changing the sources, install again with
# --no-binarycaching. Not run by this project's CI (no vcpkg there):
# tests/packaging's packaging.recipes checks what it can without one.
if(DEFINED ENV{PROCSANDBOX_SOURCE_DIR})
  set(PROCSANDBOX_SOURCE_DIR "$ENV{PROCSANDBOX_SOURCE_DIR}")
endif()
if(PROCSANDBOX_SOURCE_DIR)
  set(SOURCE_PATH "${PROCSANDBOX_SOURCE_DIR}")
else()
  get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)
endif()
if(NOT EXISTS "${SOURCE_PATH}/include/procsandbox/version.h")
  message(FATAL_ERROR "procsandbox sources not found in ${SOURCE_PATH}")
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    testing PROCSANDBOX_BUILD_TESTING_LIB
    tools   PROCSANDBOX_BUILD_TOOLS
)

# As the top-level project, CMakeLists.txt turns tests, benchmarks and tools
# on by default: say what the package holds. BUILD_SHARED_LIBS follows
# VCPKG_LIBRARY_LINKAGE through vcpkg_cmake_configure. Seccomp filters need
# libseccomp, which vcpkg does not have: OFF, so that a host's libseccomp
# does not slip into the package (AUTO would use it).
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DPROCSANDBOX_BUILD_TESTS=OFF
    -DPROCSANDBOX_BUILD_BENCHMARKS=OFF
    -DPROCSANDBOX_INSTALL=ON
    -DPROCSANDBOX_SECCOMP=OFF
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/procsandbox)
vcpkg_fixup_pkgconfig()

if("tools" IN_LIST FEATURES)
  vcpkg_copy_tools(TOOL_NAMES procsandbox AUTO_CLEAN)
endif()

file(REMOVE_RECURSE
  "${CURRENT_PACKAGES_DIR}/debug/include"
  "${CURRENT_PACKAGES_DIR}/debug/share")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage"
  DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
# The repository names no license yet (no LICENSE file); vcpkg requires a
# copyright file, which says so until one is chosen.
if(EXISTS "${SOURCE_PATH}/LICENSE")
  vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
else()
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright"
    "procsandbox ${VERSION}: the repository names no license yet.\n")
endif()

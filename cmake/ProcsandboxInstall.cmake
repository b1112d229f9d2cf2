# Install rules and package files for procsandbox (PROCSANDBOX_INSTALL=ON).
#
#   <prefix>/include/procsandbox/...                   public headers
#   <prefix>/include/procsandbox_testing/...           only with procsandbox::testing
#   <prefix>/include/procsandbox/testing/...           (deprecated spellings of it)
#   <libdir>/libprocsandbox.a (or .so.* with BUILD_SHARED_LIBS=ON; Debug: libprocsandboxd.*)
#   <libdir>/cmake/procsandbox/procsandboxConfig.cmake           find_package(procsandbox)
#   <libdir>/cmake/procsandbox/procsandboxConfigVersion.cmake
#   <libdir>/cmake/procsandbox/procsandboxTargets*.cmake         procsandbox::procsandbox
#   <libdir>/cmake/procsandbox/procsandboxTestingTargets*.cmake  procsandbox::testing
#   <libdir>/pkgconfig/procsandbox.pc
#
# procsandbox::testing has its own export file so that the package config can
# load it only when GTest is available: a consumer of the library alone never
# needs GTest installed. tests/packaging/ checks all of this against a real
# `cmake --install`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
include(ProcsandboxJoinPaths)

# Overridable with -D; by default they follow CMAKE_INSTALL_LIBDIR (not
# cached, so changing LIBDIR later moves them too).
if(NOT DEFINED PROCSANDBOX_INSTALL_CMAKEDIR)
  set(PROCSANDBOX_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/procsandbox")
endif()
if(NOT DEFINED PROCSANDBOX_INSTALL_PKGCONFIGDIR)
  set(PROCSANDBOX_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()

# --- The library ------------------------------------------------------------

install(TARGETS procsandbox
  EXPORT procsandboxTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT procsandbox_development
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT procsandbox_runtime
          NAMELINK_COMPONENT procsandbox_development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT procsandbox_runtime)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/procsandbox"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT procsandbox_development
  FILES_MATCHING PATTERN "*.h"
  PATTERN "testing" EXCLUDE)

install(EXPORT procsandboxTargets
  NAMESPACE procsandbox::
  FILE procsandboxTargets.cmake
  DESTINATION "${PROCSANDBOX_INSTALL_CMAKEDIR}"
  COMPONENT procsandbox_development)

# --- procsandbox::testing (header-only; needs GTest) ------------------------

if(TARGET procsandbox_testing)
  install(TARGETS procsandbox_testing
    EXPORT procsandboxTestingTargets
    COMPONENT procsandbox_development)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/procsandbox_testing"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    COMPONENT procsandbox_development
    FILES_MATCHING PATTERN "*.h")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/procsandbox/testing"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/procsandbox"
    COMPONENT procsandbox_development
    FILES_MATCHING PATTERN "*.h")
  # Refers to procsandbox::procsandbox from the export set above.
  install(EXPORT procsandboxTestingTargets
    NAMESPACE procsandbox::
    FILE procsandboxTestingTargets.cmake
    DESTINATION "${PROCSANDBOX_INSTALL_CMAKEDIR}"
    COMPONENT procsandbox_development)
endif()

# --- CMake package config ---------------------------------------------------

# A static library's private libseccomp is on its consumers' link line.
if(PROCSANDBOX_HAVE_SECCOMP AND NOT BUILD_SHARED_LIBS)
  set(PROCSANDBOX_CONFIG_NEEDS_SECCOMP TRUE)
else()
  set(PROCSANDBOX_CONFIG_NEEDS_SECCOMP FALSE)
endif()

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/procsandboxConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/procsandboxConfig.cmake"
  INSTALL_DESTINATION "${PROCSANDBOX_INSTALL_CMAKEDIR}")
# Before 1.0 a minor release may break the API, so 0.1.x accepts only 0.1.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/procsandboxConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES
    "${PROJECT_BINARY_DIR}/procsandboxConfig.cmake"
    "${PROJECT_BINARY_DIR}/procsandboxConfigVersion.cmake"
  DESTINATION "${PROCSANDBOX_INSTALL_CMAKEDIR}"
  COMPONENT procsandbox_development)

# --- pkg-config ---------------------------------------------------------------

# prefix: relative to the .pc file when the install dirs are relative, so the
# tree works wherever it is installed or copied (`cmake --install --prefix`,
# DESTDIR, relocated packages); absolute otherwise.
if(IS_ABSOLUTE "${PROCSANDBOX_INSTALL_PKGCONFIGDIR}")
  set(PROCSANDBOX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _ps_pc_up "/_/${PROCSANDBOX_INSTALL_PKGCONFIGDIR}" "/_")
  string(REGEX REPLACE "/+$" "" _ps_pc_up "${_ps_pc_up}")
  set(PROCSANDBOX_PC_PREFIX "\${pcfiledir}/${_ps_pc_up}")
endif()
procsandbox_join_paths(PROCSANDBOX_PC_LIBDIR "\${exec_prefix}" "${CMAKE_INSTALL_LIBDIR}")
procsandbox_join_paths(PROCSANDBOX_PC_INCLUDEDIR "\${prefix}" "${CMAKE_INSTALL_INCLUDEDIR}")

# The absl_* and fmt modules of the targets in src/CMakeLists.txt. The
# private ones are link-only: a static libprocsandbox.a needs them on every
# link line (Requires), a shared one only when linking statically
# (Requires.private).
set(_ps_pc_public fmt absl_status absl_statusor absl_strings absl_time)
set(_ps_pc_private absl_synchronization absl_flat_hash_map)
if(PROCSANDBOX_HAVE_SECCOMP)
  list(APPEND _ps_pc_private libseccomp)
endif()
if(BUILD_SHARED_LIBS)
  list(JOIN _ps_pc_public " " PROCSANDBOX_PC_REQUIRES)
  list(JOIN _ps_pc_private " " PROCSANDBOX_PC_REQUIRES_PRIVATE)
  set(PROCSANDBOX_PC_CFLAGS " -DPROCSANDBOX_SHARED")
  set(PROCSANDBOX_PC_LIBS "")
  set(PROCSANDBOX_PC_LIBS_PRIVATE "-pthread")
else()
  list(JOIN _ps_pc_public " " PROCSANDBOX_PC_REQUIRES)
  list(JOIN _ps_pc_private " " _ps_pc_private_joined)
  string(APPEND PROCSANDBOX_PC_REQUIRES " ${_ps_pc_private_joined}")
  set(PROCSANDBOX_PC_REQUIRES_PRIVATE "")
  set(PROCSANDBOX_PC_CFLAGS "")
  set(PROCSANDBOX_PC_LIBS " -pthread")
  set(PROCSANDBOX_PC_LIBS_PRIVATE "")
endif()

# -l names the installed config's file: -lprocsandboxd for Debug
# (DEBUG_POSTFIX). One .pc per prefix, so the last config installed wins
# there; find_package picks per config (docs/ABI.md).
set(PROCSANDBOX_PC_LIBNAME "$<TARGET_FILE_BASE_NAME:procsandbox>")
configure_file("${CMAKE_CURRENT_LIST_DIR}/procsandbox.pc.in"
  "${PROJECT_BINARY_DIR}/procsandbox.pc.in" @ONLY)
file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/pkgconfig/$<CONFIG>/procsandbox.pc"
  INPUT "${PROJECT_BINARY_DIR}/procsandbox.pc.in")
install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/$<CONFIG>/procsandbox.pc"
  DESTINATION "${PROCSANDBOX_INSTALL_PKGCONFIGDIR}"
  COMPONENT procsandbox_development)

unset(_ps_pc_up)
unset(_ps_pc_public)
unset(_ps_pc_private)
unset(_ps_pc_private_joined)

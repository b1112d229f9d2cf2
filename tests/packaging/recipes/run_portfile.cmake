# Runs packaging/vcpkg/ports/procsandbox/portfile.cmake in script mode, as
# vcpkg would, with stand-ins for the vcpkg helpers it calls
# (packaging.recipes_vcpkg_portfile):
#
#   cmake -DPORT_DIR=<port> -DSOURCE_DIR=<checkout> -DWORK_DIR=<dir>
#         -DFEATURES=core|testing|tools -P run_portfile.cmake
#
# A helper the portfile calls and this file does not define fails the run
# (CMake knows no such command), so a misspelt or unchecked helper cannot
# pass. The stand-ins check their arguments: vcpkg_cmake_configure gets the
# checkout as SOURCE_PATH; vcpkg_check_features' FEATURES map features of
# vcpkg.json; vcpkg_copy_tools runs only with the tools feature. The run
# must leave share/procsandbox/{usage,copyright} in CURRENT_PACKAGES_DIR.
# What the helpers do themselves (building, fixing up the config) is not
# modelled: check_recipes.py checks the options and paths they are given.
cmake_minimum_required(VERSION 3.20)

function(ps_fail)
  string(JOIN "" msg ${ARGN})
  message(FATAL_ERROR "run_portfile.cmake: ${msg}")
endfunction()

set(PORT procsandbox)
file(READ "${PORT_DIR}/vcpkg.json" _manifest)
string(JSON VERSION GET "${_manifest}" version-semver)
string(REPLACE "|" ";" FEATURES "${FEATURES}")
set(CURRENT_PACKAGES_DIR "${WORK_DIR}/packages")
set(CURRENT_BUILDTREES_DIR "${WORK_DIR}/buildtrees")
set(VCPKG_LIBRARY_LINKAGE static)
set(VCPKG_TARGET_IS_LINUX ON)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")
unset(ENV{PROCSANDBOX_SOURCE_DIR})

function(vcpkg_check_features)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_FEATURE_OPTIONS" "FEATURES")
  set(options "")
  list(LENGTH arg_FEATURES n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last} 2)
    math(EXPR j "${i} + 1")
    list(GET arg_FEATURES ${i} feature)
    list(GET arg_FEATURES ${j} option)
    string(JSON _kind ERROR_VARIABLE missing TYPE "${_manifest}" features ${feature})
    if(missing)
      ps_fail("vcpkg_check_features names feature ${feature}, which vcpkg.json lacks")
    endif()
    if(feature IN_LIST FEATURES)
      list(APPEND options "-D${option}=ON")
    else()
      list(APPEND options "-D${option}=OFF")
    endif()
  endforeach()
  set(${arg_OUT_FEATURE_OPTIONS} "${options}" PARENT_SCOPE)
endfunction()

function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "SOURCE_PATH" "OPTIONS")
  file(REAL_PATH "${arg_SOURCE_PATH}" got)
  file(REAL_PATH "${SOURCE_DIR}" want)
  if(NOT got STREQUAL want)
    ps_fail("vcpkg_cmake_configure SOURCE_PATH ${got}, not the checkout ${want}")
  endif()
  message(STATUS "vcpkg_cmake_configure: ${arg_OPTIONS}")
  set_property(GLOBAL APPEND PROPERTY PS_CALLS configure)
endfunction()

function(vcpkg_cmake_install)
  set_property(GLOBAL APPEND PROPERTY PS_CALLS install)
endfunction()

function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "CONFIG_PATH;PACKAGE_NAME" "")
  message(STATUS "vcpkg_cmake_config_fixup: CONFIG_PATH ${arg_CONFIG_PATH}")
  set_property(GLOBAL APPEND PROPERTY PS_CALLS config_fixup)
endfunction()

function(vcpkg_fixup_pkgconfig)
  set_property(GLOBAL APPEND PROPERTY PS_CALLS fixup_pkgconfig)
endfunction()

function(vcpkg_copy_tools)
  if(NOT "tools" IN_LIST FEATURES)
    ps_fail("vcpkg_copy_tools without the tools feature")
  endif()
  set_property(GLOBAL APPEND PROPERTY PS_CALLS copy_tools)
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "" "FILE_LIST")
  file(MAKE_DIRECTORY "${CURRENT_PACKAGES_DIR}/share/${PORT}")
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${arg_FILE_LIST}")
endfunction()

include("${PORT_DIR}/portfile.cmake")

get_property(calls GLOBAL PROPERTY PS_CALLS)
set(want configure install config_fixup fixup_pkgconfig)
if("tools" IN_LIST FEATURES)
  list(APPEND want copy_tools)
endif()
if(NOT calls STREQUAL want)
  ps_fail("the portfile called ${calls}; want ${want}, in that order")
endif()
foreach(f usage copyright)
  if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/share/${PORT}/${f}")
    ps_fail("the portfile installs no share/${PORT}/${f}")
  endif()
endforeach()
foreach(d debug/include debug/share)
  if(EXISTS "${CURRENT_PACKAGES_DIR}/${d}")
    ps_fail("the portfile leaves ${d} (vcpkg's post-build checks refuse it)")
  endif()
endforeach()
message(STATUS "portfile.cmake ran with features ${FEATURES}: ${calls}")

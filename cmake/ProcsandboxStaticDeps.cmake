# procsandbox_prefer_static_deps(): with a static libprocsandbox, the
# programs this build links (the procsandbox command, the tests and the
# benchmarks) take Abseil and libseccomp from their static archives where
# the install has them beside the shared libraries (Debian's libabsl-dev and
# libseccomp-dev do).
#
# Why: Debian's Abseil is some 35 shared libraries. Loading them costs every
# start of the command ~10 ms on the project's VM (LD_DEBUG=statistics,
# bench/command_bench.cpp) — as much as `prlimit ... timeout 5 /bin/true`
# whole. Archives give the same code, linked once.
#
# Only the imported targets' locations change, in this build: an installed
# static libprocsandbox still names absl:: targets and libseccomp, and its
# consumers link what their own find_package() gives. A shared
# libprocsandbox (BUILD_SHARED_LIBS, Debian's package) keeps the shared
# libraries: archives built without -fPIC cannot go into it.
#
# Off by default under add_subdirectory(): the targets swapped are the
# build's own imported ones, which a parent project may share.
option(PROCSANDBOX_STATIC_DEPS
  "With a static libprocsandbox, link Abseil and libseccomp from their static archives where they exist"
  ${_ps_top})

# The archive beside a shared library `path` (lib/libX.so.N.M -> lib/libX.a),
# in `out`; empty when there is none.
function(_procsandbox_archive_beside path out)
  set(${out} "" PARENT_SCOPE)
  if(path MATCHES "^(.*)/lib([^/]+)\\.so(\\.[0-9.]+)?$")
    set(archive "${CMAKE_MATCH_1}/lib${CMAKE_MATCH_2}.a")
    if(EXISTS "${archive}")
      set(${out} "${archive}" PARENT_SCOPE)
    endif()
  endif()
endfunction()

function(procsandbox_prefer_static_deps)
  if(BUILD_SHARED_LIBS OR NOT PROCSANDBOX_STATIC_DEPS)
    return()
  endif()
  set(swapped 0)
  get_directory_property(imported IMPORTED_TARGETS)
  foreach(target IN LISTS imported)
    if(NOT target MATCHES "^absl::")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "SHARED_LIBRARY")
      continue()
    endif()
    get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
    set(archives "")
    foreach(config IN LISTS configs)
      get_target_property(location ${target} IMPORTED_LOCATION_${config})
      _procsandbox_archive_beside("${location}" archive)
      if(NOT archive)
        set(archives "")
        break()
      endif()
      list(APPEND archives "${config}" "${archive}")
    endforeach()
    if(NOT archives)
      continue()
    endif()
    # A shared imported target cannot become static in place; its location
    # can. The archive then links as a plain file, the target's own
    # dependencies (INTERFACE_LINK_LIBRARIES) after it as before.
    while(archives)
      list(POP_FRONT archives config archive)
      set_target_properties(${target} PROPERTIES
        IMPORTED_LOCATION_${config} "${archive}"
        IMPORTED_SONAME_${config} ""
        IMPORTED_NO_SONAME_${config} TRUE)
    endwhile()
    math(EXPR swapped "${swapped} + 1")
  endforeach()
  if(TARGET PkgConfig::LIBSECCOMP)
    get_target_property(libs PkgConfig::LIBSECCOMP INTERFACE_LINK_LIBRARIES)
    set(static_libs "")
    foreach(lib IN LISTS libs)
      _procsandbox_archive_beside("${lib}" archive)
      if(archive)
        list(APPEND static_libs "${archive}")
        math(EXPR swapped "${swapped} + 1")
      else()
        list(APPEND static_libs "${lib}")
      endif()
    endforeach()
    set_target_properties(PkgConfig::LIBSECCOMP PROPERTIES
      INTERFACE_LINK_LIBRARIES "${static_libs}")
  endif()
  message(STATUS "procsandbox: ${swapped} dependencies linked from static archives (PROCSANDBOX_STATIC_DEPS)")
endfunction()

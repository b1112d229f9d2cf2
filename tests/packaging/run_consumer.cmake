# Driver of the packaging tests (tests/packaging/CMakeLists.txt):
#
#   cmake -DMODE=<mode> -D<var>=<value>... -P run_consumer.cmake
#
# MODE=install     rm -rf PREFIX, then `cmake --install BUILD_DIR --prefix PREFIX`;
#                  check that the EXPECT_FILES ("|"-separated) are there.
# MODE=cmake       configure the CMake project SOURCE_DIR in a fresh WORK_DIR
#                  with the parent build's generator, compiler, flags and
#                  CONFIG (+ ARGS, "|"-separated -D options); unless
#                  CONFIGURE_ONLY, build it, then run RUN (a program in
#                  WORK_DIR) and/or its tests (CTEST=ON). KEEP_OBJECTS: see below.
#                  EXPECT_FAILURE_REGEX: the configure must fail, printing this.
#                  USAGE_FILE: instead of SOURCE_DIR, a project made of the
#                  CMake lines a vcpkg `usage` file shows (indented by 4), with
#                  an executable per target they link: USAGE_SOURCES gives
#                  "target=source|..."; the RUN target is built, the others
#                  only generated (EXCLUDE_FROM_ALL).
# MODE=components  `cmake --install BUILD_DIR --component C --prefix WORK_DIR/C` for
#                  each component; runtime holds only the shared library
#                  (nothing when STATIC), tools only BINDIR/procsandbox (when
#                  TOOLS), development the rest: together they are exactly
#                  the full install in PREFIX.
# MODE=pkg_config  compile SOURCE with `CXX CXX_FLAGS $(pkg-config --cflags
#                  --libs procsandbox)`, PKG_CONFIG_PATH=PKG_CONFIG_DIR, and run it.
#
# REQUIRE_FILE: when it does not exist, print "PROCSANDBOX_SKIP: <why>" and
# stop; the test's SKIP_REGULAR_EXPRESSION turns that into a skip (cmake -P
# cannot pick its exit code before CMake 3.29).
cmake_minimum_required(VERSION 3.20)

function(ps_fail)
  string(JOIN "" msg ${ARGN})
  message(FATAL_ERROR "${msg}")
endfunction()

# Runs a command, echoing it; fails the test when it fails.
function(ps_run)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "WORKING_DIRECTORY" "COMMAND")
  list(JOIN arg_COMMAND " " shown)
  message(STATUS "$ ${shown}")
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  execute_process(COMMAND ${arg_COMMAND}
    WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    ps_fail("failed (${rc}): ${shown}")
  endif()
endfunction()

# Writes into DIR a CMake project of the snippet lines of a vcpkg `usage`
# file: one executable per target they link, its source from SOURCES.
function(ps_usage_project usage sources run dir)
  file(STRINGS "${usage}" lines REGEX "^    [^ ]")
  if(NOT lines)
    ps_fail("${usage} shows no CMake lines (indented by 4)")
  endif()
  string(REPLACE "|" ";" sources "${sources}")
  set(body "cmake_minimum_required(VERSION 3.20)\nproject(usage_consumer LANGUAGES CXX)\n")
  foreach(line IN LISTS lines)
    if(line MATCHES "target_link_libraries\\(([A-Za-z0-9_]+)")
      set(target "${CMAKE_MATCH_1}")
      set(source "")
      foreach(pair IN LISTS sources)
        if(pair MATCHES "^${target}=(.*)$")
          set(source "${CMAKE_MATCH_1}")
        endif()
      endforeach()
      if(NOT source)
        ps_fail("${usage} links target ${target}, for which USAGE_SOURCES has no source")
      endif()
      set(exclude EXCLUDE_FROM_ALL)
      if(target STREQUAL run)
        set(exclude "")
      endif()
      string(APPEND body "if(NOT TARGET ${target})\n"
        "  add_executable(${target} ${exclude} \"${source}\")\nendif()\n")
    endif()
    string(STRIP "${line}" line)
    string(APPEND body "${line}\n")
  endforeach()
  file(WRITE "${dir}/CMakeLists.txt" "${body}")
  message(STATUS "${dir}/CMakeLists.txt:\n${body}")
endfunction()

if(REQUIRE_FILE AND NOT EXISTS "${REQUIRE_FILE}")
  message("PROCSANDBOX_SKIP: ${REQUIRE_FILE} does not exist yet")
  return()
endif()

separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
separate_arguments(exe_linker_flags UNIX_COMMAND "${EXE_LINKER_FLAGS}")

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  ps_run(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                 --config "${CONFIG}")
  string(REPLACE "|" ";" expect_files "${EXPECT_FILES}")
  foreach(f IN LISTS expect_files)
    if(NOT EXISTS "${PREFIX}/${f}")
      ps_fail("the install lacks ${f}")
    endif()
  endforeach()

elseif(MODE STREQUAL "cmake")
  # A first-time configure each run: a stale cache would hide what a new user
  # sees. With KEEP_OBJECTS (the tests that compile the library or GTest
  # code), ninja's objects and logs stay, so unchanged sources are not
  # recompiled: a regenerated build.ninja with the same commands rebuilds
  # nothing, and depfiles still catch a changed installed header or library.
  # FRESH=ON wipes everything.
  if(KEEP_OBJECTS AND NOT FRESH AND EXISTS "${WORK_DIR}/CMakeCache.txt")
    file(GLOB stale "${WORK_DIR}/CMakeFiles/[0-9]*" "${WORK_DIR}/CMakeFiles/*.log")
    file(REMOVE_RECURSE "${WORK_DIR}/CMakeCache.txt" ${stale})
  else()
    file(REMOVE_RECURSE "${WORK_DIR}")
  endif()
  file(MAKE_DIRECTORY "${WORK_DIR}")
  if(USAGE_FILE)
    set(SOURCE_DIR "${WORK_DIR}.project")
    ps_usage_project("${USAGE_FILE}" "${USAGE_SOURCES}" "${RUN}" "${SOURCE_DIR}")
  endif()
  set(configure "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}"
    -G "${GENERATOR}"
    "-DCMAKE_BUILD_TYPE=${CONFIG}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}"
    "-DCMAKE_SHARED_LINKER_FLAGS=${SHARED_LINKER_FLAGS}")
  if(MAKE_PROGRAM)
    list(APPEND configure "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  # Consumers are built to be linked and run once, never debugged: no debug
  # info (-g0 for Debug's -g), which makes the heavy ones (the library via
  # add_subdirectory, GTest code in examples/) compile and link faster.
  if(CONFIG STREQUAL "Debug")
    list(APPEND configure "-DCMAKE_CXX_FLAGS_DEBUG=-g0")
  endif()
  if(ARGS)
    string(REPLACE "|" ";" args "${ARGS}")
    list(APPEND configure ${args})
  endif()

  if(EXPECT_FAILURE_REGEX)
    list(JOIN configure " " shown)
    message(STATUS "$ ${shown}    (must fail)")
    execute_process(COMMAND ${configure} RESULT_VARIABLE rc
      OUTPUT_VARIABLE out ERROR_VARIABLE out)
    message("${out}")
    if(rc EQUAL 0)
      ps_fail("the configure succeeded; it should have failed with: ${EXPECT_FAILURE_REGEX}")
    endif()
    string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
    if(NOT flat MATCHES "${EXPECT_FAILURE_REGEX}")
      ps_fail("the configure failed, but without: ${EXPECT_FAILURE_REGEX}")
    endif()
    message(STATUS "failed as expected")
    return()
  endif()

  ps_run(COMMAND ${configure})
  if(CONFIGURE_ONLY)
    return()
  endif()
  ps_run(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" --config "${CONFIG}")
  if(RUN)
    ps_run(COMMAND "${WORK_DIR}/${RUN}")
  endif()
  if(CTEST)
    ps_run(COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${WORK_DIR}" -C "${CONFIG}"
                   --output-on-failure --no-tests=error
           WORKING_DIRECTORY "${WORK_DIR}")
  endif()

elseif(MODE STREQUAL "components")
  # The files under $1 (relative), sorted, into the variable $2.
  function(ps_files dir out)
    file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${dir}" "${dir}/*")
    list(SORT files)
    set(${out} "${files}" PARENT_SCOPE)
  endfunction()
  file(REMOVE_RECURSE "${WORK_DIR}")
  set(all "")
  foreach(c runtime development tools)
    ps_run(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --config "${CONFIG}"
                   --component procsandbox_${c} --prefix "${WORK_DIR}/${c}")
    ps_files("${WORK_DIR}/${c}" files_${c})
    message(STATUS "procsandbox_${c}: ${files_${c}}")
    list(APPEND all ${files_${c}})
  endforeach()
  set(shared_lib "(^|/)(lib)?procsandboxd?([.]so[.][0-9.]+|[.]dll)$")
  foreach(f IN LISTS files_runtime)
    if(NOT f MATCHES "${shared_lib}")
      ps_fail("procsandbox_runtime holds ${f}: only the shared library belongs there")
    endif()
  endforeach()
  if(STATIC AND files_runtime)
    ps_fail("procsandbox_runtime of a static build is not empty: ${files_runtime}")
  elseif(NOT STATIC AND NOT files_runtime)
    ps_fail("procsandbox_runtime of a shared build holds no library")
  endif()
  if(TOOLS)
    set(want_tools "${BINDIR}/procsandbox")
  else()
    set(want_tools "")
  endif()
  if(NOT "${files_tools}" STREQUAL "${want_tools}")
    ps_fail("procsandbox_tools holds '${files_tools}', want '${want_tools}'")
  endif()
  foreach(f IN LISTS files_development)
    if(f MATCHES "${shared_lib}" OR f MATCHES "^${BINDIR}/procsandbox")
      ps_fail("procsandbox_development holds ${f}, which is not a development file")
    endif()
  endforeach()
  list(SORT all)
  ps_files("${PREFIX}" files_full)
  if(NOT "${all}" STREQUAL "${files_full}")
    ps_fail("the components together install\n  ${all}\nbut the full install is\n  ${files_full}")
  endif()
  file(REMOVE_RECURSE "${WORK_DIR}")

elseif(MODE STREQUAL "pkg_config")
  file(REMOVE_RECURSE "${WORK_DIR}")
  file(MAKE_DIRECTORY "${WORK_DIR}")
  set(ENV{PKG_CONFIG_PATH} "${PKG_CONFIG_DIR}")
  ps_run(COMMAND "${PKG_CONFIG}" --print-errors --validate procsandbox)
  execute_process(COMMAND "${PKG_CONFIG}" --print-errors --cflags --libs procsandbox
    RESULT_VARIABLE rc OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    ps_fail("pkg-config --cflags --libs procsandbox failed (${rc})")
  endif()
  message(STATUS "pkg-config --cflags --libs procsandbox: ${pc_flags}")
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  ps_run(COMMAND "${CXX_COMPILER}" -std=c++17 ${cxx_flags} "${SOURCE}"
                 -o "${WORK_DIR}/consumer" ${pc_flags} ${exe_linker_flags})
  # A shared libprocsandbox.so sits in the test prefix, off the loader's path.
  set(ENV{LD_LIBRARY_PATH} "${LIB_DIR}:$ENV{LD_LIBRARY_PATH}")
  ps_run(COMMAND "${WORK_DIR}/consumer")

else()
  ps_fail("run_consumer.cmake: unknown MODE '${MODE}'")
endif()

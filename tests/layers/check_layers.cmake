# cmake -DBUILD_DIR=<build> -DCONFIG=<config> -DCASES_FILE=<cases.cmake> -P check_layers.cmake
#
# Builds each case's target (tests/layers/CMakeLists.txt): an allowed
# include must compile, a forbidden one must fail, and fail because the
# header is not found through the layer's include view.
include("${CASES_FILE}")
set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
set(failures "")
set(checked 0)
foreach(case IN LISTS CASES)
  string(REPLACE "|" ";" fields "${case}")
  list(GET fields 0 target)
  list(GET fields 1 layer)
  list(GET fields 2 header)
  list(GET fields 3 expect)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${target}"
      ${config_args}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  math(EXPR checked "${checked} + 1")
  set(what "${layer} including \"${header}\"")
  if(expect STREQUAL "allowed")
    if(NOT rc EQUAL 0)
      string(APPEND failures "${what}: should compile, did not:\n${out}\n")
    else()
      message(STATUS "ok: ${what} compiles")
    endif()
    continue()
  endif()
  string(FIND "${out}" "${header}" named)
  if(rc EQUAL 0)
    string(APPEND failures "${what}: compiled, but the layer may not use it\n")
  elseif(named EQUAL -1 OR NOT out MATCHES "No such file|file not found")
    string(APPEND failures
      "${what}: failed, but not for want of the header:\n${out}\n")
  else()
    message(STATUS "ok: ${what} is not found")
  endif()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no case checked")
endif()
if(failures)
  message(FATAL_ERROR "${failures}")
endif()
message(STATUS "${checked} include checks held")

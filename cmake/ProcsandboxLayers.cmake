# The layers of src/ (docs/ARCHITECTURE.md), held by the compiler.
#
# Each folder of src/ is a layer and compiles as its own OBJECT library,
# procsandbox_<layer>, whose include path is include/ and the layer's
# "include view": a directory of the build tree holding links to the src/
# folders (or single headers) the layer may include, and nothing else. An
# #include of any other folder fails with "No such file" (tests/layers
# checks that it does). All the objects make one libprocsandbox.
#
#   procsandbox_layer(<layer> [API] [NOT_IN_LIBRARY] [SEES <folder>...]
#                     [HEADERS <file>...])
#     A layer: the target procsandbox_<layer> (sources added with
#     target_sources), seeing its own folder, the SEES folders and the HEADERS
#     (paths under src/, "posix/errno_status.h"). API: its objects are
#     libprocsandbox's public entry points, and its target is
#     procsandbox_<layer>_api (a second target of a layer already declared
#     shares its view). Other layers' objects are internals: hidden in a
#     shared library, handed to tests and benchmarks by procsandbox_internal.
#     NOT_IN_LIBRARY: handed to them only, not part of libprocsandbox (a
#     platform's portable pieces, checked natively where that platform's
#     backend is not built: src/windows on Linux).
#
#   procsandbox_include_view(<name> [SEES <folder>...] [HEADERS <file>...])
#     A view only, for code outside src/ (the procsandbox command: "tools").
#
#   procsandbox_use_view(<target> <layer>...)
#     Gives <target> (a test, a benchmark) the view of the layers it tests.

function(procsandbox_include_view name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SEES;HEADERS")
  # Named .../src so that tools matching source paths (clang-tidy's
  # HeaderFilterRegex) take the headers found through it as ours.
  set(view "${PROJECT_BINARY_DIR}/include_views/${name}/src")
  # Made anew at each configure: a link a layer no longer has goes.
  file(REMOVE_RECURSE "${view}")
  file(MAKE_DIRECTORY "${view}")
  foreach(path IN LISTS arg_SEES arg_HEADERS)
    set(target "${PROJECT_SOURCE_DIR}/src/${path}")
    if(NOT EXISTS "${target}")
      message(FATAL_ERROR "include view ${name}: no src/${path}")
    endif()
    get_filename_component(dir "${view}/${path}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(CREATE_LINK "${target}" "${view}/${path}" SYMBOLIC)
  endforeach()
  set_property(GLOBAL PROPERTY PROCSANDBOX_VIEW_${name} "${view}")
endfunction()

function(procsandbox_use_view target)
  foreach(name IN LISTS ARGN)
    get_property(view GLOBAL PROPERTY PROCSANDBOX_VIEW_${name})
    if(NOT view)
      message(FATAL_ERROR "procsandbox_use_view(${target}): no view ${name}")
    endif()
    target_include_directories(${target} PRIVATE "${view}")
  endforeach()
endfunction()

# What every layer's code links (headers) and what a consumer of its objects
# must link.
set(PROCSANDBOX_LAYER_LIBRARIES
  absl::status absl::statusor absl::strings absl::time absl::synchronization
  absl::flat_hash_map fmt::fmt Threads::Threads)

function(procsandbox_layer layer)
  cmake_parse_arguments(PARSE_ARGV 1 arg "API;NOT_IN_LIBRARY" ""
    "SEES;HEADERS")
  set(target procsandbox_${layer})
  if(arg_API)
    set(target procsandbox_${layer}_api)
  endif()
  get_property(view GLOBAL PROPERTY PROCSANDBOX_VIEW_${layer})
  if(NOT view)
    procsandbox_include_view(${layer} SEES ${layer} ${arg_SEES}
      HEADERS ${arg_HEADERS})
  endif()
  add_library(${target} OBJECT)
  set_target_properties(${target} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/include")
  procsandbox_use_view(${target} ${layer})
  target_compile_definitions(${target} PRIVATE PROCSANDBOX_BUILDING)
  if(BUILD_SHARED_LIBS)
    # Its objects are part of libprocsandbox: public entry points defined
    # here (NewOsManager) must be exported like the rest.
    target_compile_definitions(${target} PRIVATE PROCSANDBOX_SHARED)
  endif()
  target_link_libraries(${target} PRIVATE ${PROCSANDBOX_LAYER_LIBRARIES})
  procsandbox_set_warnings(${target})
  if(NOT arg_NOT_IN_LIBRARY)
    set_property(GLOBAL APPEND PROPERTY PROCSANDBOX_LAYER_TARGETS ${target})
  endif()
  if(NOT arg_API)
    set_property(GLOBAL APPEND PROPERTY PROCSANDBOX_INTERNAL_TARGETS ${target})
  endif()
endfunction()

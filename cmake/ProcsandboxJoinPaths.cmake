# procsandbox_join_paths(<out-var> <base> <path>...): joins path pieces the way
# an install prefix and a GNUInstallDirs value combine. An absolute piece
# replaces what came before, so an absolute CMAKE_INSTALL_LIBDIR (as Nix and
# some distributions pass) yields that path alone instead of "${prefix}//usr/lib".
#
# Same idea as fmt's support/cmake/JoinPaths.cmake (after
# https://github.com/jtojnar/cmake-snips); used for the .pc file, whose paths
# must be either absolute or built on ${prefix}.
function(procsandbox_join_paths out base)
  set(joined "${base}")
  foreach(piece IN LISTS ARGN)
    if(piece STREQUAL "")
      continue()
    elseif(IS_ABSOLUTE "${piece}")
      set(joined "${piece}")
    elseif(joined STREQUAL "")
      set(joined "${piece}")
    else()
      string(REGEX REPLACE "/+$" "" joined "${joined}")
      set(joined "${joined}/${piece}")
    endif()
  endforeach()
  set(${out} "${joined}" PARENT_SCOPE)
endfunction()

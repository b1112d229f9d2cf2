# procsandbox_set_warnings(target): the project's warning flags, as errors in
# developer builds (PROCSANDBOX_WERROR, ON when top-level).
option(PROCSANDBOX_WERROR "Treat warnings as errors" ${_ps_top})

function(procsandbox_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4)
    if(PROCSANDBOX_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
      -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough
      -Wold-style-cast -Wcast-qual -Wformat=2 -Wundef)
    # clang checks what the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED
    # annotations promise; GCC ignores them.
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      target_compile_options(${target} PRIVATE -Wthread-safety)
    endif()
    if(PROCSANDBOX_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

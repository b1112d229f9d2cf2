# Cross-build for 64-bit Windows on Debian with mingw-w64, tests run under
# Wine (the `windows` preset; scripts/test windows installs both).
#
# The posix threads variant of the compilers: its libstdc++ has std::thread
# and std::mutex (over winpthreads), which Abseil and the library use.
# Executables link everything statically (libgcc, libstdc++, winpthreads),
# so they run under Wine with no DLL to find.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_ps_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_ps_mingw}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_ps_mingw}-g++-posix)
set(CMAKE_RC_COMPILER ${_ps_mingw}-windres)

# Libraries and packages come from the mingw sysroot and from the
# third-party prefix scripts/lib/windows-deps.sh fills (Abseil, fmt,
# GoogleTest built for mingw), never from the host; programs from the host.
get_filename_component(_ps_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(CMAKE_FIND_ROOT_PATH
  /usr/${_ps_mingw}
  "${_ps_root}/build/third_party/mingw/install")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# Test programs (and gtest_discover_tests) run through Wine, in one prefix
# per build tree, made on first use: scripts/lib/windows-run.sh.
set(CMAKE_CROSSCOMPILING_EMULATOR
  "${_ps_root}/scripts/lib/windows-run.sh;${CMAKE_BINARY_DIR}/wineprefix")

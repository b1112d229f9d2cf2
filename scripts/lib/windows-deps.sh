# Sourced by scripts/test for the windows preset (not run): builds the
# third-party libraries for mingw-w64, once, into
# build/third_party/mingw/install (the toolchain file searches there).
#
#   ensure_windows_deps   # also installs WINDOWS_PACKAGES (apt)
#
# Abseil and fmt: Debian's own source packages, the versions installed here
# (scripts/lib/debian-source.sh), so the Windows build compiles against the
# same headers, options.h and patches as the Linux one. fmt is built as a
# library, not header-only: the project links fmt::fmt either way, and
# fmt's format.cc compiled once keeps every test binary's build shorter.
# GoogleTest and GMock: Debian's googletest package ships their sources in
# /usr/src/googletest. All static, built with the toolchain file. The result
# is cached: nothing is done when the stamp names these versions.

# shellcheck source=debian-source.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-source.sh"

# What the windows preset needs besides the base packages: the compilers
# (posix threads variant), Wine, GoogleTest's sources.
WINDOWS_PACKAGES=(
  g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix wine64 wine
  googletest
)

WINDOWS_DEPS_DIR="build/third_party/mingw"
# Bump when the options below change: the stamp then no longer matches.
WINDOWS_DEPS_RECIPE=1

# Configures, builds and installs one CMake project for mingw ($1 names it,
# $2 is its source; further arguments are cache settings).
windows_deps_build() {
  local name="$1" source="$2" top="${PWD}/${WINDOWS_DEPS_DIR}"
  shift 2
  nice -n 10 cmake -S "${source}" -B "${top}/build/${name}" -G Ninja \
    --toolchain "${PWD}/cmake/toolchains/mingw-w64-x86_64.cmake" \
    -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS=-O2 -DCMAKE_CXX_FLAGS=-O2 \
    -DCMAKE_CXX_STANDARD=17 \
    -DBUILD_SHARED_LIBS=OFF \
    -DBUILD_TESTING=OFF \
    -DCMAKE_INSTALL_PREFIX="${top}/install" \
    "$@" >&2
  nice -n 10 cmake --build "${top}/build/${name}" --parallel 2
  cmake --install "${top}/build/${name}" >/dev/null
}

ensure_windows_deps() {
  ensure_packages "${WINDOWS_PACKAGES[@]}"
  local top="${PWD}/${WINDOWS_DEPS_DIR}"
  local abseil fmt gtest
  abseil="$(debian_source_version libabsl-dev)"
  fmt="$(debian_source_version libfmt-dev)"
  gtest="$(dpkg-query -W -f='${Version}' googletest 2>/dev/null)" ||
    die "googletest is not installed (scripts/test windows installs it)"
  local want="recipe ${WINDOWS_DEPS_RECIPE} abseil ${abseil} fmtlib ${fmt} googletest ${gtest}"
  local stamp="${top}/install/.procsandbox-mingw-deps"
  if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
    return 0
  fi
  step "Abseil, fmt and GoogleTest for mingw-w64 (once, into ${WINDOWS_DEPS_DIR})"
  local started="${SECONDS}"
  rm -rf "${top}/src" "${top}/build" "${top}/install"
  debian_source_fetch abseil "${abseil}" "${top}/src"
  debian_source_fetch fmtlib "${fmt}" "${top}/src"

  # ABSL_PROPAGATE_CXX_STD: Abseil's targets ask for C++17 as ours do.
  windows_deps_build abseil "${top}/src/abseil" -DABSL_PROPAGATE_CXX_STD=ON
  windows_deps_build fmt "${top}/src/fmtlib" -DFMT_DOC=OFF -DFMT_TEST=OFF
  windows_deps_build googletest /usr/src/googletest -DBUILD_GMOCK=ON \
    -DINSTALL_GTEST=ON
  printf '%s\n' "${want}" >"${stamp}"
  rm -rf "${top}/build" "${top}/src"
  printf 'mingw-w64 third-party libraries built in %ss\n' \
    "$((SECONDS - started))" >&2
}

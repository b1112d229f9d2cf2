# Sourced by scripts/test for the tsan preset (not run): builds Debian's own
# Abseil, the version installed here, with -fsanitize=thread.
#
#   ensure_tsan_abseil   # installs build/third_party/abseil-tsan/install
#
# Why: Debian's libabsl is built without TSan, so TSan cannot see its
# Mutex, and every ABSL_GUARDED_BY field looks like a race. The tsan preset
# links this static, instrumented copy instead (absl_DIR points into it).
# The same source package as the installed libabsl-dev keeps the headers,
# options.h (Debian sets ABSL_OPTION_USE_STD_* to 0) and patches identical.
#
# The sources come from Debian through scripts/lib/debian-source.sh. The
# result is cached: nothing is done when the install is there for this
# version.

# shellcheck source=debian-source.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-source.sh"

TSAN_ABSEIL_DIR="build/third_party/abseil-tsan"

ensure_tsan_abseil() {
  local top="${PWD}/${TSAN_ABSEIL_DIR}"
  local version
  version="$(debian_source_version libabsl-dev)"
  local stamp="${top}/install/.procsandbox-abseil-version"
  if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${version}" ]]; then
    return 0
  fi
  step "Abseil ${version} with -fsanitize=thread (once, into ${TSAN_ABSEIL_DIR})"
  rm -rf "${top}/src" "${top}/build" "${top}/install"
  debian_source_fetch abseil "${version}" "${top}/src"

  # Static and position-independent: linked into the tsan test binaries
  # only. -O1 keeps TSan's reports readable and the build short.
  local flags="-fsanitize=thread -O1 -g -fno-omit-frame-pointer"
  cmake -S "${top}/src/abseil" -B "${top}/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_STANDARD=17 \
    -DCMAKE_CXX_FLAGS="${flags}" \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_SHARED_LIBS=OFF \
    -DBUILD_TESTING=OFF \
    -DABSL_PROPAGATE_CXX_STD=ON \
    -DCMAKE_INSTALL_PREFIX="${top}/install" >&2
  cmake --build "${top}/build"
  cmake --install "${top}/build" >/dev/null
  printf '%s\n' "${version}" >"${stamp}"
  rm -rf "${top}/build"
}

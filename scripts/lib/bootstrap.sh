# Shared by scripts/test, scripts/run and scripts/check (sourced, not run):
# install the Debian packages the build needs, then configure a preset once.
#
#   ensure_packages      # apt-get as root, or passwordless sudo; else says
#                        # what to install and exits 1
#   ensure_packages PKG... # the same for these packages (other scripts' tools)
#   ensure_configured PRESET

PROCSANDBOX_PACKAGES=(
  cmake ninja-build g++ pkgconf
  libabsl-dev libfmt-dev libgtest-dev libgmock-dev catch2
  libcli11-dev nlohmann-json3-dev libseccomp-dev
  # tests/packaging/recipes checks the Conan recipe and the vcpkg port.
  python3
  # bench/isolation_bench runs bwrap beside the library's isolation.
  bubblewrap
  # tests/cli renders `procsandbox plot`'s SVG with rsvg-convert and reads
  # the PNG's pixels with libpng.
  librsvg2-bin libpng-dev
  # tests/slurm starts a one-node Slurm cluster (munged, slurmctld, slurmd
  # from a generated config in a temp dir). Installing starts no Slurm
  # daemon: their init scripts exit 0 without /etc/slurm/slurm.conf and
  # the systemd units have ConditionPathExists on it. munge's postinst
  # makes /etc/munge/munge.key and may start the system munged (harmless:
  # the tests run their own on their own socket).
  slurmd slurmctld slurm-client munge
)

ensure_packages() {
  local missing=() pkg status wanted=("$@")
  ((${#wanted[@]})) || wanted=("${PROCSANDBOX_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  install_packages "${missing[@]}"
}

# Installs the named Debian packages: as root, or via passwordless sudo;
# otherwise names them and exits 1. (Also used by scripts/lib/tsan-abseil.sh.)
install_packages() {
  local install_cmd="apt-get update && apt-get install -y --no-install-recommends $*"
  if ((EUID == 0)); then
    step "Installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    step "Installing $* (sudo)"
    sudo DEBIAN_FRONTEND=noninteractive apt-get update
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  else
    cat >&2 <<MSG
$(basename "$0"): missing packages: $*
Install them as root, then run it again:

  sudo sh -c '${install_cmd}'
MSG
    exit 1
  fi
}

# CMake leaves an unchanged CMakeCache.txt alone, so a stamp records which
# presets file the build dir was configured from.
ensure_configured() {
  local preset="$1" build_dir="build/$1"
  local presets
  presets="$(cmake --list-presets 2>/dev/null || true)"
  grep -q "\"${preset}\"" <<<"${presets}" ||
    die "no configure preset '${preset}' in CMakePresets.json (cmake --list-presets)"
  local stamp="${build_dir}/.scripts-test-configured"
  if [[ ! -f "${build_dir}/CMakeCache.txt" || ! -f "${build_dir}/build.ninja" ||
        ! -f "${stamp}" || CMakePresets.json -nt "${stamp}" ||
        ( -f CMakeUserPresets.json && CMakeUserPresets.json -nt "${stamp}" ) ]]; then
    step "cmake --preset ${preset}"
    cmake --preset "${preset}" >&2
    touch "${stamp}"
  fi
}

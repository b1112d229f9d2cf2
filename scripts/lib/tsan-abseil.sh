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
# The sources come through a private deb-src list derived from the host's
# own apt sources (the same mirrors, with "deb" turned into "deb-src"), kept
# under build/: the host's apt configuration is never changed. The result
# is cached: nothing is done when the install is there for this version.

TSAN_ABSEIL_DIR="build/third_party/abseil-tsan"

# Writes a deb-src copy of every enabled host source into $1.
tsan_abseil_write_sources() {
  local out="$1" file name
  mkdir -p "${out}"
  rm -f "${out}"/*.list "${out}"/*.sources
  if [[ -f /etc/apt/sources.list ]]; then
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list \
      >"${out}/host.list"
  fi
  for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "${file}" ]] || continue
    name="$(basename "${file}")"
    case "${file}" in
      *.list)
        sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "${file}" \
          >"${out}/${name}"
        ;;
      *.sources)
        # deb822: every stanza's Types becomes deb-src alone.
        sed 's/^Types:.*/Types: deb-src/' "${file}" >"${out}/${name}"
        ;;
    esac
  done
}

ensure_tsan_abseil() {
  local top="${PWD}/${TSAN_ABSEIL_DIR}"
  local version
  version="$(dpkg-query -W -f='${source:Version}' libabsl-dev 2>/dev/null)" ||
    die "libabsl-dev is not installed (scripts/test installs it)"
  local stamp="${top}/install/.procsandbox-abseil-version"
  if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${version}" ]]; then
    return 0
  fi
  step "Abseil ${version} with -fsanitize=thread (once, into ${TSAN_ABSEIL_DIR})"
  local tools=(dpkg-dev)
  local tool missing=()
  for tool in "${tools[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "${tool}" 2>/dev/null || true)" == \
      "install ok installed" ]] || missing+=("${tool}")
  done
  ((${#missing[@]} == 0)) || install_packages "${missing[@]}"

  local apt_dir="${top}/apt"
  rm -rf "${apt_dir}" "${top}/src" "${top}/build" "${top}/install"
  mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache" "${top}/src"
  : >"${apt_dir}/sources.list"
  tsan_abseil_write_sources "${apt_dir}/sources.list.d"
  local apt_opts=(
    -o "Dir::Etc::SourceList=${apt_dir}/sources.list"
    -o "Dir::Etc::SourceParts=${apt_dir}/sources.list.d"
    -o "Dir::State::Lists=${apt_dir}/lists"
    -o "Dir::Cache=${apt_dir}/cache"
    -o "APT::Sandbox::User=root"
  )
  # A host source that publishes no sources (a third-party repository)
  # fails here; apt-get source below says whether the one we need is there.
  apt-get "${apt_opts[@]}" update ||
    printf 'scripts/test: some deb-src indexes failed; trying anyway\n' >&2
  (cd "${top}/src" &&
    apt-get "${apt_opts[@]}" source --download-only "abseil=${version}") ||
    die "apt-get source abseil=${version} failed (no deb-src for the host's sources?)"
  local dsc
  dsc="$(ls "${top}"/src/abseil_*.dsc)"
  # apt-get checked the files against the signed index; --no-check skips
  # only the .dsc's own signature (its keyring is not installed).
  dpkg-source --no-check -x "${dsc}" "${top}/src/abseil"

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
  rm -rf "${top}/build" "${apt_dir}"
}

# Sourced by scripts/lib/tsan-abseil.sh, scripts/lib/windows-deps.sh and
# scripts/test-deb (not run): fetches and unpacks a Debian source package,
# the version installed here, so a library can be rebuilt (with TSan, for
# mingw) from the same sources and patches as the host's -dev package; and
# names the host's Debian mirrors (for a fresh root).
#
#   debian_source_version BINARY_PACKAGE   # prints its source version
#   debian_source_fetch SOURCE VERSION DIR # unpacks into DIR/SOURCE
#   debian_host_archives                   # "URI SUITE" of the host's apt sources
#
# The sources come through a private deb-src list derived from the host's
# own apt sources (the same mirrors, with "deb" turned into "deb-src"), kept
# in DIR/apt while it runs: the host's apt configuration is never changed.
# Needs install_packages and die from scripts/lib/bootstrap.sh.

# Prints the source version of an installed binary package.
debian_source_version() {
  dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null ||
    die "$1 is not installed (scripts/test installs it)"
}

# Writes a deb-src copy of every enabled host source into $1.
debian_source_write_lists() {
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

# Downloads source package $1 at version $2 and unpacks it into $3/$1
# (replacing what was there).
debian_source_fetch() {
  local package="$1" version="$2" dir="$3"
  [[ "$(dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null || true)" == \
    "install ok installed" ]] || install_packages dpkg-dev
  local apt_dir="${dir}/apt" download="${dir}/download-${package}"
  rm -rf "${apt_dir}" "${download}" "${dir:?}/${package}"
  mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache" "${download}"
  : >"${apt_dir}/sources.list"
  debian_source_write_lists "${apt_dir}/sources.list.d"
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
    printf '%s: some deb-src indexes failed; trying anyway\n' "$(basename "$0")" >&2
  (cd "${download}" &&
    apt-get "${apt_opts[@]}" source --download-only "${package}=${version}") ||
    die "apt-get source ${package}=${version} failed (no deb-src for the host's sources?)"
  local dsc
  dsc="$(ls "${download}/${package}"_*.dsc)"
  # apt-get checked the files against the signed index; --no-check skips
  # only the .dsc's own signature (its keyring is not installed).
  dpkg-source --no-check -x "${dsc}" "${dir}/${package}" >&2
  rm -rf "${apt_dir}" "${download}"
}

# Prints "URI SUITE" for every enabled binary ("deb") source of the host, one
# a line, from /etc/apt/sources.list and sources.list.d (one-line and deb822
# formats): scripts/test-deb points a fresh root at the host's own mirrors.
debian_host_archives() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "${file}" ]] || continue
    # deb [options] URI SUITE COMPONENT...
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\).*/\2 \3/p' \
      "${file}"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "${file}" ]] || continue
    # deb822: stanzas separated by blank lines; Types must include deb and
    # Enabled must not be "no". Every URI serves every suite.
    awk '
      function flush(  i, j) {
        if (types ~ /(^| )deb( |$)/ && enabled != "no")
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
        types = ""; enabled = ""; nu = 0; ns = 0
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "types:" { $1 = ""; types = $0 " " }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) u[++nu] = $i }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) s[++ns] = $i }
      END { flush() }
    ' "${file}"
  done
}

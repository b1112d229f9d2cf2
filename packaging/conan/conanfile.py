# Conan 2 recipe of procsandbox, kept in the repository beside the sources:
#
#   conan create packaging/conan --build=missing
#   conan create packaging/conan -o "procsandbox/*:shared=True" -o "procsandbox/*:testing=True"
#
# The recipe exports the repository's sources (export_sources) instead of
# downloading a release archive, so it builds the checkout it sits in. It is
# not run by this project's CI (no Conan client there): tests/packaging's
# packaging.recipes checks what it can without one (check_recipes.py).
import os
import re

from conan import ConanFile
from conan.errors import ConanException, ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class ProcsandboxConan(ConanFile):
    name = "procsandbox"
    description = ("Start, limit, watch and stop child processes "
                   "(cgroups, rlimits, pidfd); with an in-memory fake for tests")
    # The repository names no license yet (no LICENSE file): set it here, in
    # vcpkg.json and in debian/copyright once it does.
    topics = ("process", "sandbox", "cgroups", "rlimit", "testing")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "shared": [True, False],
        "fPIC": [True, False],
        # The procsandbox command (Linux only; CLI11 and nlohmann_json).
        "tools": [True, False],
        # procsandbox::testing: gmock mocks and gtest matchers (GoogleTest).
        "testing": [True, False],
        # Isolation::seccomp's filters, through the system's libseccomp
        # (pkg-config; Conan Center has no libseccomp recipe).
        "seccomp": [True, False],
    }
    default_options = {
        "shared": False,
        "fPIC": True,
        "tools": False,
        "testing": False,
        "seccomp": False,
    }

    @property
    def _source_root(self):
        # The checkout this recipe belongs to (packaging/conan/ -> ../..).
        return os.path.join(self.recipe_folder, os.pardir, os.pardir)

    def set_version(self):
        # The version is written once, in include/procsandbox/version.h.
        header = load(self, os.path.join(self._source_root, "include",
                                         "procsandbox", "version.h"))
        parts = []
        for part in ("MAJOR", "MINOR", "PATCH"):
            found = re.search(rf"^#define PROCSANDBOX_VERSION_{part} (\d+)$",
                              header, re.MULTILINE)
            if not found:
                raise ConanException(
                    f"version.h defines no PROCSANDBOX_VERSION_{part}")
            parts.append(found.group(1))
        self.version = ".".join(parts)

    def export_sources(self):
        for pattern in ("CMakeLists.txt", "cmake/*", "include/*", "src/*",
                        "tools/*"):
            copy(self, pattern, src=self._source_root,
                 dst=self.export_sources_folder)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC
        if self.settings.os != "Linux":
            # Both are Linux-only in CMakeLists.txt.
            del self.options.tools
            del self.options.seccomp

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # The versions Debian 12 ships, which this project's CI builds with.
        # The public headers include Abseil's and fmt's, and their inline
        # code calls into those libraries (absl::Status's destructor, fmt's
        # vformat): consumers link them too, even past a shared
        # libprocsandbox (src/CMakeLists.txt links them PUBLIC).
        self.requires("abseil/20220623.1", transitive_headers=True, transitive_libs=True)
        self.requires("fmt/9.1.0", transitive_headers=True, transitive_libs=True)
        if self.options.testing:
            # procsandbox::testing is header-only over gmock.
            self.requires("gtest/1.12.1", transitive_headers=True, transitive_libs=True)
        if self.options.get_safe("tools"):
            # Compiled into the command only: invisible to consumers.
            self.requires("cli11/2.1.2", visible=False)
            self.requires("nlohmann_json/3.11.2", visible=False)

    def validate(self):
        check_min_cppstd(self, 17)
        if self.settings.os not in ("Linux", "Macos", "Windows"):
            raise ConanInvalidConfiguration(
                f"{self.ref} has backends for Linux, macOS and Windows only")
        if self.settings.os == "Windows" and self.settings.compiler != "gcc":
            raise ConanInvalidConfiguration(
                f"{self.ref} on Windows is built with mingw-w64 (gcc) only")

    def generate(self):
        tc = CMakeToolchain(self)
        # BUILD_SHARED_LIBS and CMAKE_POSITION_INDEPENDENT_CODE come from the
        # shared and fPIC options through CMakeToolchain. As the top-level
        # project, CMakeLists.txt turns tests, benchmarks and tools on by
        # default: say what the package holds.
        tc.cache_variables["PROCSANDBOX_BUILD_TESTS"] = False
        tc.cache_variables["PROCSANDBOX_BUILD_BENCHMARKS"] = False
        tc.cache_variables["PROCSANDBOX_INSTALL"] = True
        tc.cache_variables["PROCSANDBOX_BUILD_TESTING_LIB"] = bool(self.options.testing)
        tc.cache_variables["PROCSANDBOX_BUILD_TOOLS"] = bool(self.options.get_safe("tools"))
        if self.settings.os == "Linux":
            # ON fails the configure when pkg-config finds no libseccomp;
            # OFF keeps a host's libseccomp out of a package that does not
            # declare it (AUTO would pick it up).
            tc.cache_variables["PROCSANDBOX_SECCOMP"] = \
                "ON" if self.options.seccomp else "OFF"
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        cmake = CMake(self)
        cmake.install()
        # Conan's CMakeDeps and PkgConfigDeps write their own from package_info().
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))

    def package_info(self):
        # find_package(procsandbox) with the targets procsandboxConfig.cmake
        # defines. CMakeDeps also declares an aggregate of every component
        # under the root's target name: it must differ from the components'
        # names, or procsandbox::procsandbox would bring in GTest.
        self.cpp_info.set_property("cmake_file_name", "procsandbox")
        self.cpp_info.set_property("cmake_target_name", "procsandbox::procsandbox_all")
        self.cpp_info.set_property("pkg_config_name", "procsandbox_all")

        core = self.cpp_info.components["procsandbox"]
        core.set_property("cmake_target_name", "procsandbox::procsandbox")
        core.set_property("pkg_config_name", "procsandbox")
        # DEBUG_POSTFIX d (src/CMakeLists.txt): libprocsandboxd in Debug.
        core.libs = ["procsandboxd" if self.settings.build_type == "Debug" else "procsandbox"]
        # What src/CMakeLists.txt links `procsandbox` with, PUBLIC and
        # PRIVATE (a static library needs both on its consumers' links).
        core.requires = [
            "abseil::absl_status",
            "abseil::absl_statusor",
            "abseil::absl_strings",
            "abseil::absl_time",
            "fmt::fmt",
            "abseil::absl_synchronization",
            "abseil::absl_flat_hash_map",
        ]
        if self.settings.os == "Linux":
            core.system_libs = ["pthread"]
        if self.options.get_safe("seccomp"):
            core.system_libs.append("seccomp")
        if self.options.shared:
            core.defines = ["PROCSANDBOX_SHARED"]

        if self.options.testing:
            testing = self.cpp_info.components["testing"]
            testing.set_property("cmake_target_name", "procsandbox::testing")
            testing.requires = ["procsandbox", "gtest::gmock"]
            testing.libdirs = []
            testing.bindirs = []

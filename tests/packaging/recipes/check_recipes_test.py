#!/usr/bin/env python3
"""Tests of check_recipes.py and run_portfile.cmake: they pass on the
repository's files and fail, naming the problem, on copies broken one way
each (packaging.recipes_checker).

  check_recipes_test.py --source-dir <repo> [--cmake <cmake>]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_recipes.py")
SOURCE_DIR = None

# What the checker reads; copied into a scratch tree per test.
FILES = [
    "CMakeLists.txt",
    "cmake",
    "include/procsandbox/version.h",
    "src/CMakeLists.txt",
    "src/testing/CMakeLists.txt",
    "tools/CMakeLists.txt",
    "packaging",
]


class ScratchCopy(unittest.TestCase):
    """A copy of what the checks read, to break one way per test."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="check_recipes_test.")
        for rel in FILES:
            src = os.path.join(SOURCE_DIR, rel)
            dst = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(src):
                shutil.copytree(src, dst)
            else:
                shutil.copy2(src, dst)

    def tearDown(self):
        shutil.rmtree(self.root)

    def check(self):
        p = subprocess.run([sys.executable, CHECKER, "--source-dir", self.root],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return p.returncode, p.stdout

    def edit(self, rel, old, new, count=1):
        path = os.path.join(self.root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text, f"{rel} no longer holds {old!r}: update this test")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, count))

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def assertFails(self, *fragments):
        rc, out = self.check()
        self.assertEqual(rc, 1, out)
        for fragment in fragments:
            self.assertRegex(out, fragment)

    def version(self):
        with open(os.path.join(self.root, "include/procsandbox/version.h")) as f:
            text = f.read()
        return ".".join(re.search(rf"VERSION_{p} (\d+)", text).group(1)
                        for p in ("MAJOR", "MINOR", "PATCH"))


class CheckRecipesTest(ScratchCopy):
    # --- The unbroken copy ---------------------------------------------------

    def test_the_repository_passes(self):
        rc, out = self.check()
        self.assertEqual(rc, 0, out)

    # --- Versions ------------------------------------------------------------

    def test_a_new_version_in_version_h_alone_fails_the_port(self):
        self.edit("include/procsandbox/version.h",
                  "#define PROCSANDBOX_VERSION_PATCH ", "#define PROCSANDBOX_VERSION_PATCH 9")
        # The recipe reads version.h; the port's manifest is written out.
        self.assertFails(r"vcpkg\.json: version \S+, version\.h says \S+9")

    def test_a_wrong_port_version_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/vcpkg.json",
                  f'"{self.version()}"', '"9.9.9"')
        self.assertFails(r"vcpkg\.json: version 9\.9\.9")

    def test_a_literal_recipe_version_fails(self):
        self.edit("packaging/conan/conanfile.py",
                  'self.version = ".".join(parts)', 'self.version = "0.1.0"')
        self.assertFails(r"conanfile\.py: version 0\.1\.0")

    def test_a_changelog_with_another_version_fails(self):
        self.write("debian/changelog",
                   "procsandbox (0.1.7-1) unstable; urgency=medium\n\n  * x\n")
        self.assertFails(r"debian/changelog: version 0\.1\.7")

    def test_a_changelog_with_the_version_passes(self):
        self.write("debian/changelog",
                   f"procsandbox ({self.version()}-1) unstable; urgency=medium\n\n  * x\n")
        rc, out = self.check()
        self.assertEqual(rc, 0, out)

    # --- Options ---------------------------------------------------------------

    def test_an_unknown_conan_cache_option_fails(self):
        self.edit("packaging/conan/conanfile.py",
                  'tc.cache_variables["PROCSANDBOX_BUILD_TOOLS"]',
                  'tc.cache_variables["PROCSANDBOX_BUILD_TOOL"]')
        self.assertFails(r"sets PROCSANDBOX_BUILD_TOOL, which no option",
                         r"PROCSANDBOX_BUILD_TOOLS=None with tools=True")

    def test_a_renamed_project_option_fails_both_recipes(self):
        self.edit("CMakeLists.txt", "option(PROCSANDBOX_BUILD_TESTING_LIB",
                  "option(PROCSANDBOX_BUILD_TESTING_LIBRARY")
        self.assertFails(r"conanfile\.py: sets PROCSANDBOX_BUILD_TESTING_LIB,",
                         r"portfile\.cmake: sets PROCSANDBOX_BUILD_TESTING_LIB,")

    def test_a_value_outside_the_strings_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "-DPROCSANDBOX_SECCOMP=OFF", "-DPROCSANDBOX_SECCOMP=NO")
        self.assertFails(r"PROCSANDBOX_SECCOMP=NO, not one of")

    def test_a_port_feature_on_an_unknown_option_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "tools   PROCSANDBOX_BUILD_TOOLS", "tools   PROCSANDBOX_TOOLS")
        self.assertFails(r"portfile\.cmake: sets PROCSANDBOX_TOOLS, which no option")

    def test_a_package_that_builds_tests_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "-DPROCSANDBOX_BUILD_TESTS=OFF", "-DPROCSANDBOX_BUILD_TESTS=ON")
        self.assertFails(r"PROCSANDBOX_BUILD_TESTS=ON, want OFF")

    # --- Components and their links ------------------------------------------------

    def test_a_wrong_component_target_fails(self):
        self.edit("packaging/conan/conanfile.py",
                  '"procsandbox::testing"', '"procsandbox::test"')
        self.assertFails(r"component testing's cmake_target_name is procsandbox::test,")

    def test_a_component_the_config_does_not_know_fails(self):
        self.edit("cmake/procsandboxConfig.cmake.in",
                  '"^(procsandbox|testing)$"', '"^(procsandbox|mocks)$"')
        self.assertFails(r"procsandboxConfig\.cmake\.in knows \['mocks', 'procsandbox'\]")

    def test_a_new_link_of_the_library_fails_until_the_recipe_has_it(self):
        self.edit("src/CMakeLists.txt", "absl::status absl::statusor",
                  "absl::status absl::cord absl::statusor")
        self.assertFails(r"component procsandbox requires .*, procsandbox links .*abseil::absl_cord")

    def test_a_dropped_link_fails(self):
        self.edit("src/testing/CMakeLists.txt", " GTest::gmock)", ")")
        # gtest is then found by nobody: the testing component's gmock is extra.
        self.assertFails(r"component testing requires \['gtest::gmock', 'procsandbox'\], "
                         r"procsandbox_testing links \['procsandbox'\]")

    def test_a_public_link_without_transitive_libs_fails(self):
        # A shared libprocsandbox's consumers then miss absl_status at link
        # time (found by a real `conan create -o shared=True`).
        self.edit("packaging/conan/conanfile.py",
                  'self.requires("abseil/20220623.1", transitive_headers=True, transitive_libs=True)',
                  'self.requires("abseil/20220623.1", transitive_headers=True)')
        self.assertFails(r"requires abseil/20220623\.1 without transitive_libs=True; "
                         r"procsandbox links absl::status PUBLIC")

    def test_a_missing_system_lib_fails(self):
        self.edit("packaging/conan/conanfile.py",
                  'core.system_libs = ["pthread"]', "pass")
        self.assertFails(r"component procsandbox system_libs \[\], procsandbox links \['pthread'\]")

    def test_a_debug_postfix_needs_the_recipe_to_follow(self):
        # src/CMakeLists.txt has DEBUG_POSTFIX d: a recipe naming one
        # library for every build type fails.
        self.edit("packaging/conan/conanfile.py",
                  'core.libs = ["procsandboxd" if self.settings.build_type == "Debug" '
                  'else "procsandbox"]',
                  'core.libs = ["procsandbox"]')
        self.assertFails(r"\[Debug .*\]: component procsandbox libs \['procsandbox'\], "
                         r"want \['procsandboxd'\]")

    def test_an_unused_requirement_fails(self):
        self.edit("packaging/conan/conanfile.py",
                  'self.requires("cli11/2.1.2", visible=False)', 'self.requires("cli11/2.1.2")')
        self.assertFails(r"requirement cli11 is used by no component")

    def test_a_recipe_using_an_api_the_stub_lacks_fails(self):
        self.edit("packaging/conan/conanfile.py",
                  "from conan.tools.files import copy, load, rmdir",
                  "from conan.tools.files import copy, load, rmdir, collect_libs")
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("collect_libs", out)

    def test_a_linux_only_option_kept_elsewhere_fails(self):
        self.edit("packaging/conan/conanfile.py", "            del self.options.seccomp\n", "")
        self.assertFails(r"\[Macos\]: options \['seccomp'\] exist; CMakeLists\.txt builds them "
                         r"on Linux only")

    # --- The port's other files ------------------------------------------------

    def test_a_wrong_config_path_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "CONFIG_PATH lib/cmake/procsandbox", "CONFIG_PATH share/procsandbox")
        self.assertFails(r"CONFIG_PATH share/procsandbox, the install rules use lib/cmake/procsandbox")

    def test_a_wrong_tool_name_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "TOOL_NAMES procsandbox", "TOOL_NAMES procsandbox-cli")
        self.assertFails(r"vcpkg_copy_tools \['procsandbox-cli'\], the command is procsandbox")

    def test_a_usage_naming_a_missing_target_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/usage",
                  "procsandbox::testing", "procsandbox::mocks")
        self.assertFails(r"usage: names procsandbox::mocks")

    def test_a_missing_feature_dependency_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/vcpkg.json",
                  '"nlohmann-json"', '"rapidjson"')
        self.assertFails(r"feature tools depends on \['cli11', 'rapidjson'\]")

    def test_an_unknown_install_component_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "vcpkg_cmake_install()", "vcpkg_cmake_install()\n# COMPONENT procsandbox_docs")
        self.assertFails(r"install component procsandbox_docs")


class RunPortfileTest(ScratchCopy):
    """run_portfile.cmake (packaging.recipes_vcpkg_portfile) on broken copies."""

    def run_portfile(self):
        port = os.path.join(self.root, "packaging/vcpkg/ports/procsandbox")
        p = subprocess.run([CMAKE, f"-DPORT_DIR={port}", f"-DSOURCE_DIR={self.root}",
                            f"-DWORK_DIR={self.root}/portfile-work", "-DFEATURES=core|tools",
                            "-P", os.path.join(HERE, "run_portfile.cmake")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return p.returncode, p.stdout

    def test_the_port_runs(self):
        rc, out = self.run_portfile()
        self.assertEqual(rc, 0, out)

    def test_a_misspelt_helper_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "vcpkg_fixup_pkgconfig()", "vcpkg_fixup_pkg_config()")
        rc, out = self.run_portfile()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("Unknown CMake command", out)

    def test_a_left_debug_include_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  '"${CURRENT_PACKAGES_DIR}/debug/include"\n', "")
        rc, out = self.run_portfile()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("leaves debug/include", out)

    def test_another_source_path_fails(self):
        self.edit("packaging/vcpkg/ports/procsandbox/portfile.cmake",
                  "/../../../..", "/../../..")
        rc, out = self.run_portfile()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("procsandbox sources not found", out)


CMAKE = "cmake"


def main():
    global SOURCE_DIR, CMAKE
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--cmake", default="cmake")
    args, rest = parser.parse_known_args()
    SOURCE_DIR = os.path.abspath(args.source_dir)
    CMAKE = args.cmake
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()

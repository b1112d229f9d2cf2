#!/usr/bin/env python3
"""Checks packaging/conan and packaging/vcpkg against the CMake project.

Neither Conan nor vcpkg can be installed where procsandbox's CI runs, so
this checks what the recipes rely on without them (tests/packaging,
packaging.recipes):

  - the versions: the Conan recipe's set_version(), vcpkg.json and (when it
    exists) debian/changelog's upstream version equal version.h's;
  - every CMake cache option the recipes set exists (option() or
    set(... CACHE)), with a value its STRINGS allow;
  - the dependencies: each find_package() of CMakeLists.txt (core),
    src/testing and tools/ is a requirement of the recipe and of the port,
    under the matching option or feature, and nothing more;
  - the Conan components: the names procsandboxConfig.cmake.in knows, the
    targets' EXPORT_NAMEs as cmake_target_name, and each component's
    requires/system_libs/defines/libs equal to what src/CMakeLists.txt
    links and defines (parsed, not written down twice), under every option
    combination; Conan's own rule that every visible requirement is used by
    a component; validate() accepts the C++ standard the targets need and
    refuses the one below;
  - the vcpkg port: its features map to existing options, its config path
    is where the install rules put the package config, vcpkg_copy_tools
    names the command's OUTPUT_NAME, and `usage` names existing targets and
    components;
  - every install component the recipes name exists in the install rules.

The recipe is loaded against conan_stub.py (a strict stand-in for the Conan
2 API it uses), and its methods are called as `conan create` would.

  check_recipes.py --source-dir <repo>
  check_recipes.py --source-dir <repo> --configure conan|vcpkg --cmake <cmake>
                   --work-dir <dir> [-- <extra cmake -D args>]

--configure instead configures (and generates, so every source file must
be there) the project as the recipe would build it, every option or
feature on: for conan, from a copy made by the recipe's own
export_sources() with its cache variables; for vcpkg, with the portfile's
options. Exit status 1 with one line per problem.
"""

import argparse
import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conan_stub  # noqa: E402

# CMake package (find_package name) -> (Conan Center name, vcpkg port name).
PACKAGES = {
    "absl": ("abseil", "abseil"),
    "fmt": ("fmt", "fmt"),
    "GTest": ("gtest", "gtest"),
    "CLI11": ("cli11", "cli11"),
    "nlohmann_json": ("nlohmann_json", "nlohmann-json"),
}
# Found on the system by every package manager, not a requirement.
SYSTEM_PACKAGES = {"Threads", "PkgConfig"}

# CMake variables a recipe may set that are CMake's own, not the project's.
CMAKE_BUILTINS = {"BUILD_SHARED_LIBS", "CMAKE_POSITION_INDEPENDENT_CODE"}

# Recipe option / vcpkg feature -> the CMake option it turns on.
FEATURE_OPTIONS = {
    "testing": "PROCSANDBOX_BUILD_TESTING_LIB",
    "tools": "PROCSANDBOX_BUILD_TOOLS",
}
# What a package holds whatever its options: no tests, no benchmarks, the
# install rules on.
FIXED_OPTIONS = {
    "PROCSANDBOX_BUILD_TESTS": False,
    "PROCSANDBOX_BUILD_BENCHMARKS": False,
    "PROCSANDBOX_INSTALL": True,
}


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, text):
        if text not in self.lines:
            self.lines.append(text)

    def expect(self, condition, text):
        if not condition:
            self.add(text)


# --- CMake parsing -------------------------------------------------------------

def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strip_comments(text):
    out = []
    for line in text.splitlines():
        in_string = False
        for i, ch in enumerate(line):
            if ch == '"':
                in_string = not in_string
            elif ch == "#" and not in_string:
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def commands(text, name):
    """The argument lists of every call of CMake command `name`."""
    text = strip_comments(text)
    calls = []
    for m in re.finditer(r"(?<![\w$])" + re.escape(name) + r"\s*\(", text, re.IGNORECASE):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1]
        calls.append([a.strip('"') for a in re.findall(r'"[^"]*"|[^\s"]+', body)])
    return calls


def cmake_files(root):
    found = []
    for base, dirs, files in os.walk(root):
        rel = os.path.relpath(base, root)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in ("build", ".git", "packaging")]
        for f in files:
            if f == "CMakeLists.txt" or f.endswith(".cmake"):
                found.append(os.path.join(base, f))
    return sorted(found)


class Project:
    """What the CMake project declares, parsed from its files."""

    def __init__(self, root):
        self.root = root
        self.version = self._version()
        self.options = {}   # name -> allowed values (None: any / bool)
        self.install_components = set()
        for path in cmake_files(root):
            text = read(path)
            for args in commands(text, "option"):
                self.options.setdefault(args[0], None)
            for args in commands(text, "set"):
                if "CACHE" in args[1:]:
                    self.options.setdefault(args[0], None)
            for args in commands(text, "set_property"):
                if args[:1] == ["CACHE"] and "STRINGS" in args:
                    self.options[args[1]] = args[args.index("STRINGS") + 1:]
            for args in commands(text, "install"):
                for i, a in enumerate(args[:-1]):
                    if a in ("COMPONENT", "NAMELINK_COMPONENT"):
                        self.install_components.add(args[i + 1])
        self.src = read(os.path.join(root, "src", "CMakeLists.txt"))
        self.top = read(os.path.join(root, "CMakeLists.txt"))
        self.testing = read(os.path.join(root, "src", "testing", "CMakeLists.txt"))
        self.tools = read(os.path.join(root, "tools", "CMakeLists.txt"))
        self.install = read(os.path.join(root, "cmake", "ProcsandboxInstall.cmake"))
        self.config_in = read(os.path.join(root, "cmake", "procsandboxConfig.cmake.in"))

    def _version(self):
        text = read(os.path.join(self.root, "include", "procsandbox", "version.h"))
        parts = []
        for part in ("MAJOR", "MINOR", "PATCH"):
            m = re.search(rf"^#define PROCSANDBOX_VERSION_{part} (\d+)$", text, re.M)
            if not m:
                raise SystemExit(f"version.h: no PROCSANDBOX_VERSION_{part}")
            parts.append(m.group(1))
        return ".".join(parts)

    def target_property(self, text, target, prop):
        for args in commands(text, "set_target_properties"):
            if args and args[0] == target and prop in args:
                return args[args.index(prop) + 1]
        return None

    def export_names(self):
        """Installed target -> its EXPORT_NAME (the name after procsandbox::)."""
        names = {}
        for text in (self.src, self.testing):
            for args in commands(text, "set_target_properties"):
                if "EXPORT_NAME" in args:
                    names[args[0]] = args[args.index("EXPORT_NAME") + 1]
        return names

    @staticmethod
    def target_items(text, command, target):
        """The items of every `command(target ...)` (target_link_libraries,
        target_compile_definitions), in any scope and any if() branch."""
        items = []
        for args in commands(text, command):
            if args and args[0] == target:
                items += [a for a in args[1:] if a not in ("PUBLIC", "PRIVATE", "INTERFACE")]
        return items

    def link_libraries(self, text, target):
        return self.target_items(text, "target_link_libraries", target)

    def usage_links(self, text, target):
        """What `target` links PUBLIC or INTERFACE: its consumers' too."""
        items, scope = [], None
        for args in commands(text, "target_link_libraries"):
            if args and args[0] == target:
                for a in args[1:]:
                    if a in ("PUBLIC", "PRIVATE", "INTERFACE"):
                        scope = a
                    elif scope in ("PUBLIC", "INTERFACE"):
                        items.append(a)
        return items

    def cxx_standard(self):
        for args in commands(self.src, "target_compile_features"):
            if args and args[0] == "procsandbox":
                for a in args:
                    m = re.fullmatch(r"cxx_std_(\d+)", a)
                    if m:
                        return int(m.group(1))
        raise SystemExit("src/CMakeLists.txt: no cxx_std_N on procsandbox")

    def debug_postfix(self):
        for text in (self.src, self.install, self.top):
            for args in commands(text, "set_target_properties"):
                if args and args[0] == "procsandbox" and "DEBUG_POSTFIX" in args:
                    return args[args.index("DEBUG_POSTFIX") + 1]
            for args in commands(text, "set"):
                if args and args[0] == "CMAKE_DEBUG_POSTFIX" and len(args) > 1:
                    return args[1]
        return ""

    def find_packages(self, text):
        found = set()
        for args in commands(text, "find_package"):
            if args and args[0] not in SYSTEM_PACKAGES:
                found.add(args[0])
        return found

    def testing_packages(self):
        """The packages procsandbox::testing's links come from (GTest)."""
        return {item.split("::")[0]
                for item in self.link_libraries(self.testing, "procsandbox_testing")
                if item.split("::")[0] in PACKAGES}

    def config_components(self):
        m = re.search(r'MATCHES\s+"\^\(([\w|]+)\)\$"', self.config_in)
        if not m:
            raise SystemExit("procsandboxConfig.cmake.in: no component list")
        return set(m.group(1).split("|"))

    def cmakedir(self, libdir):
        for args in commands(self.install, "set"):
            if args and args[0] == "PROCSANDBOX_INSTALL_CMAKEDIR":
                return args[1].replace("${CMAKE_INSTALL_LIBDIR}", libdir)
        raise SystemExit("ProcsandboxInstall.cmake: no PROCSANDBOX_INSTALL_CMAKEDIR")


def conan_equivalent(cmake_target, own_targets):
    """A CMake link item -> ("requires", ref) or ("system_libs", name)."""
    if cmake_target in own_targets:
        return ("requires", own_targets[cmake_target])
    if cmake_target.startswith("absl::"):
        return ("requires", "abseil::absl_" + cmake_target[len("absl::"):])
    table = {
        "fmt::fmt": ("requires", "fmt::fmt"),
        "GTest::gmock": ("requires", "gtest::gmock"),
        "GTest::gtest": ("requires", "gtest::libgtest"),
        "Threads::Threads": ("system_libs", "pthread"),
        "PkgConfig::LIBSECCOMP": ("system_libs", "seccomp"),
    }
    if cmake_target not in table:
        raise SystemExit(f"check_recipes.py: no Conan equivalent known for {cmake_target}")
    return table[cmake_target]


def check_option(problems, project, where, name, value):
    if name in CMAKE_BUILTINS:
        return
    if name not in project.options:
        problems.add(f"{where}: sets {name}, which no option()/CACHE variable of the project declares")
        return
    allowed = project.options[name]
    if allowed is not None and str(value) not in allowed:
        problems.add(f"{where}: {name}={value}, not one of {allowed}")


def check_version(problems, project, where, version):
    problems.expect(version == project.version,
                    f"{where}: version {version}, version.h says {project.version}")


# --- Conan ------------------------------------------------------------------------

def load_recipe(path):
    conan_stub.install()
    spec = importlib.util.spec_from_file_location(
        "recipe_" + re.sub(r"\W", "_", path), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, conan_stub.ConanFile)
               and c is not conan_stub.ConanFile]
    if len(classes) != 1:
        raise SystemExit(f"{path}: want one ConanFile class, found {len(classes)}")
    return classes[0]


def linux_settings(build_type="Release", cppstd="17"):
    return conan_stub.Settings("Linux", "x86_64", "gcc", "12", cppstd, build_type)


def run_recipe(cls, folder, settings, option_values, work_dir=None):
    recipe = cls(folder, settings=settings, option_values=option_values, work_dir=work_dir)
    recipe.set_version()
    recipe.config_options()
    recipe.configure()
    recipe.requirements()
    recipe.validate()
    recipe.layout()
    recipe.generate()
    recipe.package_info()
    return recipe


def check_conan(problems, project):
    folder = os.path.join(project.root, "packaging", "conan")
    where = "packaging/conan/conanfile.py"
    cls = load_recipe(os.path.join(folder, "conanfile.py"))
    problems.expect(cls.name == "procsandbox", f"{where}: name {cls.name!r}")
    for opt in ("shared", "fPIC", *FEATURE_OPTIONS):
        problems.expect(opt in cls.options, f"{where}: no option {opt}")
    defaults = {"shared": False, "fPIC": True, "tools": False, "testing": False}
    for opt, value in defaults.items():
        problems.expect(cls.default_options.get(opt) == value,
                        f"{where}: default {opt}={cls.default_options.get(opt)}, want {value}")

    export_names = project.export_names()
    own = {f"procsandbox::{n}": n for n in export_names.values()}
    core_packages = project.find_packages(project.top) - project.testing_packages()
    std = project.cxx_standard()
    postfix = project.debug_postfix()
    shared_defs = project.target_items(project.src, "target_compile_definitions", "procsandbox")

    bool_options = [o for o in cls.options if o != "fPIC" and cls.options[o] == [True, False]]
    for build_type, combo in itertools.product(
            ("Release", "Debug"), itertools.product((False, True), repeat=len(bool_options))):
        values = dict(zip(bool_options, combo))
        label = f"{where} [{build_type} " + " ".join(
            f"{k}={v}" for k, v in values.items()) + "]"
        try:
            recipe = run_recipe(cls, folder, linux_settings(build_type), values)
        except conan_stub.ConanException as e:
            problems.add(f"{label}: {e}")
            continue
        check_version(problems, project, where, recipe.version)

        # Cache variables: exist, with allowed values, and say what the options mean.
        tc = recipe.stub_toolchain
        if tc is None:
            problems.add(f"{label}: generate() wrote no CMakeToolchain")
            continue
        problems.expect("CMakeDeps" in recipe.stub_generated, f"{label}: no CMakeDeps")
        variables = dict(tc.implied_cache_variables())
        variables.update(tc.variables)
        variables.update(tc.cache_variables)
        for name, value in variables.items():
            check_option(problems, project, where, name, value)
        for name, value in FIXED_OPTIONS.items():
            problems.expect(variables.get(name) == value,
                            f"{label}: {name}={variables.get(name)}, want {value}")
        for opt, cmake_name in FEATURE_OPTIONS.items():
            problems.expect(bool(variables.get(cmake_name)) == values[opt],
                            f"{label}: {cmake_name}={variables.get(cmake_name)} with {opt}={values[opt]}")
        if "seccomp" in values:
            want = "ON" if values["seccomp"] else "OFF"
            problems.expect(variables.get("PROCSANDBOX_SECCOMP") == want,
                            f"{label}: PROCSANDBOX_SECCOMP={variables.get('PROCSANDBOX_SECCOMP')}, want {want}")

        # Requirements: the find_package()s of what this configuration builds.
        want_packages = set(core_packages)
        if values["testing"]:
            want_packages |= project.testing_packages()
        if values["tools"]:
            want_packages |= project.find_packages(project.tools)
        want_names = {PACKAGES[p][0] for p in want_packages}
        got_names = {r.name for r in recipe.stub_requires}
        problems.expect(got_names == want_names,
                        f"{label}: requires {sorted(got_names)}, the CMake project finds {sorted(want_names)}")

        # Components.
        comps = recipe.cpp_info.components
        want_comps = {"procsandbox"} | ({"testing"} if values["testing"] else set())
        problems.expect(set(comps) == want_comps,
                        f"{label}: components {sorted(comps)}, want {sorted(want_comps)}")
        problems.expect(set(comps) <= project.config_components(),
                        f"{label}: components {sorted(comps)}, procsandboxConfig.cmake.in knows "
                        f"{sorted(project.config_components())}")
        problems.expect(recipe.cpp_info.get_property("cmake_file_name") == "procsandbox",
                        f"{label}: cmake_file_name is not procsandbox (procsandboxConfig.cmake)")
        targets = {}
        for target, export in export_names.items():
            if export in comps:
                targets[export] = target
        for name, comp in comps.items():
            if name not in targets:
                problems.add(f"{label}: component {name} is no installed target's EXPORT_NAME")
                continue
            target = targets[name]
            problems.expect(comp.get_property("cmake_target_name") == f"procsandbox::{name}",
                            f"{label}: component {name}'s cmake_target_name is "
                            f"{comp.get_property('cmake_target_name')}, want procsandbox::{name}")
            text = project.src if target == "procsandbox" else project.testing
            want_req, want_sys = set(), set()
            for item in project.link_libraries(text, target):
                kind, value = conan_equivalent(item, own)
                if kind == "system_libs":
                    if value == "seccomp" and not values.get("seccomp"):
                        continue
                    want_sys.add(value)
                else:
                    want_req.add(value)
            problems.expect(set(comp.requires) == want_req,
                            f"{label}: component {name} requires {sorted(comp.requires)}, "
                            f"{target} links {sorted(want_req)}")
            problems.expect(set(comp.system_libs) == want_sys,
                            f"{label}: component {name} system_libs {sorted(comp.system_libs)}, "
                            f"{target} links {sorted(want_sys)}")
            if target == "procsandbox":
                want_libs = ["procsandbox" + (postfix if build_type == "Debug" else "")]
                want_defs = set(shared_defs) if values["shared"] else set()
                problems.expect(comp.get_property("pkg_config_name") == "procsandbox",
                                f"{label}: component procsandbox's pkg_config_name is not procsandbox")
            else:
                want_libs, want_defs = [], set()
            problems.expect(comp.libs == want_libs,
                            f"{label}: component {name} libs {comp.libs}, want {want_libs}")
            problems.expect(set(comp.defines) == want_defs,
                            f"{label}: component {name} defines {comp.defines}, want {sorted(want_defs)}")
        root_target = recipe.cpp_info.get_property("cmake_target_name")
        problems.expect(root_target not in {c.get_property("cmake_target_name") for c in comps.values()},
                        f"{label}: the root cmake_target_name {root_target} is a component's: "
                        "CMakeDeps' aggregate of every component would take its name")
        # A PUBLIC/INTERFACE link is the consumers' too: their code (our
        # headers' inline calls) uses it, so Conan must give them its headers
        # and, even past a shared libprocsandbox, its libraries.
        for target, text in (("procsandbox", project.src),
                             ("procsandbox_testing", project.testing)):
            if target == "procsandbox_testing" and not values["testing"]:
                continue
            for item in project.usage_links(text, target):
                kind, ref = conan_equivalent(item, own)
                if kind != "requires" or "::" not in ref:
                    continue
                for r in recipe.stub_requires:
                    if r.name == ref.split("::")[0]:
                        for trait in ("transitive_headers", "transitive_libs"):
                            problems.expect(r.traits.get(trait) is True,
                                            f"{label}: requires {r.ref} without {trait}=True; "
                                            f"{target} links {item} {'PUBLIC' if target == 'procsandbox' else 'INTERFACE'}")
        # Conan's own check: each visible requirement is used by a component,
        # and each component's pkg::comp names a requirement.
        used = {r.split("::")[0] for c in comps.values() for r in c.requires if "::" in r}
        for r in recipe.stub_requires:
            if r.visible:
                problems.expect(r.name in used,
                                f"{label}: requirement {r.name} is used by no component")
        problems.expect(used <= got_names,
                        f"{label}: components require {sorted(used - got_names)}, not in requirements()")

    # validate(): the targets' C++ standard and not below.
    try:
        run_recipe(cls, folder, linux_settings(cppstd=str(std)), {})
    except conan_stub.ConanInvalidConfiguration as e:
        problems.add(f"{where}: validate() refuses C++{std}: {e}")
    try:
        run_recipe(cls, folder, linux_settings(cppstd=str(std - 3)), {})
        problems.add(f"{where}: validate() accepts C++{std - 3}; the targets need cxx_std_{std}")
    except conan_stub.ConanInvalidConfiguration:
        pass

    # Elsewhere: macOS and Windows (mingw) build the library alone; the
    # Linux-only options (the command, seccomp: CMakeLists.txt builds them
    # only when CMAKE_SYSTEM_NAME is Linux) are gone there.
    linux_only = {opt for opt, cmake_name in (("tools", "PROCSANDBOX_BUILD_TOOLS"),
                                              ("seccomp", "PROCSANDBOX_SECCOMP"))
                  if any(cmake_name in cond and 'CMAKE_SYSTEM_NAME STREQUAL "Linux"' in cond
                         for cond in re.findall(r"^\s*if\((.*)\)\s*$", project.top, re.M))}
    problems.expect(linux_only == {"tools", "seccomp"},
                    f"{where}: CMakeLists.txt builds {sorted(linux_only)} on Linux only; "
                    "check_recipes.py expects tools and seccomp")
    for os_name, compiler in (("Macos", "apple-clang"), ("Windows", "gcc")):
        settings = conan_stub.Settings(os_name, "x86_64", compiler, "15", str(std), "Release")
        label = f"{where} [{os_name}]"
        try:
            recipe = run_recipe(cls, folder, settings, {})
        except conan_stub.ConanException as e:
            problems.add(f"{label}: {e}")
            continue
        left = linux_only & recipe.options.names()
        problems.expect(not left, f"{label}: options {sorted(left)} exist; CMakeLists.txt "
                                  "builds them on Linux only")
        core = recipe.cpp_info.components["procsandbox"]
        problems.expect("pthread" not in core.system_libs, f"{label}: links pthread")

    # test_package: a Conan 2 test recipe building the CMake project beside it.
    test_dir = os.path.join(folder, "test_package")
    test_cls = load_recipe(os.path.join(test_dir, "conanfile.py"))
    test_recipe = test_cls(test_dir, settings=linux_settings())
    test_recipe.tested_reference_str = f"procsandbox/{project.version}"
    test_recipe.requirements()
    problems.expect([r.ref for r in test_recipe.stub_requires] == [test_recipe.tested_reference_str],
                    "packaging/conan/test_package: does not require the tested reference")
    exes = [a[0] for a in commands(read(os.path.join(test_dir, "CMakeLists.txt")), "add_executable")]
    test_src = read(os.path.join(test_dir, "conanfile.py"))
    problems.expect(any(f'"{e}"' in test_src for e in exes),
                    f"packaging/conan/test_package: test() runs none of {exes}")
    return cls


# --- vcpkg -------------------------------------------------------------------------

def check_vcpkg(problems, project):
    port = os.path.join(project.root, "packaging", "vcpkg", "ports", "procsandbox")
    where = "packaging/vcpkg/ports/procsandbox"
    manifest = json.loads(read(os.path.join(port, "vcpkg.json")))
    problems.expect(manifest.get("name") == "procsandbox", f"{where}/vcpkg.json: name")
    versions = [manifest[k] for k in ("version", "version-semver", "version-string")
                if k in manifest]
    problems.expect(len(versions) == 1, f"{where}/vcpkg.json: want one version field")
    for v in versions:
        check_version(problems, project, f"{where}/vcpkg.json", v)

    def dep_names(deps, host):
        names = set()
        for d in deps:
            if isinstance(d, str):
                d = {"name": d}
            if bool(d.get("host")) == host:
                names.add(d["name"])
        return names

    deps = manifest.get("dependencies", [])
    want = {PACKAGES[p][1]
            for p in project.find_packages(project.top) - project.testing_packages()}
    problems.expect(dep_names(deps, False) == want,
                    f"{where}/vcpkg.json: dependencies {sorted(dep_names(deps, False))}, "
                    f"the CMake project finds {sorted(want)}")
    problems.expect(dep_names(deps, True) == {"vcpkg-cmake", "vcpkg-cmake-config"},
                    f"{where}/vcpkg.json: host dependencies {sorted(dep_names(deps, True))}")
    features = manifest.get("features", {})
    problems.expect(set(features) == set(FEATURE_OPTIONS),
                    f"{where}/vcpkg.json: features {sorted(features)}, want {sorted(FEATURE_OPTIONS)}")
    feature_packages = {
        "testing": project.testing_packages(),
        "tools": project.find_packages(project.tools),
    }
    for name, pkgs in feature_packages.items():
        got = dep_names(features.get(name, {}).get("dependencies", []), False)
        want = {PACKAGES[p][1] for p in pkgs}
        problems.expect(got == want, f"{where}/vcpkg.json: feature {name} depends on "
                                     f"{sorted(got)}, the CMake project finds {sorted(want)}")

    portfile = read(os.path.join(port, "portfile.cmake"))
    checks = commands(portfile, "vcpkg_check_features")
    problems.expect(len(checks) == 1, f"{where}/portfile.cmake: want one vcpkg_check_features")
    mapped = {}
    for args in checks:
        pairs = args[args.index("FEATURES") + 1:] if "FEATURES" in args else []
        mapped.update(zip(pairs[::2], pairs[1::2]))
    problems.expect(mapped == FEATURE_OPTIONS,
                    f"{where}/portfile.cmake: features map to {mapped}, want {FEATURE_OPTIONS}")
    for cmake_name in mapped.values():
        check_option(problems, project, f"{where}/portfile.cmake", cmake_name, "ON")
    options = portfile_options(portfile)
    for name, value in options.items():
        check_option(problems, project, f"{where}/portfile.cmake", name, value)
    for name, value in FIXED_OPTIONS.items():
        problems.expect(options.get(name) == ("ON" if value else "OFF"),
                        f"{where}/portfile.cmake: {name}={options.get(name)}, want "
                        f"{'ON' if value else 'OFF'}")
    problems.expect(options.get("PROCSANDBOX_SECCOMP") in ("ON", "OFF"),
                    f"{where}/portfile.cmake: PROCSANDBOX_SECCOMP must be ON or OFF "
                    "(AUTO picks up a host library the port does not declare)")
    want_dir = project.cmakedir("lib")
    for args in commands(portfile, "vcpkg_cmake_config_fixup"):
        got = args[args.index("CONFIG_PATH") + 1] if "CONFIG_PATH" in args else None
        problems.expect(got == want_dir, f"{where}/portfile.cmake: CONFIG_PATH {got}, "
                                         f"the install rules use {want_dir}")
    problems.expect(commands(portfile, "vcpkg_cmake_config_fixup"),
                    f"{where}/portfile.cmake: no vcpkg_cmake_config_fixup")
    tool_name = project.target_property(project.tools, "procsandbox_cli", "OUTPUT_NAME")
    for args in commands(portfile, "vcpkg_copy_tools"):
        names = args[args.index("TOOL_NAMES") + 1:] if "TOOL_NAMES" in args else []
        names = [n for n in names if not n.isupper()]
        problems.expect(names == [tool_name], f"{where}/portfile.cmake: vcpkg_copy_tools "
                                              f"{names}, the command is {tool_name}")

    usage = read(os.path.join(port, "usage"))
    exported = {f"procsandbox::{n}" for n in project.export_names().values()}
    for target in set(re.findall(r"procsandbox::\w+", usage)):
        problems.expect(target in exported,
                        f"{where}/usage: names {target}; installed: {sorted(exported)}")
    for comps in re.findall(r"COMPONENTS\s+([\w ]+)\)", usage):
        for c in comps.split():
            problems.expect(c in project.config_components(),
                            f"{where}/usage: component {c} unknown to procsandboxConfig.cmake.in")
    return options, mapped


def portfile_options(portfile):
    options = {}
    for args in commands(portfile, "vcpkg_cmake_configure"):
        for a in args:
            m = re.fullmatch(r"-D([A-Za-z_0-9]+)(?::\w+)?=(.*)", a)
            if m:
                options[m.group(1)] = m.group(2)
    return options


# --- The rest ------------------------------------------------------------------------

def check_changelog(problems, project):
    path = os.path.join(project.root, "debian", "changelog")
    if not os.path.exists(path):
        return
    first = read(path).splitlines()[0]
    m = re.match(r"^\S+ \((?:\d+:)?([^)\s]+?)(?:-[^-)\s]+)?\)", first)
    if not m:
        problems.add(f"debian/changelog: cannot read a version from {first!r}")
        return
    upstream = re.sub(r"[~+].*$", "", m.group(1))
    check_version(problems, project, "debian/changelog", upstream)


def check_install_components(problems, project):
    for rel in ("packaging/conan/conanfile.py", "packaging/vcpkg/ports/procsandbox/portfile.cmake"):
        text = read(os.path.join(project.root, rel))
        for name in re.findall(r'(?:\bCOMPONENT\s+|--component[ =]|component=)"?(\w+)', text):
            problems.expect(name in project.install_components,
                            f"{rel}: install component {name}; the install rules have "
                            f"{sorted(project.install_components)}")


def configure(project, which, cmake, work_dir, extra):
    """Configures the project as the recipe or the port would build it."""
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    if which == "conan":
        folder = os.path.join(project.root, "packaging", "conan")
        cls = load_recipe(os.path.join(folder, "conanfile.py"))
        # Every option on, so that the export must hold tools/ and src/testing.
        every = {o: True for o, v in cls.options.items()
                 if v == [True, False] and o not in ("shared", "fPIC")}
        recipe = run_recipe(cls, folder, linux_settings(), every, work_dir=work_dir)
        recipe.export_sources()
        source = recipe.export_sources_folder
        tc = recipe.stub_toolchain
        variables = dict(tc.implied_cache_variables())
        variables.update(tc.variables)
        variables.update(tc.cache_variables)
        defs = [f"-D{k}={'ON' if v is True else 'OFF' if v is False else v}"
                for k, v in variables.items()]
    else:
        portfile = read(os.path.join(project.root, "packaging", "vcpkg", "ports",
                                     "procsandbox", "portfile.cmake"))
        source = project.root
        defs = [f"-D{k}={v}" for k, v in portfile_options(portfile).items()]
        defs += [f"-D{opt}=ON" for _, opt in sorted(FEATURE_OPTIONS.items())]
    cmd = [cmake, "-S", source, "-B", os.path.join(work_dir, "build"), *defs, *extra]
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--configure", choices=("conan", "vcpkg"))
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--work-dir")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    project = Project(os.path.abspath(args.source_dir))

    if args.configure:
        if not args.work_dir:
            parser.error("--configure needs --work-dir")
        rc = configure(project, args.configure, args.cmake, args.work_dir, args.extra)
        if rc != 0:
            print(f"check_recipes.py: the {args.configure} configure failed ({rc})")
        return 1 if rc else 0

    problems = Problems()
    check_conan(problems, project)
    check_vcpkg(problems, project)
    check_changelog(problems, project)
    check_install_components(problems, project)
    if problems.lines:
        shown = 20  # the same problem repeats over the option combinations
        for line in problems.lines[:shown]:
            print(f"check_recipes.py: {line}")
        if len(problems.lines) > shown:
            print(f"check_recipes.py: ... and {len(problems.lines) - shown} more")
        return 1
    print(f"check_recipes.py: the Conan recipe and the vcpkg port agree with "
          f"procsandbox {project.version}'s CMake project")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A stand-in for the part of the Conan 2 API packaging/conan uses.

No Conan client can be installed where procsandbox's CI runs, so
check_recipes.py loads the recipe against these modules instead and calls
its methods the way `conan create` would (set_version, config_options,
configure, requirements, validate, generate, package_info), recording what
they ask for. The stand-in is strict: a name Conan 2 does not have, or one
the recipe uses and this file does not model, fails the import or the call,
so the recipe cannot drift to an API that was never checked. What it
models follows Conan 2's documented behaviour (conan.io/2 reference):
options and settings compare with strings, a deleted option is gone,
copy() matches fnmatch patterns against paths relative to `src`.
"""

import fnmatch
import os
import shutil
import sys
import types


class ConanException(Exception):
    pass


class ConanInvalidConfiguration(ConanException):
    pass


class OptionValue:
    """An option's value: compares with True/False and their strings."""

    def __init__(self, value):
        self._value = value

    def __bool__(self):
        return self._value in (True, "True")

    def __eq__(self, other):
        return str(self._value) == str(other)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(str(self._value))

    def __str__(self):
        return str(self._value)


class Options:
    def __init__(self, declared, values):
        object.__setattr__(self, "_values", {})
        for name, allowed in declared.items():
            value = values[name]
            if value not in allowed:
                raise ConanException(f"option {name}={value!r} not in {allowed}")
            self._values[name] = value

    def __getattr__(self, name):
        try:
            return OptionValue(self._values[name])
        except KeyError:
            raise ConanException(
                f"option '{name}' doesn't exist (deleted or never declared)") from None

    def __setattr__(self, name, value):
        if name not in self._values:
            raise ConanException(f"option '{name}' doesn't exist")
        self._values[name] = value

    def __delattr__(self, name):
        if name not in self._values:
            raise ConanException(f"option '{name}' doesn't exist")
        del self._values[name]

    def rm_safe(self, name):
        self._values.pop(name, None)

    def get_safe(self, name, default=None):
        if name not in self._values:
            return default
        return OptionValue(self._values[name])

    def names(self):
        return set(self._values)


class SettingValue(str):
    """A setting: a string, with sub-settings as attributes (compiler.cppstd)."""

    def __new__(cls, value, **subsettings):
        obj = super().__new__(cls, value)
        obj._sub = dict(subsettings)
        return obj

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._sub[name]
        except KeyError:
            raise ConanException(f"setting '{self}.{name}' doesn't exist") from None


class Settings:
    def __init__(self, os, arch, compiler, compiler_version, cppstd, build_type):
        self.os = SettingValue(os)
        self.arch = SettingValue(arch)
        self.compiler = SettingValue(compiler, version=SettingValue(compiler_version),
                                     cppstd=SettingValue(cppstd) if cppstd else None,
                                     libcxx=SettingValue("libstdc++11"))
        self.build_type = SettingValue(build_type)

    def get_safe(self, name, default=None):
        value = self
        for part in name.split("."):
            value = getattr(value, part, None)
            if value is None:
                return default
        return value


class Component:
    __slots__ = ("libs", "requires", "system_libs", "defines", "libdirs", "bindirs",
                 "includedirs", "frameworks", "cxxflags", "properties")

    def __init__(self):
        self.libs = []
        self.requires = []
        self.system_libs = []
        self.defines = []
        self.libdirs = ["lib"]
        self.bindirs = ["bin"]
        self.includedirs = ["include"]
        self.frameworks = []
        self.cxxflags = []
        self.properties = {}

    def set_property(self, name, value):
        self.properties[name] = value

    def get_property(self, name):
        return self.properties.get(name)


class CppInfo(Component):
    __slots__ = ("components",)

    def __init__(self):
        super().__init__()
        self.components = _Components()


class _Components(dict):
    def __missing__(self, name):
        self[name] = Component()
        return self[name]


# Conan 2's requirement traits (conan.io/2 reference, "Requirement traits").
_TRAITS = {"headers", "libs", "build", "run", "visible", "transitive_headers",
           "transitive_libs", "test", "package_id_mode", "force", "override",
           "direct", "options"}


class Requirement:
    def __init__(self, ref, traits):
        unknown = set(traits) - _TRAITS
        if unknown:
            raise ConanException(f"requires({ref!r}): unknown traits {sorted(unknown)}")
        if "/" not in ref:
            raise ConanException(f"requires({ref!r}): not name/version")
        self.ref = ref
        self.name = ref.split("/", 1)[0]
        self.traits = dict(traits)

    @property
    def visible(self):
        return self.traits.get("visible", True)


class ConanFile:
    name = None
    version = None
    settings = ()
    options = {}
    default_options = {}
    package_type = None

    def __init__(self, recipe_folder, settings=None, option_values=None, work_dir=None):
        declared = dict(type(self).options)
        values = dict(type(self).default_options)
        values.update(option_values or {})
        self.recipe_folder = recipe_folder
        self.settings = settings
        self.options = Options(declared, values)
        self.cpp_info = CppInfo()
        self.stub_requires = []
        self.stub_toolchain = None
        self.stub_generated = []
        work_dir = work_dir or os.path.join(recipe_folder, "stub-folders")
        self.export_sources_folder = os.path.join(work_dir, "export_source")
        self.source_folder = self.export_sources_folder
        self.build_folder = os.path.join(work_dir, "build")
        self.generators_folder = os.path.join(work_dir, "build", "generators")
        self.package_folder = os.path.join(work_dir, "package")
        self.tested_reference_str = None

    @property
    def ref(self):
        return f"{self.name}/{self.version}"

    def requires(self, ref, **traits):
        self.stub_requires.append(Requirement(ref, traits))

    def tool_requires(self, ref, **traits):
        pass

    def run(self, *args, **kwargs):
        raise ConanException("the stand-in runs nothing")


class CMakeToolchain:
    def __init__(self, conanfile):
        self._conanfile = conanfile
        self.variables = {}
        self.cache_variables = {}
        self.preprocessor_definitions = {}

    def generate(self):
        self._conanfile.stub_toolchain = self

    def implied_cache_variables(self):
        """What CMakeToolchain's own blocks set from the shared/fPIC options."""
        implied = {}
        shared = self._conanfile.options.get_safe("shared")
        if shared is not None:
            implied["BUILD_SHARED_LIBS"] = bool(shared)
        fpic = self._conanfile.options.get_safe("fPIC")
        if fpic is not None:
            implied["CMAKE_POSITION_INDEPENDENT_CODE"] = bool(fpic)
        return implied


class CMakeDeps:
    def __init__(self, conanfile):
        self._conanfile = conanfile

    def generate(self):
        self._conanfile.stub_generated.append("CMakeDeps")


class CMake:
    def __init__(self, conanfile):
        self._conanfile = conanfile

    def configure(self, *args, **kwargs):
        raise ConanException("the stand-in builds nothing")

    build = install = configure


def cmake_layout(conanfile, generator=None, src_folder=".", build_folder="build"):
    conanfile.stub_layout = ("cmake_layout", src_folder)


def check_min_cppstd(conanfile, cppstd, gnu_extensions=False):
    current = conanfile.settings.compiler.cppstd
    if current is not None and int(str(current).replace("gnu", "")) < int(cppstd):
        raise ConanInvalidConfiguration(
            f"Current cppstd ({current}) is lower than the required C++ standard ({cppstd}).")


def can_run(conanfile):
    return True


def copy(conanfile, pattern, src, dst, keep_path=True, excludes=None):
    """conan.tools.files.copy: files under src whose relative path matches."""
    copied = []
    src = os.path.normpath(src)
    for root, dirs, files in os.walk(src):
        # Not walked, for speed: .git and a checkout's build/ (no pattern of
        # the recipe names them).
        dirs[:] = [d for d in dirs if d not in (".git", "build")] \
            if os.path.normpath(root) == src else dirs
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src).replace(os.sep, "/")
            if not fnmatch.fnmatchcase(rel, pattern):
                continue
            if excludes and any(fnmatch.fnmatchcase(rel, e) for e in excludes):
                continue
            target = os.path.join(dst, rel if keep_path else f)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(root, f), target)
            copied.append(target)
    return copied


def load(conanfile, path, encoding="utf-8"):
    with open(path, encoding=encoding) as f:
        return f.read()


def save(conanfile, path, content, append=False, encoding="utf-8"):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a" if append else "w", encoding=encoding) as f:
        f.write(content)


def rmdir(conanfile, path):
    shutil.rmtree(path, ignore_errors=True)


def install():
    """Puts the stand-in modules in sys.modules (conan, conan.errors, ...)."""
    def module(name, **names):
        m = types.ModuleType(name)
        m.__dict__.update(names)
        sys.modules[name] = m
        return m

    root = module("conan", ConanFile=ConanFile)
    root.__path__ = []
    module("conan.errors", ConanException=ConanException,
           ConanInvalidConfiguration=ConanInvalidConfiguration)
    tools = module("conan.tools")
    tools.__path__ = []
    module("conan.tools.build", check_min_cppstd=check_min_cppstd, can_run=can_run)
    module("conan.tools.cmake", CMake=CMake, CMakeDeps=CMakeDeps,
           CMakeToolchain=CMakeToolchain, cmake_layout=cmake_layout)
    module("conan.tools.files", copy=copy, load=load, save=save, rmdir=rmdir)

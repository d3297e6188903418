"""Build glue: the Cython extensions and the folder-to-package mapping.

Metadata lives in pyproject.toml.  Packages are discovered here because the
top-level folders (sim/, gui/, ext/, assets/) map into one ``tickscope``
namespace and setuptools' automatic discovery does not follow ``package-dir``.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOTS = {"sim": "tickscope.sim", "gui": "tickscope.gui", "ext": "tickscope.ext", "assets": "tickscope.assets"}


def _packages():
    packages, package_dir = [], {}
    for folder, name in ROOTS.items():
        for dirpath, dirnames, _files in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "__"))]
            rel = os.path.relpath(dirpath, folder)
            pkg = name if rel == "." else name + "." + rel.replace(os.sep, ".")
            packages.append(pkg)
            package_dir[pkg] = dirpath
    return packages, package_dir


def _extensions():
    sources = sorted(f for f in os.listdir("ext") if f.endswith(".pyx"))
    return [
        Extension(
            "tickscope.ext." + f[:-4],
            [os.path.join("ext", f)],
            include_dirs=[numpy.get_include(), "ext"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            # Let GCC inline the per-event call chain (arrive -> handle -> hrtimer_interrupt -> ...).
            # Measured on the bench (best of 6): 19.4 M events/s with these limits, 17.5 with GCC's defaults;
            # raising the unit/large-function growth limits too kept arm() and arrive() inline (callgrind:
            # 439 instructions per event vs 453).
            extra_compile_args=["-O3", "--param", "max-inline-insns-single=1200", "--param", "max-inline-insns-auto=300",
                                "--param", "inline-unit-growth=1000", "--param", "large-function-growth=2000",
                                "--param", "large-function-insns=20000"],
        )
        for f in sources
    ]


# -- profile-guided build of the engine -------------------------------------------------------------------
#
# GCC builds the engine twice: instrumented, then trained on every preset and the bench's scenarios
# (tickscope.sim.cli.bench.train_engine), then optimised with that profile (block layout, branch weights,
# inlining).  Measured (2026-11-27, interleaved best-of-3 runs, 600 s simulated): the tick-layer mixed load
# 19.3-19.6 -> 20.6 M events/s, the busy one 34.4-34.7 -> 37.7 (docs/engine.md, "Speed").  The profile only
# steers optimisation: the engine computes the same log (the tests compare it with the reference engine's
# either way).  Counters are atomic (the log's page helper thread runs instrumented code too; with `single`
# counters GCC once rejected the profile as not flow-consistent) and the profile is used with correction.
# Anything that goes wrong on the way (not GCC, a training run that fails) leaves a plain build, with the
# reason compiled into the module (`tickscope bench` prints it: pip -q shows no build output); TICKSCOPE_PGO=0
# skips it (quicker rebuilds while working on ext/).  The training imports the package from
# this source tree (sim/ and assets/ linked into a temporary tickscope/ beside the instrumented module), so
# the build requirements include what sim imports (pydantic, tomli-w).

_TRAIN = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tickscope.sim.cli import bench
bench.train_engine()
"""


def _not_gcc(compiler) -> str:
    """Why *compiler* cannot make the profile-guided build ("" when it is GCC): asks its preprocessor for
    __GNUC__ without __clang__ (clang defines both), through any wrapper in front (ccache gcc)."""
    if getattr(compiler, "compiler_type", "") != "unix":
        return f"the {getattr(compiler, 'compiler_type', '?')} compiler is not GCC"
    cmd = []
    for word in compiler.compiler_so:
        if word.startswith("-"):
            break
        cmd.append(word)
    try:
        out = subprocess.run(cmd + ["-dM", "-E", "-x", "c", os.devnull], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"{' '.join(cmd)} could not be asked what it is ({e})"
    if "__GNUC__" not in out or "__clang__" in out:
        return f"{' '.join(cmd)} is not GCC"
    return ""


def _plain_because(ext, why: str) -> None:
    """Compile the reason for a plain build into the module (tickscope.ext.engine.PLAIN_BUILD_REASON): pip -q
    shows no build output, so `tickscope bench` is where a user sees it."""
    text = "".join(ch for ch in why if ch.isprintable() and ch not in '"\\')[:300]
    ext.define_macros = ext.define_macros + [("TICKSCOPE_PLAIN_WHY", f'"{text}"')]   # build_extension restores them


class ProfiledBuildExt(build_ext):
    def build_extension(self, ext):
        macros = list(ext.define_macros)
        why = "TICKSCOPE_PGO=0 asked for it" if os.environ.get("TICKSCOPE_PGO", "1") == "0" else _not_gcc(self.compiler)
        if why:
            _plain_because(ext, why)
            try:
                return super().build_extension(ext)
            finally:
                ext.define_macros = macros
        compile_args, link_args = list(ext.extra_compile_args), list(ext.extra_link_args)
        prof = tempfile.mkdtemp(prefix="tickscope-pgo-")
        force = self.force
        self.force = True   # the same object file is compiled twice
        try:
            ext.extra_compile_args = compile_args + [f"-fprofile-generate={prof}", "-fprofile-update=prefer-atomic"]
            ext.extra_link_args = link_args + ["-fprofile-generate"]
            super().build_extension(ext)
            self._train(ext, prof)
            ext.extra_compile_args = compile_args + [f"-fprofile-use={prof}", "-fprofile-partial-training",
                                                     "-fprofile-correction", "-Wno-missing-profile", "-DTICKSCOPE_PGO=1"]
            ext.extra_link_args = link_args
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001 - any failure falls back to the plain build
            why = f"the profile-guided build failed: {e}"
            print(f"tickscope: {why}; building {ext.name} without a profile", file=sys.stderr)
            ext.extra_compile_args, ext.extra_link_args = compile_args, link_args
            _plain_because(ext, why)
            super().build_extension(ext)
        finally:
            ext.extra_compile_args, ext.extra_link_args = compile_args, link_args
            ext.define_macros = macros
            self.force = force
            shutil.rmtree(prof, ignore_errors=True)

    def _train(self, ext, prof: str) -> None:
        """Run the instrumented module on the training scenarios, importing the package from the source tree."""
        built = self.get_ext_fullpath(ext.name)
        here = os.path.dirname(os.path.abspath(__file__))
        with tempfile.TemporaryDirectory(prefix="tickscope-train-") as root:
            pkg = os.path.join(root, "tickscope")
            os.makedirs(os.path.join(pkg, "ext"))
            open(os.path.join(pkg, "__init__.py"), "w").close()
            open(os.path.join(pkg, "ext", "__init__.py"), "w").close()
            shutil.copy(built, os.path.join(pkg, "ext", os.path.basename(built)))
            for folder in ("sim", "assets"):
                os.symlink(os.path.join(here, folder), os.path.join(pkg, folder))
            done = subprocess.run([sys.executable, "-c", _TRAIN, root], cwd=root, timeout=600,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise RuntimeError(f"the training run failed: {last}")
        if not any(f.endswith(".gcda") for _d, _s, files in os.walk(prof) for f in files):
            raise RuntimeError("the training run left no profile")


packages, package_dir = _packages()
setup(
    cmdclass={"build_ext": ProfiledBuildExt},
    packages=packages,
    package_dir=package_dir,
    package_data={pkg: ["*.toml", "*.json", "*.jsonl", "*.png", "*.svg", "*.txt", "*.md", "*.pxd"] for pkg in packages},
    ext_modules=cythonize(_extensions(), language_level=3, compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True}),
)

"""Build convcore: one Cython extension over the C kernels in csrc/.

Each ISA's kernels are compiled with their own flags, chosen from the file name
(`*-avx2.c`, `*-avx512.c`; anything else is portable C), and the right one is picked at run
time by csrc/dispatch.c. There is no -march=native anywhere: the wheel runs on any x86-64.

Environment switches:
  CONVCORE_NO_OPENMP=1   build without OpenMP (serial kernels), e.g. for compilers without it.
  CONVCORE_SANITIZE=1    build with -fsanitize=address,undefined (see tools/sanitize.sh).
"""

import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import warnings
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"
BASE_CFLAGS = ["-O3", "-std=c11", "-fno-math-errno", "-Wall", "-Wno-unknown-pragmas",
               "-Wno-unused-function"]
ISA_CFLAGS = {
    "avx2": ["-mavx2", "-mfma"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"],
}
IS_X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def isa_of(path):
    stem = os.path.basename(path)[: -len(".c")]
    for isa in ISA_CFLAGS:
        if stem.endswith("-" + isa):
            return isa
    return "portable"


def env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class BuildWithKernels(build_ext):
    """Compile csrc/ once (per-ISA flags) and link the objects into every extension."""

    def run(self):
        super().run()
        # The README runs `pip install . && python -m convcore ...` from the checkout, where the
        # source folder shadows the installed package: leave the built extension there too.
        if not self.inplace:
            self.copy_extensions_to_source()

    def build_extensions(self):
        compiler_name = self.compiler.compiler_type
        if compiler_name == "msvc":
            sys.exit("convcore builds with gcc or clang; MSVC is not supported.")
        extra = []
        if env_flag("CONVCORE_SANITIZE"):
            extra = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
        openmp = [] if env_flag("CONVCORE_NO_OPENMP") else self.probe_openmp()
        if not openmp:
            warnings.warn("convcore: building WITHOUT OpenMP; kernels will run on one thread.",
                          stacklevel=1)

        by_isa = {}
        for path in sorted(glob(os.path.join(CSRC, "**", "*.c"), recursive=True)):
            by_isa.setdefault(isa_of(path), []).append(path)
        if not IS_X86_64:
            by_isa = {"portable": by_isa.get("portable", [])}
        macros = [("CONVCORE_HAVE_" + isa.upper(), "1") for isa in by_isa if isa != "portable"]

        objects = []
        for isa, sources in by_isa.items():
            flags = BASE_CFLAGS + ISA_CFLAGS.get(isa, []) + openmp + extra
            objects += self.compiler.compile(
                sources, output_dir=self.build_temp, macros=macros, include_dirs=[CSRC],
                extra_postargs=flags, depends=glob(os.path.join(CSRC, "**", "*.h"),
                                                   recursive=True))
        for ext in self.extensions:
            ext.extra_objects = objects
            ext.depends = ext.depends + objects  # relink when any kernel object changed
            ext.extra_compile_args = ["-O3", "-Wno-unused-function"] + openmp + extra
            ext.extra_link_args = openmp + extra
            ext.define_macros = macros
        super().build_extensions()

    def probe_openmp(self):
        """Return the OpenMP flags if a test program compiles, links and runs with them."""
        program = textwrap.dedent("""
            #include <omp.h>
            #include <stdio.h>
            int main(void) {
                int n = 0;
                #pragma omp parallel reduction(+:n)
                n += 1;
                printf("%d", n > 0);
                return 0;
            }
        """)
        flags = ["-fopenmp"]
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "probe_openmp.c")
            with open(source, "w") as f:
                f.write(program)
            try:
                objs = self.compiler.compile([source], output_dir=tmp, extra_postargs=flags)
                exe = os.path.join(tmp, "probe_openmp")
                self.compiler.link_executable(objs, exe, extra_postargs=flags)
                out = subprocess.run([exe], capture_output=True, text=True, timeout=30)
                if out.returncode == 0 and out.stdout.strip() == "1":
                    return flags
            except Exception as err:  # any compiler/linker failure means: no OpenMP
                print(f"convcore: OpenMP probe failed: {err}")
        return []


extensions = [Extension("convcore._kernels", ["convcore/_kernels.pyx"], include_dirs=[CSRC])]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_ext": BuildWithKernels},
)

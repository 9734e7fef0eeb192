"""Build centbook's compiled extensions.

Release builds: -O3, Cython's bounds/wraparound/initialized checks off. Set CENTBOOK_DEBUG=1 for a
debug build (-O0 -g, every Cython check on, C asserts on); it generates its C and objects under
build/debug so it never clobbers the release build. Never -march=native: wheels must run anywhere.
"""
import hashlib
import json
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CENTBOOK_DEBUG", "") not in ("", "0")
MODULES = ["fixed", "grid", "book", "books", "metrics", "hooks", "mm.quoter", "feed.reader", "record.tap"]
# Plain C sources compiled into a module besides its .pyx.
C_SOURCES = {"books": ["csrc/cb_frame.c"], "feed.reader": ["csrc/cb_frame.c"]}

if DEBUG:
    directives = {"boundscheck": True, "wraparound": True, "initializedcheck": True,
                  "overflowcheck": True}
    compile_args = ["-O0", "-g", "-UNDEBUG", "-DCB_DEBUG=1"]
    build_base = os.path.join("build", "debug")
else:
    directives = {"boundscheck": False, "wraparound": False, "initializedcheck": False}
    compile_args = ["-O3"]
    build_base = os.path.join("build", "release")
directives.update({"language_level": 3, "embedsignature": True, "cdivision": True, "binding": False})

# Generated C lives in a directory named after the directives and flags, so changing either
# regenerates it (cythonize itself only compares timestamps).
config_id = hashlib.sha1(json.dumps([directives, compile_args], sort_keys=True).encode()).hexdigest()[:10]

extensions = [
    Extension(f"centbook.{name}", [f"src/centbook/{name.replace('.', '/')}.pyx", *C_SOURCES.get(name, [])],
              include_dirs=["csrc"], extra_compile_args=compile_args,
              depends=["csrc/cb_fixed.h", "csrc/cb_bits.h", "csrc/cb_frame.h", "csrc/cb_top.h"])
    for name in MODULES
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives,
                          build_dir=os.path.join(build_base, f"c-{config_id}"), include_path=["src"]),
    options={"build": {"build_base": build_base}},
)

"""What pyproject.toml cannot say: the top-level `runtime_cpp/` directory (the header-only C++ that
generated code includes) ships inside the package as `stage/runtime_cpp/`, so the repository keeps
one copy and an installed wheel finds it next to the code (stage.codegen.compiler.RUNTIME_DIR).
Everything else about the package is in pyproject.toml."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["stage", "stage.*"]) + ["stage.runtime_cpp"],
    package_dir={"stage.runtime_cpp": "runtime_cpp"},
    package_data={"stage": ["py.typed", "codegen/templates/*.j2", "datasets/data/*"],
                  "stage.runtime_cpp": ["stage/*.h", "python/*.cpp"]},
)

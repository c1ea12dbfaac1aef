"""The one thing pyproject.toml cannot say: ship the top-level ``sim/`` folder as ``hwact._sim``."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["hwact", "hwact.*"], exclude=["*.__pycache__"]), "hwact._sim"],
    package_dir={"hwact._sim": "sim"},
    package_data={"hwact": ["py.typed", "verify/*.vlt", "verify/*.v", "cfu/*.toml"], "hwact._sim": ["**/*"]},
)

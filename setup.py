"""Ships the top-level ``resources/`` folder inside the package as ``deconv_gui/resources``.

Everything else about the build is in ``pyproject.toml``. The data stays at the top of the
repository (data, not code), and an installed copy finds it with
``importlib.resources.files("deconv_gui") / "resources"``. pyproject's ``packages.find``
cannot add a package that lives outside the package tree, so this file does only that.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["deconv_gui", "deconv_gui.*"]), "deconv_gui.resources"],
    package_dir={"deconv_gui.resources": "resources"},
    package_data={
        "deconv_gui": ["py.typed"],
        "deconv_gui.resources": ["*.json", "*.desktop", "*.xml", "icons/*.svg", "icons/*.png"],
    },
)

"""The README and the user guide: every link and picture they point to exists.

The guide's code examples themselves run as doctests (``--doctest-glob=*.md`` on docs/).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_local_links_and_pictures_exist(page):
    text = page.read_text(encoding="utf-8")
    targets = [t for t in _LINK.findall(text) if not t.startswith(("http://", "https://", "#"))]
    assert targets or page.name != "guide.md"
    for target in targets:
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links to missing {target}"


def test_the_readme_opens_with_a_picture_and_links_the_guide():
    head = (REPO / "README.md").read_text(encoding="utf-8")[:2000]
    assert "](docs/images/window.png)" in head and "](docs/guide.md)" in head


def test_every_picture_the_script_makes_is_used_by_the_guide(monkeypatch):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("screenshots", REPO / "scripts/screenshots.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "screenshots", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    used = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    for shot in module.SHOTS:
        assert f"images/{shot.name}" in used, shot.name
        assert (REPO / "docs" / "images" / shot.name).exists(), shot.name

"""The data in ``resources/``: presets, the question's example, icon and desktop files.

The data files are the source the code reads; these tests check them against independent
references (the rules and the seeded draws they were made with) and check that the files a
desktop reads are well formed.
"""

from __future__ import annotations

import configparser
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from deconv_gui.core import PRESET_DESCRIPTIONS, PRESETS, conv2d, filters, make_filter
from deconv_gui.core.resources import read_json, resource, resources_root
from deconv_gui.io.images import seed_toy_image

REPO = Path(__file__).resolve().parents[1]


def test_the_folder_is_the_installed_one_or_the_checkouts():
    import deconv_gui

    installed = Path(deconv_gui.__file__).resolve().parent / "resources"
    expected = installed if installed.is_dir() else REPO / "resources"
    assert Path(str(resources_root())).resolve() == expected
    with pytest.raises(FileNotFoundError, match="name"):
        resource("no-such-file.json")


def test_presets_come_from_the_data_file_in_order():
    data = json.loads((REPO / "resources" / "presets.json").read_text(encoding="utf-8"))
    names = [entry["name"] for entry in data["presets"]]
    assert PRESETS == tuple(names)
    assert PRESETS[0] == "gaussian" and "seed_question" in PRESETS
    for entry in data["presets"]:
        assert PRESET_DESCRIPTIONS[entry["name"]] == entry["description"]
        assert filters.PRESET_LABELS[entry["name"]] == entry["label"]
    assert filters.PRESET_LABELS["sobel_x"] == "Sobel x"


@pytest.mark.parametrize("name", [n for n in PRESETS if n not in ("random", "seed_question")])
def test_each_3x3_kernel_in_the_file_is_what_the_rule_gives(name):
    stored = np.array(filters._ENTRIES[name]["kernel_3x3"])
    np.testing.assert_array_equal(stored, filters._rule(name, (3, 3)))
    # make_filter spreads it over the input channels
    np.testing.assert_array_equal(make_filter(name, in_channels=2)[:, :, 1, 0], stored / 2)


def test_literal_kernels_in_the_file():
    sobel_x = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert filters._ENTRIES["sobel_x"]["kernel_3x3"] == sobel_x
    assert np.sum(filters._ENTRIES["gaussian"]["kernel_3x3"]) == pytest.approx(1.0)
    assert np.sum(filters._ENTRIES["laplacian"]["kernel_3x3"]) == pytest.approx(0.0)


def test_read_json_returns_fresh_objects():
    first = read_json("presets.json")
    first["presets"].clear()
    assert read_json("presets.json")["presets"]


def test_seed_question_data_is_the_seeded_draw_it_says_it_is():
    expected_image = np.random.default_rng(48776).integers(0, 10, (7, 7, 3)).astype(float)
    expected_filter = np.random.default_rng(0).integers(-2, 3, (3, 3, 3, 1)).astype(float)
    np.testing.assert_array_equal(seed_toy_image(), expected_image)
    np.testing.assert_array_equal(make_filter("seed_question"), expected_filter)
    np.testing.assert_array_equal(filters.seed_question_filter(), expected_filter)
    # channel-first storage: image[c][row][col]
    stored = read_json("seed_question.json")
    assert stored["image"][2][0][1] == seed_toy_image()[0, 1, 2]
    assert stored["filter"][1][2][0] == make_filter("seed_question")[2, 0, 1, 0]
    # other shapes and seeds are drawn the same way
    other = np.random.default_rng(4).integers(-2, 3, (5, 3, 1, 2)).astype(float)
    np.testing.assert_array_equal(
        make_filter("seed_question", size=(5, 3), in_channels=1, out_channels=2, seed=4), other
    )


def test_seed_question_geometry_gives_the_questions_3x3_output():
    stored = read_json("seed_question.json")
    y = conv2d(
        seed_toy_image(),
        make_filter("seed_question"),
        stride=stored["stride"],
        padding=stored["padding"],
    )
    assert y.shape == (3, 3, 1)


def test_icon_svg_and_pngs():
    svg = ET.fromstring(resource("icons/deconv-gui.svg").read_bytes())
    assert svg.tag.endswith("svg") and svg.get("viewBox") == "0 0 256 256"
    for size in (16, 32, 48, 64, 128, 256):
        data = resource(f"icons/deconv-gui-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (size, size)


def test_desktop_entry_and_metainfo_agree():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read_string(resource("deconv-gui.desktop").read_text(encoding="utf-8"))
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"] == "deconv-gui %f"
    assert "image/png" in desktop["MimeType"].split(";")  # 'Open with' passes the file
    assert desktop["Icon"] == "deconv-gui" and desktop["Categories"].endswith(";")
    info = ET.fromstring(resource("deconv-gui.metainfo.xml").read_bytes())
    assert info.get("type") == "desktop-application"
    assert info.findtext("launchable") == "deconv-gui.desktop"
    assert info.findtext("name") == desktop["Name"]
    assert info.findtext("provides/binary") == "deconv-gui"
    assert info.findtext("project_license") == "BSD-3-Clause"
    import deconv_gui

    versions = [r.get("version") for r in info.iter("release")]
    assert deconv_gui.__version__ in versions

"""The window's own colours, in one table: a light and a dark variant.

The window draws most of itself with the application palette; the few colours of its
own (section headings, notes, badges, warnings, the filter grid's lines) are named here
by role, today's light colours next to dark ones that read on a dark palette (contrast
4.5 at least for text on a window as light as ``#3c3c3c``). Which variant applies
follows the palette's window colour (:func:`theme_name`). Exported figures never use
this table, but for the animation's files, drawn on the light variant's ``frame_*``
paper whatever the window's palette.
"""

from __future__ import annotations

from .colormaps import contrast_ratio

__all__ = [
    "CANVAS",
    "CANVAS_FRAME",
    "CANVAS_TEXT",
    "DARK_DISABLED_TEXT",
    "DARK_PALETTE",
    "LIGHT_DISABLED_TEXT",
    "THEMES",
    "THEME_NAMES",
    "hex_rgb",
    "theme_colours",
    "theme_name",
]

#: The variants, in the order a ``--palette`` option offers them after "system".
THEME_NAMES: tuple[str, ...] = ("light", "dark")

_LIGHT: dict[str, str] = {
    "heading": "#1c2a5a",  # section headings, the chosen output, the linked chain
    "muted": "#606070",  # notes under a control
    "info": "#333333",  # the image's description
    "dim": "#888888",  # a summary line, rows still computing
    "secondary": "#555555",  # a file's side note
    "link_off": "#8a8a8a",  # the broken chain
    "error": "#b3261e",  # a problem under a control
    "error_item": "#ff0000",  # a table row's problem
    "error_message": "#b00020",  # an export that failed
    "ok": "#1d5e20",  # a solve that reached its tolerance
    "warn": "#b35900",  # a solve that stopped early
    "unconverged": "#e0a040",  # the iterations of a solve that did not converge
    "bad_box": "#fde2e2",  # an entry box's background when its text is refused
    "note_back": "#fff8d8",
    "note_border": "#d8c06a",
    "note_text": "#222222",
    "note_error_back": "#fde4e4",
    "note_error_border": "#d07070",
    "note_error_text": "#8a1010",
    "message_back": "#fbe3e1",
    "message_text": "#7a1c12",
    "message_border": "#e6a49b",
    "message_info_back": "#e6f0fb",
    "message_info_text": "#17406d",
    "message_info_border": "#9fbfe6",
    "badge_good": "#2e7d32",
    "badge_bad": "#c62828",
    "badge_none": "#555555",
    "badge_text": "#ffffff",
    "grid_line": "#b8b8c8",
    "cell_zero": "#ffffff",  # the filter grid's colour of a zero weight
    "cell_text": "#000000",
    "node_outline": "#303040",
    "node_off": "#707070",
    "node_back": "#ffffff",
    "plot_back": "#ffffff",  # behind the animation's frame
    # the animation's frames (and, always these light ones, its files): the paper, its
    # texts, section labels, the solver plot's frame and ticks, cells not yet computed,
    # the residual and error curves, a zero's cell (values blend from it to the
    # colormap's ends), the zeros inserted between spread outputs, and the padding's
    # cells and their hatching
    "frame_back": "#ffffff",
    "frame_ink": "#000000",
    "frame_label": "#3c3c3c",
    "frame_axis": "#787878",
    "frame_tick": "#5a5a5a",
    "frame_pending": "#f4f4f4",
    "frame_residual": "#c83c28",
    "frame_error": "#285ac8",
    "frame_zero": "#ffffff",
    "frame_inserted": "#e8e8e8",
    "frame_padding": "#bebebe",
    "frame_hatch": "#969696",
    # the inverse tables' verdicts: gives y back, or not
    "table_good": "#116329",
    "table_bad": "#b42318",
}

_DARK: dict[str, str] = {
    "heading": "#a8bcff",
    "muted": "#a9abb8",
    "info": "#d0d3d8",
    "dim": "#a3a8b0",
    "secondary": "#b0b4ba",
    "link_off": "#8a8e96",
    "error": "#ff8a80",
    "error_item": "#ff8a80",
    "error_message": "#ff8a80",
    "ok": "#7ee787",
    "warn": "#ffb454",
    "unconverged": "#e8b050",
    "bad_box": "#5c2020",
    "note_back": "#3a3520",
    "note_border": "#7a6a30",
    "note_text": "#f0ead0",
    "note_error_back": "#4a2020",
    "note_error_border": "#a04848",
    "note_error_text": "#ffc4c0",
    "message_back": "#4a2020",
    "message_text": "#ffd2cc",
    "message_border": "#a04848",
    "message_info_back": "#1c3350",
    "message_info_text": "#cfe3fb",
    "message_info_border": "#3f6a9f",
    "badge_good": "#2e7d32",
    "badge_bad": "#c62828",
    "badge_none": "#555555",
    "badge_text": "#ffffff",
    "grid_line": "#50535a",
    "cell_zero": "#26282c",
    "cell_text": "#e8e8e8",
    "node_outline": "#c8ccd6",
    "node_off": "#8a8e96",
    "node_back": "#26282c",
    "plot_back": "#232529",
    "frame_back": "#1c1d20",
    "frame_ink": "#e6e6e6",
    "frame_label": "#b0b4ba",
    "frame_axis": "#8a8e96",
    "frame_tick": "#a3a8b0",
    "frame_pending": "#27292d",
    "frame_residual": "#ff8a7a",
    "frame_error": "#8ab4f8",
    "frame_zero": "#3a3d42",
    "frame_inserted": "#53565c",
    "frame_padding": "#46494f",
    "frame_hatch": "#6f737b",
    "table_good": "#3fb950",
    "table_bad": "#ff7b72",
}

#: Every role's colour, ``"#rrggbb"``, per variant.
THEMES: dict[str, dict[str, str]] = {"light": _LIGHT, "dark": _DARK}

#: The dark palette ``--palette dark`` applies (QPalette role name: colour); the light
#: one is the style's own standard palette.
DARK_PALETTE: dict[str, str] = {
    "Window": "#2b2d31",
    "WindowText": "#e6e6e6",
    "Base": "#1f2023",
    "AlternateBase": "#27292d",
    "ToolTipBase": "#2b2d31",
    "ToolTipText": "#e6e6e6",
    "PlaceholderText": "#8a8f98",
    "Text": "#e6e6e6",
    "Button": "#35383d",
    "ButtonText": "#e6e6e6",
    "BrightText": "#ff6b6b",
    "Light": "#4a4d53",
    "Midlight": "#3e4146",
    "Mid": "#2f3135",
    "Dark": "#1a1b1e",
    "Shadow": "#0e0f10",
    "Highlight": "#3d6fb6",
    "HighlightedText": "#ffffff",
    "Link": "#8ab4f8",
    "LinkVisited": "#c58af9",
}
#: The dark palette's disabled texts: half-way between its text and its window.
DARK_DISABLED_TEXT = "#85878c"
#: The light palette's disabled texts: about 3.8:1 on its window, still far from its black
#: (the style's own grey, #bebebe, is 1.6:1 there: a turned-off field was hard to read).
LIGHT_DISABLED_TEXT = "#777777"


#: Behind every picture and plot (the image panels, the network's, the Insight views):
#: one dark neutral grey in both palettes, so a picture's colours are judged against
#: the same backdrop whatever the desktop's theme (as the panels' dark frames).
CANVAS = "#15171a"
#: A title written on the canvas (the panels' titles).
CANVAS_TEXT = "#e8e8e8"
#: The outline of a map drawn on the canvas: its black pixels (a lost frequency, a
#: zero tap) stay apart from the backdrop.
CANVAS_FRAME = "#7a808a"


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an RGB triple (0–255).

    Examples
    --------
    >>> hex_rgb("#1c2a5a")
    (28, 42, 90)
    """
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def theme_name(window: tuple[int, int, int]) -> str:
    """``"dark"`` when white text reads better than black on the ``window`` colour (RGB),
    else ``"light"``.

    Examples
    --------
    >>> theme_name((239, 239, 239)), theme_name((43, 45, 49)), theme_name((128, 128, 128))
    ('light', 'dark', 'light')
    """
    white, black = (255, 255, 255), (0, 0, 0)
    return "dark" if contrast_ratio(white, window) > contrast_ratio(black, window) else "light"


def theme_colours(window: tuple[int, int, int]) -> dict[str, str]:
    """The role colours of the variant that suits the ``window`` colour (RGB).

    Examples
    --------
    >>> theme_colours((239, 239, 239))["heading"], theme_colours((30, 30, 30))["heading"]
    ('#1c2a5a', '#a8bcff')
    """
    return THEMES[theme_name(window)]

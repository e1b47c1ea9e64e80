"""How arrays are shown, without Qt: levels, colormaps, read-out text, filter-grid operations.

Shared by the window (:mod:`deconv_gui.gui`) and the headless renderer
(:mod:`deconv_gui.io.render`), so a PNG from the command line and the window look the same.
"""

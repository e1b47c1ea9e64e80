"""The Qt window, in the order it reads: controls on the left, panels in the middle.

``main_window``  the window: builds the parts below and wires them together
``state``        the application state (image, params, result, busy) with signals
``live``         edit → debounce → pipeline → panels, then SSIM in a second pass
``feedback``     what the window says while it computes (state line, progress, metrics)
``runner``       runs jobs off the GUI thread, newest request wins
``controls/``    the left dock: image, filter editor, kernel grid, geometry, options
``panels/``      the image panels and their grid, export capture, metrics, message/status bars
``insight/``     the Insight menu: lost information, inspection, spectrum, check my code
``dialogs/``     the export and "copy as code" dialogs
``actions/``     menus and toolbar; image, export and session actions
``support/``     style, exception hook, deterministic teardown, QImage, QSettings, screen

Nothing below ``main_window`` imports it: the parts receive the
:class:`~deconv_gui.gui.state.AppState` and narrow callbacks, and import-linter checks
that the parts are layered in this order (no cycles).
"""

"""The Qt window, in the order it reads: controls on the left, panels in the middle.

``main_window``  the window: builds the parts below and wires them together
``state``        the application state (image, params, result, busy) with signals
``runner``       runs jobs off the GUI thread, newest request wins
``controls/``    the left dock: image, filter editor, kernel grid, geometry, options
``panels/``      the image panels, their capture for export, the metrics strip
``insight/``     the Insight menu: lost information, inspection, spectrum, check my code
``dialogs/``     the export and "copy as code" dialogs
``actions/``     menus and toolbar, export and session actions
``support/``     style, exception hook, deterministic teardown, QImage, QSettings
"""

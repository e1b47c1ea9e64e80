"""The left dock: image source, filter editor and kernel grid, geometry, reconstruction options."""

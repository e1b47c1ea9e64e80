"""Window support: style and icon, exception hook, deterministic teardown, QImage, QSettings."""

"""``python -m deconv_gui``: the same as the ``deconv-gui`` command."""

from .app import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m deconv_gui.cli``: the headless commands."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())

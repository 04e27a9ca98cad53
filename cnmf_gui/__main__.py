"""Allow ``python -m cnmf_gui``."""

from cnmf_gui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

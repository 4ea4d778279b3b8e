"""``python -I -m bastion.scanners``: run one gate in a sandbox (see ``runner.py``)."""

from bastion.scanners.runner import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())

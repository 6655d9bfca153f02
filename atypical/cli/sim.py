"""``atypical sim ...``: finite-N data, exact enumeration and training."""


def register(subparsers) -> None:
    pass

"""``atypical theory ...``: replica saddle points and thresholds."""


def register(subparsers) -> None:
    pass

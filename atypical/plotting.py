"""House style: theory as lines, simulation as markers with error bars, PNG + PDF."""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "font.size": 10,
    "axes.labelsize": 11,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "lines.linewidth": 1.6,
    "errorbar.capsize": 2.5,
}


def use_style() -> None:
    """Apply the house style to every later figure."""
    plt.rcParams.update(STYLE)


def theory_line(ax, x, y, **kwargs):
    """A theory curve: a solid line (dashed for metastable/unstable branches by caller)."""
    return ax.plot(x, y, **kwargs)


def metastable_line(ax, x, y, transition: float, *, ls_after: str = "--", **kwargs):
    """``theory_line`` solid for x <= ``transition`` and with line style ``ls_after`` beyond
    it (the metastable continuation past a first-order transition; the label goes on the
    first part only)."""
    x, y = np.asarray(x), np.asarray(y)
    theory_line(ax, x[x <= transition], y[x <= transition], **kwargs)
    kwargs.pop("label", None)
    theory_line(ax, x[x >= transition], y[x >= transition], **{**kwargs, "ls": ls_after})


def sim_markers(ax, x, mean, sem, **kwargs):
    """Simulation points: markers with one-standard-error bars, no connecting line."""
    kwargs.setdefault("fmt", "o")
    kwargs.setdefault("markersize", 4)
    kwargs.setdefault("markerfacecolor", "white")
    return ax.errorbar(x, mean, yerr=sem, **kwargs)


def save_figure(fig, out_dir: str | Path, name: str) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.png`` and ``.pdf``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    return paths


def figure_parser(doc: str, quick_help: str, *,
                  seed_help: str | None = None) -> argparse.ArgumentParser:
    """The command line every figure script shares: the script docstring ``doc`` as the
    description (line breaks kept), ``--out`` (output folder, default ``figures``),
    ``--quick`` (a small smoke run, described by ``quick_help``) and, when ``seed_help`` is
    given, ``--seed`` (int, default 0). Scripts add their own options to the result."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("figures"),
                        help="output folder (PNG, PDF and cache/)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    if seed_help is not None:
        parser.add_argument("--seed", type=int, default=0, help=seed_help)
    return parser

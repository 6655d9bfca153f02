"""House style: theory as lines, simulation as markers with error bars, PNG + PDF."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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

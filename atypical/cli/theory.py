"""``atypical theory ...``: replica saddle points and thresholds (float64)."""

import argparse

from ._common import (CLIError, add_command, add_k, add_task, check_committee_k, emit, finite,
                      positive_list, refuse_unless)

_TASK_HELP = ("storage: random labels, count solutions with all stabilities >= kappa; "
              "teacher-student: labels from a binary teacher, Gibbs (uniform over "
              "solutions) student")
_ALPHA_HELP = ("alpha = P/N, examples per weight (> 0); a number, a comma list A,B,C or "
               "a grid start:stop:num (then every output value is a list in that order)")
_KAPPA_HELP = "margin kappa: every training stability y W.xi/sqrt(N) must be >= kappa"


def register(subparsers) -> None:
    rs = add_command(subparsers, "rs", _rs,
                     "replica-symmetric saddle point: entropy and order parameters")
    add_task(rs, _TASK_HELP)
    rs.add_argument("--alpha", type=positive_list, required=True, help=_ALPHA_HELP)
    rs.add_argument("--kappa", type=finite, default=0.0, help=_KAPPA_HELP)
    add_k(rs)
    rs.add_argument("--branch", choices=["equilibrium", "poor", "good"], default="equilibrium",
                    help="teacher-student branch: poor (q < 1, exists up to the spinodal "
                         "~1.493), good (perfect generalization q = R = 1, kappa = 0 only), "
                         "equilibrium (the one of larger entropy; default)")

    cap = add_command(subparsers, "capacity", _capacity,
                      "storage capacity alpha_c(kappa): RS entropy = 0")
    cap.add_argument("--kappa", type=finite, default=0.0, help=_KAPPA_HELP + "; in [-2, 2]")
    add_k(cap)

    add_command(subparsers, "ts-transitions", _ts_transitions,
                "teacher-student first-order transition and spinodal")


def regime(row: dict, task: str) -> str:
    """Which regime an RS point is in: storage "below_capacity" (entropy >= 0) or
    "above_capacity" (entropy < 0: no solutions at large N, the RS point is not a result
    about solutions); teacher-student "perfect_generalization" (branch good),
    "poor_generalization" (poor branch, entropy >= 0) or "negative_entropy"."""
    if task == "storage":
        return "below_capacity" if row["entropy"] >= 0 else "above_capacity"
    if row.get("branch") == "good":
        return "perfect_generalization"
    return "poor_generalization" if row["entropy"] >= 0 else "negative_entropy"


def _rs(args: argparse.Namespace) -> None:
    """RS saddle point of the binary perceptron. The entropy is ln(number of solutions)/N; q =
    W.W'/N between two typical solutions, qhat its conjugate; replicon > 0 where the RS saddle is
    locally stable; teacher-student adds R = W.W_T/N and the generalization error arccos(R)/pi."""
    import numpy as np

    from . import summaries

    check_committee_k(args.k, args.task)
    refuse_unless(args, args.task == "teacher-student", ("branch",), "--task teacher-student")
    try:
        if args.k > 1:
            rows = summaries.committee_rs_summary(np.asarray(args.alpha), args.kappa, args.k)
        else:
            rows = summaries.rs_summary(args.task, np.asarray(args.alpha), args.kappa,
                                        args.branch)
    except ValueError as err:
        raise CLIError(str(err)) from None
    for row in rows:
        row["regime"] = regime(row, args.task)
    if len(args.alpha) == 1:
        emit(rows[0], args.json)
    else:
        emit({k: [r[k] for r in rows] for k in rows[0]}, args.json)


def _capacity(args: argparse.Namespace) -> None:
    """RS capacity of the binary perceptron with margin kappa (Krauth-Mezard 0.833 at kappa = 0) and
    its derivative d alpha_c / d kappa by implicit differentiation."""
    from . import summaries

    if not -2 <= args.kappa <= 2:
        raise CLIError(f"--kappa {args.kappa}: must lie in [-2, 2]")
    check_committee_k(args.k)
    if args.k > 1:
        emit(summaries.committee_capacity_summary(args.kappa, args.k), args.json)
    else:
        emit(summaries.capacity_summary(args.kappa), args.json)


def _ts_transitions(args: argparse.Namespace) -> None:
    """Bayes-optimal binary teacher-student (kappa = 0): alpha where the poorly generalizing
    branch's entropy vanishes (first-order transition to perfect generalization, Gyorgyi 1.245)
    and where the branch ends (spinodal, ~1.493)."""
    from . import summaries

    emit(summaries.transitions_summary(), args.json)



"""``atypical theory ...``: replica saddle points and thresholds (float64)."""

import argparse
import math

from ._common import K_HELP, CLIError, check_committee_k, emit, float_list

_TASK_HELP = ("storage: random labels, count solutions with all stabilities >= kappa; "
              "teacher-student: labels from a binary teacher, Gibbs (uniform over "
              "solutions) student")
_ALPHA_HELP = ("alpha = P/N, examples per weight (> 0); a number, a comma list A,B,C or "
               "a grid start:stop:num (then every output value is a list in that order)")
_KAPPA_HELP = "margin kappa: every training stability y W.xi/sqrt(N) must be >= kappa"


def register(subparsers) -> None:
    rs = subparsers.add_parser(
        "rs", help="replica-symmetric saddle point: entropy and order parameters",
        description="RS saddle point of the binary perceptron. The entropy is ln(number of "
                    "solutions)/N; q = W.W'/N between two typical solutions, qhat its "
                    "conjugate; replicon > 0 where the RS saddle is locally stable; "
                    "teacher-student adds R = W.W_T/N and the generalization error "
                    "arccos(R)/pi.")
    rs.add_argument("--task", choices=["storage", "teacher-student"], default="storage",
                    help=_TASK_HELP)
    rs.add_argument("--alpha", type=float_list, required=True, help=_ALPHA_HELP)
    rs.add_argument("--kappa", type=float, default=0.0, help=_KAPPA_HELP)
    rs.add_argument("--k", type=int, default=1, help=K_HELP)
    rs.add_argument("--branch", choices=["equilibrium", "poor", "good"], default="equilibrium",
                    help="teacher-student branch: poor (q < 1, exists up to the spinodal "
                         "~1.493), good (perfect generalization q = R = 1, kappa = 0 only), "
                         "equilibrium (the one of larger entropy; default)")
    rs.add_argument("--json", action="store_true", help="print one JSON object")
    rs.set_defaults(handler=_rs)

    cap = subparsers.add_parser(
        "capacity", help="storage capacity alpha_c(kappa): RS entropy = 0",
        description="RS capacity of the binary perceptron with margin kappa (Krauth-Mezard "
                    "0.833 at kappa = 0) and its derivative d alpha_c / d kappa by implicit "
                    "differentiation.")
    cap.add_argument("--kappa", type=float, default=0.0, help=_KAPPA_HELP + "; in [-2, 2]")
    cap.add_argument("--k", type=int, default=1, help=K_HELP)
    cap.add_argument("--json", action="store_true", help="print one JSON object")
    cap.set_defaults(handler=_capacity)

    tr = subparsers.add_parser(
        "ts-transitions", help="teacher-student first-order transition and spinodal",
        description="Bayes-optimal binary teacher-student (kappa = 0): alpha where the "
                    "poorly generalizing branch's entropy vanishes (first-order transition "
                    "to perfect generalization, Gyorgyi 1.245) and where the branch ends "
                    "(spinodal, ~1.493).")
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    tr.set_defaults(handler=_ts_transitions)


def _check_inputs(alphas: list[float], kappa: float) -> None:
    bad = [a for a in alphas if not (math.isfinite(a) and a > 0)]
    if bad:
        raise CLIError(f"--alpha {bad[0]}: alpha = P/N must be finite and > 0")
    if not math.isfinite(kappa):
        raise CLIError(f"--kappa {kappa}: the margin must be finite")


def _rs(args: argparse.Namespace) -> None:
    import numpy as np

    from atypical import SaddlePointError

    from . import summaries

    _check_inputs(args.alpha, args.kappa)
    check_committee_k(args.k, args.task)
    try:
        if args.k > 1:
            rows = summaries.committee_rs_summary(np.asarray(args.alpha), args.kappa, args.k)
        else:
            rows = summaries.rs_summary(args.task, np.asarray(args.alpha), args.kappa,
                                        args.branch)
    except (SaddlePointError, ValueError) as err:
        raise CLIError(str(err)) from None
    if len(args.alpha) == 1:
        emit(rows[0], args.json)
    else:
        emit({k: [r[k] for r in rows] for k in rows[0]}, args.json)


def _capacity(args: argparse.Namespace) -> None:
    from . import summaries

    if not -2 <= args.kappa <= 2:
        raise CLIError(f"--kappa {args.kappa}: must lie in [-2, 2]")
    check_committee_k(args.k)
    if args.k > 1:
        emit(summaries.committee_capacity_summary(args.kappa, args.k), args.json)
    else:
        emit(summaries.capacity_summary(args.kappa), args.json)


def _ts_transitions(args: argparse.Namespace) -> None:
    from . import summaries

    emit(summaries.transitions_summary(), args.json)



"""``atypical theory kappa-max | local-entropy | monotonicity-threshold``: maximal margins,
Franz-Parisi local entropy around high-margin references and the [P2] flat-minima
diagnostic (replica-symmetric, float64). No ``sim`` commands (``register_sim`` adds none).
"""

import argparse
import math

from ._common import K_HELP, CLIError, check_committee_k, emit, float_list, problem_class

_TASK_HELP = ("storage: random labels; teacher-student: labels from a binary teacher "
              "(RS branch connected to small margins)")


def register_theory(subparsers) -> None:
    km = subparsers.add_parser(
        "kappa-max", help="RS maximal margin kappa_max(alpha): entropy of margin-kappa "
                          "solutions = 0",
        description="RS maximal margin of the binary perceptron: the largest kappa such that "
                    "exponentially many weights have every stability y W.xi/sqrt(N) >= kappa "
                    "(root in kappa of the RS entropy), with d kappa_max / d alpha by "
                    "implicit differentiation. storage: alpha in [0.1, 20]; teacher-student: "
                    "alpha in [0.1, 1.5].")
    km.add_argument("--task", choices=["storage", "teacher-student"], default="storage",
                    help=_TASK_HELP)
    km.add_argument("--alpha", type=float, required=True, help="alpha = P/N (> 0)")
    km.add_argument("--k", type=int, default=1,
                    help=K_HELP + "; kappa_max is the largest such hidden margin, alpha in "
                                  "[0.1, 3]")
    km.add_argument("--json", action="store_true", help="print one JSON object")
    km.set_defaults(handler=_kappa_max)

    le = subparsers.add_parser(
        "local-entropy", help="Franz-Parisi local entropy S(d) around margin-kappa_ref "
                              "references",
        description="RS Franz-Parisi local entropy: the reference is a uniform solution with "
                    "margin kappa_ref (must not exceed kappa_max(alpha)); S(d) = ln(number "
                    "of solutions with margin kappa at Hamming fraction d from it)/N, never "
                    "above -d ln d - (1-d) ln(1-d). Solved by continuation from the typical "
                    "distance (1-q_ref)/2 (kappa homotopy there, then in d).")
    le.add_argument("--task", choices=["storage", "teacher-student"], default="storage",
                    help=_TASK_HELP + "; teacher-student also prints the teacher overlap R "
                         "and the generalization error arccos(R)/pi of the counted solutions "
                         "(gen_error) and of the reference (reference_gen_error)")
    le.add_argument("--alpha", type=float, required=True, help="alpha = P/N (> 0)")
    le.add_argument("--kappa-ref", type=float, required=True,
                    help="margin of the reference solution (<= kappa_max(alpha))")
    le.add_argument("--kappa", type=float, default=0.0,
                    help="margin of the counted solutions (default 0; <= kappa-ref)")
    le.add_argument("--k", type=int, default=1,
                    help=K_HELP + "; the references are committee solutions with hidden margin "
                                  "kappa_ref, K in 1, 3 (minutes per curve for K = 3)")
    le.add_argument("--d", type=float_list, required=True,
                    help="Hamming fraction(s) in (0, 1/2]: a number, a comma list or "
                         "start:stop:num (then every output value is a list in that order)")
    le.add_argument("--json", action="store_true", help="print one JSON object")
    le.set_defaults(handler=_local_entropy)

    mt = subparsers.add_parser(
        "monotonicity-threshold",
        help="alpha where S(d) around maximal-margin references stops being monotone",
        description="[P2] diagnostic: the alpha above which the Franz-Parisi local entropy "
                    "of margin-kappa solutions around references at kappa_max(alpha) has a "
                    "local maximum and a dip at small d (wide flat minima disappear). "
                    "Newton root of [grad phi = 0, dS/dd = 0, d2S/dd2 = 0] with the "
                    "reference on kappa_max(alpha), bracketed by a sweep in alpha.")
    mt.add_argument("--task", choices=["storage"], default="storage", help="storage")
    mt.add_argument("--kappa", type=float, default=0.0,
                    help="margin of the counted solutions (default 0)")
    mt.add_argument("--json", action="store_true", help="print one JSON object")
    mt.set_defaults(handler=_monotonicity_threshold)


def register_sim(subparsers) -> None:
    """No simulation commands: the local entropy by enumeration lives in ``atypical sim``."""


def _check_finite(**values) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise CLIError(f"--{name.replace('_', '-')} {value}: must be finite")


def _kappa_max(args: argparse.Namespace) -> None:
    from atypical import SaddlePointError

    from . import local_entropy_summaries as summaries

    from theory.models.margins import ALPHA_RANGE

    _check_finite(alpha=args.alpha)
    check_committee_k(args.k, args.task)
    if args.k > 1:
        from theory.models.committee import ALPHA_RANGE as COMMITTEE_RANGE

        from .summaries import committee_kappa_max_summary

        lo, hi = COMMITTEE_RANGE
        if not lo <= args.alpha <= hi:
            raise CLIError(f"--alpha {args.alpha}: for --k {args.k} alpha must lie in "
                           f"[{lo}, {hi}]")
        try:
            emit(committee_kappa_max_summary(args.alpha, args.k), args.json)
        except (SaddlePointError, ValueError) as err:
            raise CLIError(str(err)) from None
        return
    lo, hi = ALPHA_RANGE[problem_class(args.task)]
    if not lo <= args.alpha <= hi:
        raise CLIError(f"--alpha {args.alpha}: for --task {args.task} alpha must lie in "
                       f"[{lo}, {hi}]")
    try:
        emit(summaries.kappa_max_summary(args.task, args.alpha), args.json)
    except (SaddlePointError, ValueError) as err:
        raise CLIError(str(err)) from None


def _local_entropy(args: argparse.Namespace) -> None:
    from atypical import SaddlePointError

    from . import local_entropy_summaries as summaries

    _check_finite(alpha=args.alpha, kappa_ref=args.kappa_ref, kappa=args.kappa)
    check_committee_k(args.k, args.task)
    if args.k == 5:
        raise CLIError("--k 5: the committee Franz-Parisi entropy is implemented for K in 1, 3 "
                       "(K = 5 needs a 5-fold spline tensor of ~10^10 coefficients)")
    if args.task == "teacher-student" and not 0 < args.alpha <= 1.5:
        raise CLIError(f"--alpha {args.alpha}: for --task teacher-student alpha must lie in "
                       "(0, 1.5] (the poorly generalizing RS branch of the references ends "
                       "near alpha = 1.49 at kappa_ref = 0)")
    bad = [d for d in args.d if not 0 < d <= 0.5]
    if bad:
        raise CLIError(f"--d {bad[0]}: the Hamming fraction d must lie in (0, 1/2]")
    try:
        result = summaries.local_entropy_summary(args.alpha, args.kappa_ref, args.kappa,
                                                 args.d, task=args.task, k=args.k)
    except (SaddlePointError, ValueError) as err:
        raise CLIError(str(err)) from None
    if len(args.d) == 1:
        result = {k: v[0] if isinstance(v, list) else v for k, v in result.items()}
    emit(result, args.json)


def _monotonicity_threshold(args: argparse.Namespace) -> None:
    from atypical import SaddlePointError

    from . import local_entropy_summaries as summaries

    _check_finite(kappa=args.kappa)
    if not -0.6 <= args.kappa <= 0.5:
        raise CLIError(f"--kappa {args.kappa}: must lie in [-0.6, 0.5] (where the bracketing "
                       "sweep in alpha/alpha_c was validated)")
    try:
        emit(summaries.monotonicity_summary(args.kappa), args.json)
    except (SaddlePointError, ValueError) as err:
        raise CLIError(str(err)) from None

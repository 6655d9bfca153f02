"""``atypical theory kappa-max | local-entropy | monotonicity-threshold``: maximal margins,
Franz-Parisi local entropy around high-margin references and the [P2] flat-minima
diagnostic (replica-symmetric, float64). No ``sim`` commands (``register_sim`` adds none).
"""

import argparse

from ._common import (CLIError, add_command, add_k, add_task, check_committee_k, emit, finite,
                      float_list, positive, problem_class)

_TASK_HELP = ("storage: random labels; teacher-student: labels from a binary teacher "
              "(RS branch connected to small margins)")


def register_theory(subparsers) -> None:
    km = add_command(subparsers, "kappa-max", _kappa_max,
                     "RS maximal margin kappa_max(alpha): entropy of margin-kappa solutions = 0")
    add_task(km, _TASK_HELP)
    km.add_argument("--alpha", type=positive, required=True, help="alpha = P/N (> 0)")
    add_k(km, "; kappa_max is the largest such hidden margin, alpha in [0.1, 3]")

    le = add_command(subparsers, "local-entropy", _local_entropy,
                     "Franz-Parisi local entropy S(d) around margin-kappa_ref references")
    add_task(le, _TASK_HELP + "; teacher-student also prints the teacher overlap R and the "
                 "generalization error arccos(R)/pi of the counted solutions (gen_error) and "
                 "of the reference (reference_gen_error)")
    le.add_argument("--alpha", type=positive, required=True, help="alpha = P/N (> 0)")
    le.add_argument("--kappa-ref", type=finite, required=True,
                    help="margin of the reference solution (<= kappa_max(alpha))")
    le.add_argument("--kappa", type=finite, default=0.0,
                    help="margin of the counted solutions (default 0; <= kappa-ref)")
    add_k(le, "; the references are committee solutions with hidden margin kappa_ref, K in "
              "1, 3 (minutes per curve for K = 3)")
    le.add_argument("--d", type=float_list, required=True,
                    help="Hamming fraction(s) in (0, 1/2]: a number, a comma list or "
                         "start:stop:num (then every output value is a list in that order)")

    mt = add_command(subparsers, "monotonicity-threshold", _monotonicity_threshold,
                     "alpha where S(d) around maximal-margin references stops being monotone")
    add_task(mt, _TASK_HELP + "; references at the task's kappa_max(alpha)")
    mt.add_argument("--kappa", type=finite, default=0.0,
                    help="margin of the counted solutions (default 0; storage: in [-0.6, 0.5], "
                         "teacher-student: 0)")


def register_sim(subparsers) -> None:
    """No simulation commands: the local entropy by enumeration lives in ``atypical sim``."""


def _kappa_max(args: argparse.Namespace) -> None:
    """RS maximal margin of the binary perceptron: the largest kappa such that exponentially many
    weights have every stability y W.xi/sqrt(N) >= kappa (root in kappa of the RS entropy), with
    d kappa_max / d alpha by implicit differentiation. storage: alpha in [0.1, 20]; teacher-
    student: alpha in [0.1, 1.5]."""
    from theory.models.margins import ALPHA_RANGE

    from . import local_entropy_summaries as summaries

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
        except ValueError as err:
            raise CLIError(str(err)) from None
        return
    lo, hi = ALPHA_RANGE[problem_class(args.task)]
    if not lo <= args.alpha <= hi:
        raise CLIError(f"--alpha {args.alpha}: for --task {args.task} alpha must lie in "
                       f"[{lo}, {hi}]")
    try:
        emit(summaries.kappa_max_summary(args.task, args.alpha), args.json)
    except ValueError as err:
        raise CLIError(str(err)) from None


def _local_entropy(args: argparse.Namespace) -> None:
    """RS Franz-Parisi local entropy: the reference is a uniform solution with margin kappa_ref
    (must not exceed kappa_max(alpha)); S(d) = ln(number of solutions with margin kappa at
    Hamming fraction d from it)/N, never above -d ln d - (1-d) ln(1-d). Solved by continuation
    from the typical distance (1-q_ref)/2 (kappa homotopy there, then in d)."""
    from . import local_entropy_summaries as summaries

    check_committee_k(args.k, args.task)
    if args.k == 5:
        raise CLIError("--k 5: the command line computes the committee Franz-Parisi curve for "
                       "K in 1, 3; K = 5 (theory.local_entropy.committee_query(5), a 2e8-"
                       "coefficient tensor) costs 10-20 min and over 17 GB per Newton step "
                       "on a CPU core: call the library on an accelerator")
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
    except ValueError as err:
        raise CLIError(str(err)) from None
    if len(args.d) == 1:
        result = {k: v[0] if isinstance(v, list) else v for k, v in result.items()}
    emit(result, args.json)


def _monotonicity_threshold(args: argparse.Namespace) -> None:
    """[P2] diagnostic: the alpha above which the Franz-Parisi local entropy of margin-kappa
    solutions around references at kappa_max(alpha) has a local maximum and a dip at small d
    (wide flat minima disappear). Newton root of [grad phi = 0, dS/dd = 0, d2S/dd2 = 0] with the
    reference on kappa_max(alpha), bracketed by a sweep in alpha. storage: kappa in [-0.6, 0.5]
    (alpha_U = 0.7290 at kappa = 0); teacher-student: kappa = 0."""
    from . import local_entropy_summaries as summaries

    lo, hi = summaries.QUERIES[args.task].threshold_kappa
    if not lo <= args.kappa <= hi:
        where = f"lie in [{lo}, {hi}]" if lo < hi else f"be {lo:g}"
        raise CLIError(f"--kappa {args.kappa}: for --task {args.task} it must {where} (where "
                       "the bracketing sweep in alpha was validated)")
    try:
        emit(summaries.monotonicity_summary(args.kappa, args.task), args.json)
    except ValueError as err:
        raise CLIError(str(err)) from None

"""``atypical theory large-deviation``: the RS large-deviation local entropy of the binary
perceptron (storage or teacher-student) at finite y (float64). No ``sim`` commands
(``register_sim`` adds none).
"""

import argparse
import math

from ._common import (CLIError, add_command, add_task, emit, finite, float_list, positive,
                      problem_class)


SIGMA_ZERO = "sigma0"


def _y(text: str) -> float | str:
    """--y: a finite number, inf or sigma0."""
    word = text.strip().lower()
    if word in ("inf", "+inf", "infinity"):
        return math.inf
    if word == SIGMA_ZERO:
        return SIGMA_ZERO
    try:
        return finite(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r}: must be finite, inf or "
                                         f"{SIGMA_ZERO}") from None


def register_theory(subparsers) -> None:
    ld = add_command(subparsers, "large-deviation", _large_deviation,
                     "large-deviation local entropy: references weighted by exp(y N S_loc)")
    add_task(ld, "storage (random labels) or teacher-student (labels of a binary teacher; "
             "also prints the teacher overlaps R, R_ref and the generalization errors "
             "arccos(R)/pi of the replicas and of the dominating references; alpha in "
             "(0, 1.5])")
    ld.add_argument("--alpha", type=positive, required=True,
                    help="alpha = P/N, patterns per weight (> 0)")
    ld.add_argument("--y", type=_y, required=True,
                    help="large-deviation exponent y: the number of coupled real replicas "
                         "per reference (0 < y <= 8, not 1; y -> 0 gives the Franz-Parisi "
                         "local entropy around typical solutions), inf, or sigma0: at each d "
                         "the y* in (3, 8] where the reference entropy Sigma vanishes (the "
                         "densest references that still exist)")
    ld.add_argument("--d", type=float_list, required=True,
                    help="Hamming fraction(s) from the reference in (0, 1/2): a number, a "
                         "comma list or start:stop:num (then every output is a list)")
    ld.add_argument("--kappa", type=finite, default=0.0,
                    help="margin of the solutions, references and replicas alike "
                         "(default 0)")


def register_sim(subparsers) -> None:
    """No simulation commands."""


def _large_deviation(args: argparse.Namespace) -> None:
    """RS large-deviation local entropy of the binary perceptron [P1]: reference weights W~ are
    solutions (margin kappa) weighted by exp(y N S_loc(W~, d)), where S_loc(W~, d) = ln(number of
    solutions at Hamming fraction d from W~)/N; y real replicas per reference, replica symmetric
    across references. Prints the local entropy S_loc = dPhi/dy (never above -d ln d - (1-d)
    ln(1-d)), the reference entropy Sigma = Phi - y S_loc (ln of the number of dominating
    references per weight) and the total Phi. Finite y in (0, 8], y != 1, or --y inf: the limit
    S_inf(d) = lim Phi/y = the largest local entropy of any reference, where the references' own
    margin drops out (theory/large_deviation_limit.py); there the reference entropy is not
    computed (null) and d where no RS saddle was reached (the gap of the curve above the
    threshold alpha_U = 0.7552 at kappa = 0) are null with converged false. --y sigma0: at
    each d the y* where Sigma = 0, S* = S_loc(y*) and its slope dS*/dd; d where Sigma does
    not vanish in (3, 8] are null with converged false."""
    if args.task == "teacher-student" and not 0 < args.alpha <= 1.5:
        raise CLIError(f"--alpha {args.alpha}: for --task teacher-student alpha must lie in "
                       "(0, 1.5] (the poorly generalizing RS branch of the references ends "
                       "near alpha = 1.49)")
    bad = [d for d in args.d if not 0 < d < 0.5]
    if bad:
        raise CLIError(f"--d {bad[0]}: the Hamming fraction d must lie in (0, 1/2)")
    if args.y == SIGMA_ZERO:
        return _sigma_zero(args)
    if math.isinf(args.y):
        return _infinite_y(args)
    from theory.local_entropy.large_deviation import large_deviation_curve

    curve = _solved(large_deviation_curve, args, args.alpha, args.d, args.y, args.kappa)
    op = curve.order_params
    result = {"local_entropy": _as_list(curve.local_entropy),
              "reference_entropy": _as_list(curve.reference_entropy),
              "free_entropy": _as_list(curve.free_entropy),
              "upper_bound": _as_list(curve.upper_bound), "d": list(args.d),
              "converged": [bool(c) for c in _as_list(curve.converged)],
              "residual": _as_list(curve.residual)}
    result.update({name: _as_list(getattr(op, name)) for name in
                   ("q_ref", "q1", "q0", "t", "q_ref_hat", "q1_hat", "q0_hat", "t_hat",
                    "p_hat")})
    if args.task == "teacher-student":
        result.update({name: _as_list(getattr(op, name)) for name in
                       ("R_ref", "R", "R_ref_hat", "R_hat")})
        result.update(gen_error=_as_list(curve.gen_error),
                      reference_gen_error=_as_list(curve.reference_gen_error))
    _emit_curve(args, result, args.y)


def _infinite_y(args: argparse.Namespace) -> None:
    """``--y inf``: the y -> infinity local entropy $S_\\infty(d)$ and its order parameters."""
    from theory.local_entropy.large_deviation_limit import large_deviation_limit_curve

    curve = _solved(large_deviation_limit_curve, args, args.alpha, args.d, args.kappa)
    op = curve.order_params
    result = {"local_entropy": _as_list(curve.local_entropy),
              "reference_entropy": [None] * len(args.d), "slope": _as_list(curve.slope),
              "upper_bound": _as_list(curve.upper_bound), "d": list(args.d),
              "converged": [bool(c) for c in _as_list(curve.converged)],
              "residual": _as_list(curve.residual)}
    result.update({name: _as_list(getattr(op, name)) for name in
                   ("q", "delta", "q_hat", "sigma_hat", "p_hat")})
    if args.task == "teacher-student":
        result.update(R=_as_list(op.R), R_hat=_as_list(op.R_hat),
                      gen_error=_as_list(curve.gen_error),
                      reference_gen_error=_as_list(curve.reference_gen_error))
    _emit_curve(args, result, "inf")


def _sigma_zero(args: argparse.Namespace) -> None:
    """``--y sigma0``: y*(d) where the reference entropy vanishes, $S^*$ and $dS^*/dd$."""
    from theory.local_entropy.large_deviation import sigma_zero_curve

    curve = _solved(sigma_zero_curve, args, args.alpha, args.d, args.kappa, throw=False)
    result = {"y_star": _as_list(curve.y), "local_entropy": _as_list(curve.local_entropy),
              "reference_entropy": [0.0 if c else None for c in _as_list(curve.converged)],
              "slope": _as_list(curve.slope), "d": list(args.d),
              "converged": [bool(c) for c in _as_list(curve.converged)],
              "residual": _as_list(curve.residual)}
    if args.task == "teacher-student":
        from atypical.observables import gen_error_from_overlap

        result.update(R=_as_list(curve.order_params.R),
                      gen_error=_as_list(gen_error_from_overlap(curve.order_params.R)))
    _emit_curve(args, result, SIGMA_ZERO)


def _as_list(x) -> list:
    import numpy as np

    return np.asarray(x).reshape(-1).tolist()


def _solved(solve, args: argparse.Namespace, *values, **options):
    """``solve(*values, problem=<the --task class>, **options)``; its ``ValueError`` as a
    CLI error."""
    try:
        return solve(*values, problem=problem_class(args.task), **options)
    except ValueError as err:
        raise CLIError(str(err)) from None


def _emit_curve(args: argparse.Namespace, result: dict, y) -> None:
    """Print a curve's columns (lists over --d, values for a single d) with its inputs."""
    result.update(alpha=args.alpha, y=y, kappa=args.kappa, task=args.task)
    if len(args.d) == 1:
        result = {k: v[0] if isinstance(v, list) else v for k, v in result.items()}
    emit(result, args.json)

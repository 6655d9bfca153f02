"""``atypical theory large-deviation``: the RS large-deviation local entropy of the binary
perceptron (storage or teacher-student) at finite y (float64). No ``sim`` commands
(``register_sim`` adds none).
"""

import argparse
import math

from ._common import CLIError, emit, float_list, problem_class


def register_theory(subparsers) -> None:
    ld = subparsers.add_parser(
        "large-deviation",
        help="large-deviation local entropy: references weighted by exp(y N S_loc)",
        description="RS large-deviation local entropy of the binary perceptron [P1]: "
                    "reference weights W~ are solutions (margin kappa) weighted by "
                    "exp(y N S_loc(W~, d)), where S_loc(W~, d) = ln(number of solutions at "
                    "Hamming fraction d from W~)/N; y real replicas per reference, replica "
                    "symmetric across references. Prints the local entropy S_loc = dPhi/dy "
                    "(never above -d ln d - (1-d) ln(1-d)), the reference entropy Sigma = "
                    "Phi - y S_loc (ln of the number of dominating references per weight) and "
                    "the total Phi. Finite y in (0, 8], y != 1, or --y inf: the limit "
                    "S_inf(d) = lim Phi/y = the largest local entropy of any reference, where "
                    "the references' own margin drops out (theory/large_deviation_limit.py); "
                    "there the reference entropy is not computed (null) and d where no RS "
                    "saddle was reached (the gap of the curve above the threshold alpha_U = "
                    "0.7552 at kappa = 0) are null with converged false.")
    ld.add_argument("--task", choices=["storage", "teacher-student"], default="storage",
                    help="storage (random labels) or teacher-student (labels of a binary "
                         "teacher; also prints the teacher overlaps R, R_ref and the "
                         "generalization errors arccos(R)/pi of the replicas and of the "
                         "dominating references; alpha in (0, 1.5])")
    ld.add_argument("--alpha", type=float, required=True,
                    help="alpha = P/N, patterns per weight (> 0)")
    ld.add_argument("--y", type=float, required=True,
                    help="large-deviation exponent y: the number of coupled real replicas "
                         "per reference (0 < y <= 8, not 1; y -> 0 gives the Franz-Parisi "
                         "local entropy around typical solutions) or inf")
    ld.add_argument("--d", type=float_list, required=True,
                    help="Hamming fraction(s) from the reference in (0, 1/2): a number, a "
                         "comma list or start:stop:num (then every output is a list)")
    ld.add_argument("--kappa", type=float, default=0.0,
                    help="margin of the solutions, references and replicas alike "
                         "(default 0)")
    ld.add_argument("--json", action="store_true", help="print one JSON object")
    ld.set_defaults(handler=_large_deviation)


def register_sim(subparsers) -> None:
    """No simulation commands."""


def _large_deviation(args: argparse.Namespace) -> None:
    from atypical import SaddlePointError

    for name in ("alpha", "kappa"):
        if not math.isfinite(getattr(args, name)):
            raise CLIError(f"--{name} {getattr(args, name)}: must be finite")
    if args.task == "teacher-student" and not 0 < args.alpha <= 1.5:
        raise CLIError(f"--alpha {args.alpha}: for --task teacher-student alpha must lie in "
                       "(0, 1.5] (the poorly generalizing RS branch of the references ends "
                       "near alpha = 1.49)")
    bad = [d for d in args.d if not 0 < d < 0.5]
    if bad:
        raise CLIError(f"--d {bad[0]}: the Hamming fraction d must lie in (0, 1/2)")
    if math.isinf(args.y) and args.y > 0:
        return _infinite_y(args)
    if not math.isfinite(args.y):
        raise CLIError(f"--y {args.y}: must be finite or inf")
    import numpy as np

    from theory.local_entropy.large_deviation import large_deviation_curve

    try:
        curve = large_deviation_curve(args.alpha, args.d, args.y, args.kappa,
                                      problem=problem_class(args.task))
    except (SaddlePointError, ValueError) as err:
        raise CLIError(str(err)) from None
    as_list = lambda x: np.asarray(x).reshape(-1).tolist()
    op = curve.order_params
    result = {"local_entropy": as_list(curve.local_entropy),
              "reference_entropy": as_list(curve.reference_entropy),
              "free_entropy": as_list(curve.free_entropy),
              "upper_bound": as_list(curve.upper_bound), "d": list(args.d),
              "converged": [bool(c) for c in as_list(curve.converged)],
              "residual": as_list(curve.residual)}
    result.update({name: as_list(getattr(op, name)) for name in
                   ("q_ref", "q1", "q0", "t", "q_ref_hat", "q1_hat", "q0_hat", "t_hat",
                    "p_hat")})
    if args.task == "teacher-student":
        result.update({name: as_list(getattr(op, name)) for name in
                       ("R_ref", "R", "R_ref_hat", "R_hat")})
        result.update(gen_error=as_list(curve.gen_error),
                      reference_gen_error=as_list(curve.reference_gen_error))
    result.update(alpha=args.alpha, y=args.y, kappa=args.kappa, task=args.task)
    if len(args.d) == 1:
        result = {k: v[0] if isinstance(v, list) else v for k, v in result.items()}
    emit(result, args.json)


def _infinite_y(args: argparse.Namespace) -> None:
    """``--y inf``: the y -> infinity local entropy $S_\\infty(d)$ and its order parameters."""
    import numpy as np

    from theory.local_entropy.large_deviation_limit import large_deviation_limit_curve

    try:
        curve = large_deviation_limit_curve(args.alpha, args.d, args.kappa,
                                            problem=problem_class(args.task))
    except ValueError as err:
        raise CLIError(str(err)) from None
    as_list = lambda x: np.asarray(x).reshape(-1).tolist()
    op = curve.order_params
    result = {"local_entropy": as_list(curve.local_entropy),
              "reference_entropy": [None] * len(args.d), "slope": as_list(curve.slope),
              "upper_bound": as_list(curve.upper_bound), "d": list(args.d),
              "converged": [bool(c) for c in as_list(curve.converged)],
              "residual": as_list(curve.residual)}
    result.update({name: as_list(getattr(op, name)) for name in
                   ("q", "delta", "q_hat", "sigma_hat", "p_hat")})
    if args.task == "teacher-student":
        result.update(R=as_list(op.R), R_hat=as_list(op.R_hat),
                      gen_error=as_list(curve.gen_error),
                      reference_gen_error=as_list(curve.reference_gen_error))
    result.update(alpha=args.alpha, y="inf", kappa=args.kappa, task=args.task)
    if len(args.d) == 1:
        result = {k: v[0] if isinstance(v, list) else v for k, v in result.items()}
    emit(result, args.json)

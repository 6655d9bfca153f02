"""``atypical theory rf`` and ``atypical theory rf-interpolation``: the overparameterized
binary student on random features of a hidden perceptron teacher [P1] (RS theory).

Control parameters: alpha = P/N, alpha_D = P/D (overparameterization N/D = alpha_D/alpha),
margin kappa, feature activation sigma.
"""

import argparse
import math

from ._common import CLIError, emit

_SIGMAS = ("sign", "erf", "relu", "linear")
_SIGMA_HELP = "feature activation x = sigma(F c / sqrt D) (default sign)"
_ALPHA_D_HELP = "alpha_D = P/D, examples per latent dimension (> 0); N/D = alpha_D/alpha"


def register_theory(subparsers) -> None:
    rf = subparsers.add_parser(
        "rf", help="random-features model: RS entropy, order parameters, Gibbs error",
        description="RS saddle point of a binary student W on features x = sigma(F c/sqrt D) "
                    "of a hidden teacher y = sign(w_T.c/sqrt D). entropy = ln(#solutions)/N; "
                    "q = W.W'/N; r, m: self- and teacher overlap of the projections "
                    "F^T W/sqrt N (per latent dimension); gen_error = Gibbs test error.")
    rf.add_argument("--alpha", type=float, required=True, help="alpha = P/N (> 0)")
    rf.add_argument("--alpha-d", type=float, required=True, help=_ALPHA_D_HELP)
    rf.add_argument("--kappa", type=float, default=0.0,
                    help="margin: every training stability y W.x/sqrt(N) must be >= kappa")
    rf.add_argument("--sigma", choices=_SIGMAS, default="sign", help=_SIGMA_HELP)
    rf.add_argument("--json", action="store_true", help="print one JSON object")
    rf.set_defaults(handler=_rf)

    interp = subparsers.add_parser(
        "rf-interpolation", help="random-features interpolation point: RS entropy = 0",
        description="alpha_c = P/N where the RS entropy of zero-training-error students "
                    "vanishes at fixed alpha_D (interpolation point), and N/D = alpha_D/alpha_c. "
                    "alpha_D -> 0 gives Krauth-Mezard 0.833.")
    interp.add_argument("--alpha-d", type=float, required=True, help=_ALPHA_D_HELP)
    interp.add_argument("--sigma", choices=_SIGMAS, default="sign", help=_SIGMA_HELP)
    interp.add_argument("--json", action="store_true", help="print one JSON object")
    interp.set_defaults(handler=_interpolation)


def register_sim(subparsers) -> None:
    """No simulation commands yet (the training CLI of the algorithms issue will add them)."""


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise CLIError(f"{name} {value}: must be finite and > 0")


def _rf(args: argparse.Namespace) -> None:
    from atypical import RandomFeatures, SaddlePointError

    from theory.random_features import gen_error_rf, solve_rf

    _positive("--alpha", args.alpha)
    _positive("--alpha-d", args.alpha_d)
    if not math.isfinite(args.kappa):
        raise CLIError(f"--kappa {args.kappa}: the margin must be finite")
    try:
        sol = solve_rf(args.alpha, args.alpha_d, args.kappa, sigma=args.sigma)
    except SaddlePointError as err:
        raise CLIError(str(err).replace("\n", " ")) from None
    op = sol.order_params
    problem = RandomFeatures(args.alpha, args.alpha_d, args.kappa, sigma=args.sigma)
    emit({"entropy": float(sol.free_entropy[0]),
          "gen_error": float(gen_error_rf(op, problem)[0]),
          "q": float(op.q[0]), "r": float(op.r[0]), "m": float(op.m[0]),
          "converged": bool(sol.converged[0])}, args.json)


def _interpolation(args: argparse.Namespace) -> None:
    from atypical import SaddlePointError

    from theory.random_features import rf_interpolation_threshold

    _positive("--alpha-d", args.alpha_d)
    try:
        result = rf_interpolation_threshold(args.alpha_d, sigma=args.sigma)
    except SaddlePointError as err:
        raise CLIError(str(err).replace("\n", " ")) from None
    emit({"alpha_c": float(result.alpha), "n_over_d": float(result.n_over_d)}, args.json)

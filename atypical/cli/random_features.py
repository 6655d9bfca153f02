"""``atypical theory rf``, ``rf-interpolation`` and ``rf-atypical``: the overparameterized
binary student on random features of a hidden perceptron teacher [P1] (RS theory).

Control parameters: alpha = P/N, alpha_D = P/D (overparameterization N/D = alpha_D/alpha),
margin kappa, feature activation sigma.
"""

import argparse

from ._common import (CLIError, add_command, add_stats, at_least, check_memory, emit, finite,
                      positive, train_config, training_bytes)

_SIGMAS = ("sign", "erf", "relu", "linear")
_SIGMA_HELP = "feature activation x = sigma(F c / sqrt D) (default sign)"
_ALPHA_D_HELP = "alpha_D = P/D, examples per latent dimension (> 0); N/D = alpha_D/alpha"


def register_theory(subparsers) -> None:
    rf = add_command(subparsers, "rf", _rf,
                     "random-features model: RS entropy, order parameters, Gibbs error")
    rf.add_argument("--alpha", type=positive, required=True, help="alpha = P/N (> 0)")
    _add_alpha_d(rf)
    rf.add_argument("--kappa", type=finite, default=0.0,
                    help="margin: every training stability y W.x/sqrt(N) must be >= kappa")
    _add_sigma(rf)

    interp = add_command(subparsers, "rf-interpolation", _interpolation,
                         "random-features interpolation point: RS entropy = 0")
    _add_alpha_d(interp)
    _add_sigma(interp)

    atyp = add_command(subparsers, "rf-atypical", _atypical,
                       "random-features atypical transition: where wide flat regions of solutions "
                       "appear as N grows")
    _add_alpha_d(atyp)
    atyp.add_argument("--method", choices=("franz-parisi", "large-deviation"),
                      default="franz-parisi", help="which diagnostic (default franz-parisi)")
    _add_sigma(atyp)


def _add_alpha_d(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha-d", type=positive, required=True, help=_ALPHA_D_HELP)


def _add_sigma(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sigma", choices=_SIGMAS, default="sign", help=_SIGMA_HELP)


def register_sim(subparsers) -> None:
    """No commands of its own: ``sim train --task random-features`` is ``sim train``'s
    parser (atypical/cli/sim.py) with ``add_train_arguments`` and ``train_random_features``."""


RF_TRAIN_EPILOG = (
    "random-features task (--task random-features): latent c ~ N(0, I_D), fixed Gaussian "
    "F (N x D), features x = sigma(F c/sqrt D) (--features exact) or their Gaussian-"
    "equivalent surrogate mu0 + mu1 F c/sqrt D + mu_* eta (--features gaussian), teacher "
    "y = sign(w_T.c/sqrt D) with Gaussian w_T, binary student sign(W.x/sqrt N). alpha = P/N "
    "and alpha_D = P/D fix D = round(P/alpha_D); the overparameterization is "
    "N/D = alpha_D/alpha. Features are never centred (for relu the mean is part of the "
    "model); for sgd and rsgd only they are scaled by 1/sqrt(E sigma(z)^2), because the "
    "loss margin and beta are in units of unit-variance stabilities (a positive scale "
    "changes neither the solutions nor the errors); fbp and sa get them as they are, and "
    "fbp is refused for relu (features with a mean: its messages collapse onto it). "
    "test_error (= gen_error) is measured on fresh examples of the same instance and the "
    "same feature model; get_gen_error is the Gaussian-equivalence formula "
    "arccos(mu1 m/sqrt(mu1^2 r + mu_*^2))/pi of each W; local_energy is the training-error "
    "increase when a fraction d of the weights is flipped (large-N formula). amp does not "
    "apply (its teacher acts on the inputs).")


def add_train_arguments(train) -> None:
    """The random-features options of ``sim train`` (ignored by, and refused for, the
    other tasks)."""
    train.add_argument("--alpha-d", type=positive, default=None,
                       help="random-features only (required there): " + _ALPHA_D_HELP
                       + "; D = round(P/alpha_D) latent dimensions")
    train.add_argument("--sigma", choices=_SIGMAS, default=None,
                       help="random-features only: " + _SIGMA_HELP)
    train.add_argument("--features", choices=("exact", "gaussian"), default=None,
                       help="random-features only: exact features sigma(F c/sqrt D) (default) "
                       "or the Gaussian-equivalent surrogate (train and test alike)")
    train.add_argument("--test-examples", type=at_least(1), default=None,
                       help="random-features only: fresh examples for the test error "
                       "(default 10000)")
    train.epilog = RF_TRAIN_EPILOG


_RF_ONLY = ("alpha_d", "sigma", "features", "test_examples")


def reject_rf_arguments(args: argparse.Namespace) -> None:
    """CLIError if a random-features option was given to another task."""
    given = [name for name in _RF_ONLY if getattr(args, name, None) is not None]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise CLIError(f"{flags}: only for --task random-features (task is {args.task})")


def train_random_features(args: argparse.Namespace) -> None:
    """``sim train --task random-features``: R runs of ALGO on one instance (vmapped), with
    training, test and Gaussian-equivalence errors and the local energy of each."""
    import time

    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    from atypical import RandomFeatures
    from sim.measure import mean_sem
    from sim.random_features import sample_random_features, sample_rf_test_set
    from sim.rf_sweep import (DEFAULT_D, RF_ALGORITHMS, check_rf_algorithm, feature_scale,
                              measure_rf_runs, training_dataset)
    from sim.run import run_algorithm

    if args.algo not in RF_ALGORITHMS:
        raise CLIError(f"--algo {args.algo}: not for --task random-features (choose from "
                       f"{', '.join(RF_ALGORITHMS)}); amp is the Bayes-optimal algorithm of "
                       "the teacher-student perceptron whose teacher acts on the inputs")
    if args.alpha_d is None:
        raise CLIError("--alpha-d: required for --task random-features (alpha_D = P/D)")
    if args.n < 2:
        raise CLIError(f"--n {args.n}: N must be >= 2")
    P_test = 10_000 if args.test_examples is None else args.test_examples
    P = args.alpha * args.n  # float: no overflow in the estimate
    D = max(1.0, P / args.alpha_d)
    check_memory(training_bytes(args.algo, args.n, P, args.replicas)
                 + 4.0 * (args.n * D + (P + P_test) * (D + args.n)),
                 f"--n {args.n} --alpha {args.alpha} --alpha-d {args.alpha_d} --replicas "
                 f"{args.replicas} --test-examples {P_test}")
    sigma = args.sigma or "sign"
    surrogate = (args.features or "exact") == "gaussian"
    try:
        config = train_config(args)
        problem = RandomFeatures(args.alpha, args.alpha_d, sigma=sigma)
        check_rf_algorithm(args.algo, "sim train", problem)
        k_data, k_train = jr.split(jr.key(args.seed))
        k_inst, k_test = jr.split(k_data)
        data = sample_random_features(k_inst, problem, args.n, surrogate=surrogate,
                                      dtype=config.dtype)
        test = sample_rf_test_set(k_test, data, problem, P_test, surrogate=surrogate)
    except ValueError as err:
        raise CLIError(str(err)) from None

    start = time.perf_counter()
    W, _ = jax.block_until_ready(run_algorithm(
        args.algo, jr.split(k_train, args.replicas), training_dataset(data, problem, args.algo),
        config, instances=False))
    seconds = time.perf_counter() - start
    d = jnp.asarray(DEFAULT_D, config.dtype)
    runs = measure_rf_runs(W, data, test, problem, d, instances=False)

    P, N = data.xi.shape
    D = data.F.shape[1]
    out = {"task": "random-features", "algo": args.algo, "n": N, "alpha": args.alpha,
           "alpha_d": args.alpha_d, "P": P, "D": D, "n_over_d": N / D, "sigma": sigma,
           "features": "gaussian" if surrogate else "exact",
           "feature_scale": feature_scale(problem, args.algo), "replicas": args.replicas,
           "seed": args.seed, "test_examples": P_test}
    for name, values in (("train_error", runs.train_error), ("test_error", runs.test_error),
                         ("gen_error", runs.test_error), ("get_gen_error", runs.get_error)):
        add_stats(out, name, *mean_sem(values), values=values)
    out.update(solved=runs.solved, solved_fraction=float(np.mean(np.asarray(runs.solved))),
               d=d, local_energy=runs.local_energy, seconds=seconds)
    emit(out, args.json)


def _rf(args: argparse.Namespace) -> None:
    """RS saddle point of a binary student W on features x = sigma(F c/sqrt D) of a hidden teacher y
    = sign(w_T.c/sqrt D). entropy = ln(#solutions)/N; q = W.W'/N; r, m: self- and teacher overlap
    of the projections F^T W/sqrt N (per latent dimension); gen_error = Gibbs test error;
    vote_gen_error = error of the majority vote of all solutions (the Bayes prediction of the
    student model); bayes_gen_error = Bayes-optimal error of a learner that sees the latents c (a
    lower bound for every student)."""
    from atypical import RandomFeatures

    from theory.models.bayes_optimal import bayes_optimal_error
    from theory.models.random_features import gen_error_rf, solve_rf, vote_gen_error_rf

    sol = solve_rf(args.alpha, args.alpha_d, args.kappa, sigma=args.sigma)
    op = sol.order_params
    problem = RandomFeatures(args.alpha, args.alpha_d, args.kappa, sigma=args.sigma)
    entropy = float(sol.free_entropy[0])
    emit({"entropy": entropy,
          "regime": "below_interpolation" if entropy >= 0 else "above_interpolation",
          "gen_error": float(gen_error_rf(op, problem)[0]),
          "vote_gen_error": float(vote_gen_error_rf(op, problem)[0]),
          "bayes_gen_error": float(bayes_optimal_error(args.alpha_d)),
          "q": float(op.q[0]), "r": float(op.r[0]), "m": float(op.m[0]),
          "converged": bool(sol.converged[0])}, args.json)


def _interpolation(args: argparse.Namespace) -> None:
    """alpha_c = P/N where the RS entropy of zero-training-error students vanishes at fixed alpha_D
    (interpolation point), and N/D = alpha_D/alpha_c. alpha_D -> 0 gives Krauth-Mezard 0.833."""
    from theory.models.random_features import rf_interpolation_threshold

    result = rf_interpolation_threshold(args.alpha_d, sigma=args.sigma)
    emit({"alpha_c": float(result.alpha), "n_over_d": float(result.n_over_d)}, args.json)


def _atypical(args: argparse.Namespace) -> None:
    """alpha = P/N (and N/D = alpha_D/alpha) at fixed alpha_D below which (N/D above which) zero-
    training-error students form wide, dense regions. --method franz-parisi: the RS Franz-Parisi
    local entropy S(d) around references at the RF maximal margin kappa_max(alpha, alpha_D)
    develops a dip at small d. --method large-deviation: the y -> infinity large-deviation local
    entropy (the densest references) stops reaching small d monotonically (it folds). Compare
    with rf-interpolation. Slow: minutes."""
    from theory.local_entropy.rf_franz_parisi import rf_atypical_threshold
    from theory.local_entropy.rf_large_deviation_limit import rf_large_deviation_threshold

    try:
        if args.method == "large-deviation":
            result = rf_large_deviation_threshold(args.alpha_d, sigma=args.sigma)
            method = "large-deviation-y-infinity"
        else:
            result = rf_atypical_threshold(args.alpha_d, sigma=args.sigma, progress=True)
            method = "franz-parisi-monotonicity"
    except ValueError as err:
        raise CLIError(str(err)) from None
    emit({"alpha": float(result.alpha), "n_over_d": float(result.n_over_d), "method": method},
         args.json)

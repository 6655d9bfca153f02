"""``atypical theory dmft`` and ``atypical sim two-layer``: two-layer gradient flow [P3].

Both take the same problem flags (kernel preset, m, alpha = n/(m d), tau, a0) and print
``{"t", "train_error", "test_error", "a", "v"}`` (sim: means over seeds, plus ``*_sem`` for
two seeds or more);
a and v are averaged over the hidden units (equal for the symmetric initial data built here).
"""

import argparse

from ._common import (CLIError, add_command, add_seed, at_least, check_memory, emit, finite,
                      nonnegative, positive)

_KERNEL_HELP = ("activation kernel h(q) = sum_k c_k^2 q^k: cubic = 0.9q + q^3/6, quad = 0.9q + "
                "q^2/2, quad3 = 0.3q + q^2/2, quad_small = 0.1q + q^2/2, linear = q")
_KERNELS = ("cubic", "quad", "quad_small", "quad3", "linear")


def _add_problem_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernel", choices=_KERNELS, default="cubic", help=_KERNEL_HELP)
    p.add_argument("--m", type=at_least(1), default=4, help="hidden units m (>= 1)")
    p.add_argument("--alpha", type=positive, default=0.3,
                   help="overparametrisation ratio alpha = n/(m d) (> 0); n/d = alpha m")
    p.add_argument("--tau", type=nonnegative, default=0.3, help="label-noise std tau (>= 0)")
    p.add_argument("--a0", type=finite, default=1.0,
                   help="initial second layer a_i(0) (mean field: O(1); lazy: gamma0 sqrt(m))")
    p.add_argument("--target", choices=("teacher", "noise"), default="teacher",
                   help="teacher: y = sigma(<u,x>) + noise (phi = sigma); noise: pure noise")
    p.add_argument("--fixed-a", action="store_true", help="freeze the second layer")
    p.add_argument("--t-max", type=positive, default=5.0, help="final time (rescaled by n/d)")
    p.add_argument("--dt", type=positive, default=0.05, help="time step")


def _steps(args) -> float:
    """t_max/dt, the number of time steps (checked: dt <= t_max)."""
    if not args.t_max >= args.dt:
        raise CLIError(f"--dt {args.dt} --t-max {args.t_max}: need 0 < dt <= t-max")
    return args.t_max / args.dt


def _problem(args):
    from atypical.problems import two_layer_preset

    _steps(args)
    return two_layer_preset(args.kernel, m=args.m, alpha=args.alpha, tau=args.tau, a0=args.a0,
                            teacher=args.target == "teacher",
                            train_second_layer=not args.fixed_a)


def _theory_handler(args) -> None:
    """Solve the DMFT of f(x) = (1/m) sum_i a_i sigma(<w_i,x>), ||w_i|| = 1, trained by gradient
    flow on n = alpha m d samples (time rescaled by n/d), in the Gaussian model; prints
    train/test error, a and the teacher overlap v on the time grid."""
    import numpy as np

    from theory.dynamics.dmft import DMFTBlowUpError, solve_dmft

    steps = _steps(args)
    if args.steps_limit and steps > args.steps_limit + 0.5:
        raise CLIError(f"--t-max/--dt = {steps:.6g} steps exceeds --steps-limit "
                       f"{args.steps_limit} (O(N^3) work); raise it explicitly")
    units = 1 if args.symmetric else args.m
    check_memory(8.0 * 8 * (steps + 2) * (steps + 2) * units * units,
                 f"--t-max {args.t_max} --dt {args.dt} --m {args.m}"
                 + (" --symmetric" if args.symmetric else ""))
    problem = _problem(args)
    try:
        sol = solve_dmft(problem, t_max=args.t_max, dt=args.dt, scheme=args.scheme,
                         symmetric=args.symmetric, cache=args.cache)
    except DMFTBlowUpError as err:
        raise CLIError(f"--dt {args.dt}: {err}") from None
    emit({"t": np.asarray(sol.t), "train_error": np.asarray(sol.train_error),
          "test_error": np.asarray(sol.test_error),
          "a": np.asarray(sol.a).mean(axis=-1), "v": np.asarray(sol.v).mean(axis=-1)},
         args.json)


def _sim_handler(args) -> None:
    """Train the real network or its Gaussian surrogate by projected GD on n = round(alpha m d)
    samples, several seeds vmapped; prints means and standard errors over seeds."""
    import jax.random as jr
    import numpy as np

    from sim.two_layer import mean_sem, train_two_layer

    if args.d <= args.m:
        raise CLIError(f"--d {args.d}: the input dimension must exceed m = {args.m}")
    steps = _steps(args)
    n = args.alpha * args.m * args.d
    per_seed = n * args.d * (args.d if args.model == "gaussian" else 1) ** 2
    batch = min(args.seeds, 4) if args.model == "gaussian" else args.seeds
    record = steps / args.record_every * (args.m + 2) * args.seeds
    check_memory(4.0 * (3 * batch * per_seed + record),
                 f"--alpha {args.alpha} --m {args.m} --d {args.d} --seeds {args.seeds} "
                 f"--t-max/--dt {steps:.6g} --model {args.model}")
    problem = _problem(args)
    try:
        traj = train_two_layer(jr.key(args.seed), problem, model=args.model, d=args.d,
                               t_max=args.t_max, dt=args.dt, n_seeds=args.seeds,
                               init=args.init, record_every=args.record_every)
    except ValueError as err:
        raise CLIError(str(err)) from None
    if not all(np.isfinite(np.asarray(x)).all() for x in (traj.train_error, traj.a, traj.v)):
        raise CLIError(f"--dt {args.dt} --a0 {args.a0}: gradient descent diverged (non-finite "
                       "errors or weights); lower --dt or |a0|")
    out = {"t": np.asarray(traj.t)}
    for name, x in (("train_error", traj.train_error), ("test_error", traj.test_error),
                    ("a", traj.a.mean(axis=-1)), ("v", traj.v.mean(axis=-1))):
        mean, sem = mean_sem(x)
        out[name] = np.asarray(mean)
        if args.seeds > 1:  # the standard error of one seed is undefined: left out
            out[name + "_sem"] = np.asarray(sem)
    out["n"], out["d"], out["seeds"] = traj.n, traj.d, args.seeds
    emit(out, args.json)


def register_theory(subparsers) -> None:
    p = add_command(subparsers, "dmft", _theory_handler,
                    "Gaussian-model DMFT of two-layer gradient flow [P3]")
    _add_problem_args(p)
    p.add_argument("--symmetric", action="store_true",
                   help="permutation-symmetric solver (O(N^3), no m^3 factor)")
    p.add_argument("--scheme", choices=("heun", "euler", "exp"), default="heun",
                   help="heun: trapezoid, second order in dt; euler: first order; exp: "
                        "heun's quadrature with the local linear force (Lagrange multiplier "
                        "+ total memory weight) exponentiated, second order, about twice "
                        "heun's largest stable dt when a is large (lazy init, long times)")
    p.add_argument("--cache", default=None, help=".npz file: save the state and resume")
    p.add_argument("--steps-limit", type=at_least(0), default=20000,
                   help="refuse more than this many steps (0: no limit)")


def register_sim(subparsers) -> None:
    p = add_command(subparsers, "two-layer", _sim_handler,
                    "projected full-batch GD of two-layer networks [P3]")
    _add_problem_args(p)
    p.add_argument("--model", choices=("network", "gaussian"), default="network",
                   help="network: real sigma; gaussian: random tensors of degree <= 3")
    p.add_argument("--d", type=at_least(2), default=200, help="input dimension d")
    p.add_argument("--seeds", type=at_least(1), default=8, help="independent runs")
    add_seed(p, "master PRNG seed")
    p.add_argument("--init", choices=("orthogonal", "uniform"), default="orthogonal",
                   help="orthogonal: orthonormal rows orthogonal to u; uniform: iid sphere")
    p.add_argument("--record-every", type=at_least(1), default=1,
                   help="record every k GD steps")

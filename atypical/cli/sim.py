"""``atypical sim ...``: finite-N data, exact enumeration and training."""

import argparse

from ._common import (CLIError, add_command, add_committee, add_n, add_seed, add_stats, add_task,
                      at_least, check_memory, emit, finite, float_list, positive, positive_list,
                      train_config, training_bytes)
from .random_features import add_train_arguments as _add_rf_train_arguments

ALGOS = ("sgd", "rsgd", "fbp", "amp", "sa")
_ALGO_HELP = ("sgd: BinaryConnect SGD (sim/sgd.py); rsgd: replicated SGD, y coupled replicas "
              "(sim/rsgd.py); fbp: focusing belief propagation (sim/fbp.py); amp: Bayes-optimal "
              "AMP, teacher-student only (sim/amp.py); sa: simulated annealing on the number "
              "of violated constraints (sim/anneal.py, small N)")

_TASKS = ("storage", "teacher-student")
_TASK_HELP = ("storage: random labels y = +-1 (binary perceptron capacity problem); "
              "teacher-student: labels y = sign(W_T.xi/sqrt N) of a random binary teacher W_T")
_ALPHA_HELP = "alpha = P/N, examples per weight (> 0); P = round(alpha*N)"
_K_HELP = ("K, hidden units of a binary committee machine, odd (default 1: the perceptron). "
           "The network is sign(sum_k sign(W_k.x_k/sqrt(N_k))); the labels of "
           "teacher-student come from a random binary committee of the same architecture. "
           "K > 1 is trained by sgd and rsgd (least-action learning: the gradient goes "
           "through the (K+1)/2 hidden units with the largest stabilities) and by fbp "
           "(BP messages through the majority vote of the hidden units)")
_ARCH_HELP = ("committee architecture: tree = each hidden unit sees its own N/K inputs "
              "(N divisible by K, N weights in all); fc = fully connected, every unit sees "
              "all N inputs (K*N weights, so the load per weight is alpha/K). Default tree")


def register(subparsers) -> None:
    enum = add_command(subparsers, "enumerate", _enumerate,
                       "exact enumeration of all 2^N binary weight vectors (N <= 25)")
    add_task(enum, _TASK_HELP)
    add_n(enum, "N, number of binary weights (1 <= N <= 25: 2^N configurations)")
    enum.add_argument("--alpha", type=positive, required=True, help=_ALPHA_HELP)
    enum.add_argument("--kappa", type=finite, default=0.0,
                      help="margin kappa: a solution has every Delta_mu >= kappa (default 0)")
    enum.add_argument("--instances", type=at_least(1), default=10,
                      help="independent data sets (disorder samples) to enumerate (default 10)")
    add_seed(enum, "random seed of the data (default 0)")

    train = add_command(subparsers, "train", _train,
                        "train independent binary students (vectorized replicas)")
    train.add_argument("--task", choices=(*_TASKS, "random-features"), default="storage",
                       help=_TASK_HELP + "; random-features: see below")
    train.add_argument("--algo", choices=ALGOS, default="sgd", help=_ALGO_HELP)
    add_n(train)
    train.add_argument("--alpha", type=positive, required=True, help=_ALPHA_HELP)
    add_committee(train, _K_HELP, _ARCH_HELP)
    _add_replicas(train, "R, independent students (seeds) trained together (default 16)")
    add_seed(train, "seed: the data use one half of its key, the replicas the other")
    train.add_argument("--epochs", type=at_least(1), default=None,
                       help="passes over the data (sgd, rsgd; default: SGDConfig's)")
    train.add_argument("--batch-size", type=at_least(1), default=None,
                       help="examples per SGD step (sgd, rsgd; default: SGDConfig's)")
    train.add_argument("--lr", type=positive, default=None,
                       help="learning rate (sgd, rsgd; default: SGDConfig's)")
    train.add_argument("--beta", type=positive, default=None,
                       help="inverse temperature of the loss (sgd, rsgd; default: SGDConfig's)")
    train.add_argument("--margin", type=finite, default=None,
                       help="absolute loss margin m on the stabilities, the same at every N "
                            "(sgd, rsgd; default: SGDConfig's m = c/sqrt(N), c = 0.03 "
                            "sqrt(1001) = 0.949: 0.03 at N = 1001, 0.0212 at N = 2001; "
                            "committees: N the inputs of one hidden unit)")
    _add_rf_train_arguments(train)  # --alpha-d, --sigma, --features, --test-examples

    local = add_command(subparsers, "local-entropy", _local_entropy,
                        "local entropy S(d) around a solution found by an algorithm")
    add_task(local, _TASK_HELP, choices=("storage",))
    local.add_argument("--algo", choices=("sgd", "rsgd", "fbp", "sa"), default="sa",
                       help=_ALGO_HELP)
    add_n(local, "N, number of binary weights (>= 2)", low=2)
    local.add_argument("--alpha", type=positive, required=True, help=_ALPHA_HELP)
    local.add_argument("--d", type=float_list, default=[0.01, 0.02, 0.05, 0.1, 0.2],
                       help="Hamming fractions d in (0, 1/2]: A, A,B,C or start:stop:num")
    add_seed(local, "seed of the data and algorithm")
    local.add_argument("--exact", action="store_true",
                       help="exact enumeration instead of BP (N <= 25)")

    thr = add_command(subparsers, "threshold", _threshold,
                      "success probability of an algorithm versus alpha")
    add_task(thr, _TASK_HELP + " (amp: teacher-student only)")
    thr.add_argument("--algo", choices=ALGOS, default="sgd", help=_ALGO_HELP)
    add_n(thr)
    thr.add_argument("--alpha", type=positive_list, required=True,
                     help="alpha values: A, A,B,C or start:stop:num (inclusive)")
    add_committee(thr, _K_HELP, _ARCH_HELP)
    _add_replicas(thr, "R, independent instances per alpha (default 16)")
    add_seed(thr, "seed (default 0)")
    _register_width_sweep(subparsers)


def _add_replicas(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--replicas", type=at_least(1), default=16, help=help_text)


def _problem(task: str, alpha: float, kappa: float = 0.0):
    """The problem spec (its own checks end in one line through the CLI's main)."""
    from atypical.problems import BinaryStorage, TeacherStudent

    return (BinaryStorage if task == "storage" else TeacherStudent)(alpha, kappa)


def _check_training_memory(args: argparse.Namespace, algo: str, *, instances: bool,
                           test_examples: int = 0) -> None:
    """``check_memory`` of R runs of ``algo`` at the command's N, alpha, K and arch."""
    P = args.alpha * args.n  # float: no overflow in the estimate
    k, arch = getattr(args, "k", 1), getattr(args, "arch", "tree")
    nbytes = training_bytes(algo, args.n, P, args.replicas, instances=instances,
                            n_weights=args.n * (k if arch == "fc" else 1))
    check_memory(nbytes + 4.0 * test_examples * args.n,
                 f"--n {args.n} --alpha {args.alpha} --replicas {args.replicas} --algo {algo}")


def _enumerate(args: argparse.Namespace) -> None:
    """Count, instance by instance, the binary weights W in {-1,+1}^N whose stabilities Delta_mu =
    y_mu W.xi_mu/sqrt(N) are all >= kappa, on Gaussian examples xi ~ N(0, I_N). Reports the
    fraction of satisfiable instances, the entropy ln(#solutions)/N (nats per weight) averaged
    over satisfiable instances with its standard error and, for teacher-student, the Gibbs
    generalization error <arccos(W.W_T/N)/pi> over solutions."""
    import jax.random as jr

    from sim.enumerate import N_MAX, enumerate_instances

    if not 1 <= args.n <= N_MAX:
        raise CLIError(f"--n {args.n}: N must lie in [1, {N_MAX}] (2^N configurations)")
    P = args.alpha * args.n  # float: no overflow in the estimate
    half = 2 ** (args.n - args.n // 2) + 2 ** (args.n // 2) + 2**16
    check_memory(4.0 * (args.instances * P * args.n + 2 * half * P),
                 f"--n {args.n} --alpha {args.alpha} --instances {args.instances}")
    problem = _problem(args.task, args.alpha, args.kappa)
    try:
        result = enumerate_instances(jr.key(args.seed), problem, args.n, args.instances)
    except ValueError as err:
        raise CLIError(str(err)) from None
    mean, sem, n_sat = result.entropy_stats
    out = {"task": args.task, "n": args.n, "alpha": args.alpha, "kappa": args.kappa,
           "P": result.P, "instances": args.instances, "seed": args.seed,
           "sat_fraction": result.sat_fraction, "n_sat": n_sat, "counts": result.counts}
    add_stats(out, "entropy", mean, sem, n_sat)
    if args.task == "teacher-student":
        g_mean, g_sem, _ = result.gibbs_gen_error_stats
        if n_sat >= 1:
            out["gibbs_gen_error"] = g_mean
        if n_sat >= 2:
            out["sem_gibbs_gen_error"] = g_sem
    emit(out, args.json)


_P_TEST = 10_000  # test examples for a committee's generalization error (sem <= 0.005)


def _check_committee(args: argparse.Namespace) -> None:
    from sim.run import COMMITTEE_ALGORITHMS

    if args.k < 1 or args.k % 2 == 0:
        raise CLIError(f"--k {args.k}: the number of hidden units K must be odd and >= 1 "
                       "(the committee's majority vote must not tie)")
    if args.arch == "tree" and args.n % args.k != 0:
        raise CLIError(f"--n {args.n} --k {args.k} --arch tree: each hidden unit sees N/K "
                       "inputs, so N must be divisible by K")
    if (args.k, args.arch) != (1, "tree") and args.algo not in COMMITTEE_ALGORITHMS:
        raise CLIError(f"--algo {args.algo}: trains the binary perceptron only (K = 1, tree); "
                       f"committee machines are trained by {', '.join(COMMITTEE_ALGORITHMS)}")


def _committee_gen_errors(W, data, key):
    """Test-set generalization errors of the committees W (R Nw) and their sems."""
    import jax

    from sim.committee import committee_error
    from sim.data import sample_test_set

    test = sample_test_set(key, data.W_T, _P_TEST, K=data.K, arch=data.arch,
                           dtype=data.xi.dtype)
    return jax.vmap(committee_error, in_axes=(0, None, None, None, None))(
        W, test.xi, test.y, data.K, data.arch)


def _committee_info(args: argparse.Namespace, data) -> dict:
    from sim.committee import n_weights

    if data.is_perceptron:
        return {}
    out = {"k": data.K, "arch": data.arch,
           "n_weights": n_weights(args.n, data.K, data.arch)}
    if args.task == "teacher-student":
        out["gen_error_method"] = f"test set of {_P_TEST} fresh examples"
    return out


def _run_on_one(args, algo, problem, config, k_data, k_train):
    """R runs on one data set (R instances for amp). Returns (data, W, solved, extra)."""
    from sim.run import run_algorithm

    import jax.random as jr

    from sim.data import sample_storage, sample_teacher_student
    from sim.enumerate import sample_instances

    sample = sample_storage if args.task == "storage" else sample_teacher_student
    committee = {"K": getattr(args, "k", 1), "arch": getattr(args, "arch", "tree")}
    if algo == "amp":
        data = sample_instances(k_data, problem, args.n, args.replicas, dtype=config.dtype)
        W, solved = run_algorithm(algo, None, data, config, instances=True)
        return data, W, solved, {"replicas_are": "instances (amp is deterministic)"}
    data = sample(k_data, problem, args.n, dtype=config.dtype, **committee)
    W, solved = run_algorithm(algo, jr.split(k_train, args.replicas), data, config,
                              instances=False)
    return data, W, solved, {}


def _train_other(args: argparse.Namespace, config) -> None:
    import time

    import jax
    import jax.random as jr
    import numpy as np

    from sim.measure import gen_error, mean_sem, training_error

    problem = _problem(args.task, args.alpha)
    k_data, k_train = jr.split(jr.key(args.seed))
    try:
        start = time.perf_counter()
        data, W, solved, extra = _run_on_one(args, args.algo, problem, config, k_data,
                                             k_train)
        W, solved = jax.block_until_ready((W, solved))
        seconds = time.perf_counter() - start
    except ValueError as err:
        raise CLIError(str(err)) from None
    if args.algo == "amp":
        errs = jax.vmap(training_error)(W, data)
        W_T = data.W_T
        eps = jax.vmap(gen_error)(W, W_T) if W_T is not None else None
    elif not data.is_perceptron:
        from sim.committee import committee_error

        errs = jax.vmap(committee_error, in_axes=(0, None, None, None, None))(
            W, data.xi, data.y, data.K, data.arch)
        eps = (_committee_gen_errors(W, data, jr.fold_in(k_data, 1))
               if data.W_T is not None else None)
    else:
        errs = jax.vmap(training_error, in_axes=(0, None))(W, data)
        eps = (jax.vmap(gen_error, in_axes=(0, None))(W, data.W_T)
               if data.W_T is not None else None)
    out = {"task": args.task, "algo": args.algo, "n": args.n, "alpha": args.alpha,
           "P": int(data.xi.shape[-2]), "replicas": args.replicas, "seed": args.seed, **extra,
           **_committee_info(args, data),
           "solved": solved, "solved_fraction": float(np.mean(np.asarray(solved)))}
    add_stats(out, "train_error", *mean_sem(errs), values=errs)
    if eps is not None:
        add_stats(out, "gen_error", *mean_sem(eps), values=eps)
    out.update(seconds=seconds)
    emit(out, args.json)


def _local_entropy(args: argparse.Namespace) -> None:
    """Find a solution W* of a storage instance with ALGO, then estimate the local entropy S(d) =
    (1/N) ln #{solutions at Hamming fraction d from W*} by belief propagation with an external
    field lambda towards W* (Legendre transform S = phi(lambda) - lambda q), or count it exactly
    (--exact, N <= 25: d = k/N and the Legendre-smoothed exact curve)."""
    from sim.run import default_config

    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    from sim.bp_local_entropy import (exact_legendre, exact_local_entropy,
                                      local_entropy_at, local_entropy_bp)
    from sim.enumerate import N_MAX

    if args.exact and not 1 <= args.n <= N_MAX:
        raise CLIError(f"--n {args.n}: --exact needs N in [1, {N_MAX}] (2^N configurations)")
    d = np.asarray(args.d, np.float64)
    if np.any((d <= 0) | (d > 0.5)):
        raise CLIError(f"--d {args.d}: every d must lie in (0, 1/2]")
    args.replicas, args.task = 8, "storage"
    P = args.alpha * args.n  # float: no overflow in the estimate
    _check_training_memory(args, args.algo, instances=False,
                           test_examples=0 if args.exact else 81 * 8 * P)
    problem = _problem("storage", args.alpha)
    k_data, k_train = jr.split(jr.key(args.seed))
    config = default_config(args.algo)
    try:
        data, W, solved, _ = _run_on_one(args, args.algo, problem, config, k_data, k_train)
    except ValueError as err:
        raise CLIError(str(err)) from None
    solved = np.asarray(solved)
    if not solved.any():
        raise CLIError(f"--algo {args.algo} found no solution at alpha={args.alpha}, "
                       f"N={args.n} in 8 runs; lower alpha")
    W_ref = W[int(np.argmax(solved))].astype(jnp.float64)
    data64 = type(data)(xi=data.xi.astype(jnp.float64), y=data.y.astype(jnp.float64))
    out = {"task": "storage", "algo": args.algo, "n": args.n, "alpha": args.alpha,
           "seed": args.seed, "method": "exact" if args.exact else "bp"}
    if args.exact:
        d_k, s_k = exact_local_entropy(data64, W_ref)
        lam = np.linspace(0.0, 8.0, 161)
        _, q, s_lam = exact_legendre(d_k, s_k, lam, args.n)
        d_lam = (1 - q) / 2
        order = np.argsort(d_lam)
        _check_reached(d, d_lam, "the exact Legendre curve")
        smooth = np.interp(d, d_lam[order], s_lam[order])
        out.update(d=d, local_entropy=smooth, d_counts=d_k, local_entropy_counts=s_k)
    else:
        bp = local_entropy_bp(data64, W_ref, jnp.linspace(0.0, 8.0, 81))
        _check_reached(d, np.asarray(bp.d), "the BP curve")
        out.update(d=d, local_entropy=local_entropy_at(bp, d),
                   bp_max_residual=float(np.max(np.asarray(bp.residual))))
    emit(out, args.json)


def _check_reached(d, d_curve, what: str) -> None:
    """CLIError naming the requested distances outside those the curve (external field
    lambda in [0, 8]) reached around the solution found."""
    import numpy as np

    lo, hi = float(np.nanmin(d_curve)), float(np.nanmax(d_curve))
    outside = [float(v) for v in d if not lo <= v <= hi]
    if outside:
        raise CLIError(f"--d {outside}: outside the distances {what} reaches around the "
                       f"solution found, [{lo:.4g}, {hi:.4g}] (external field lambda in "
                       "[0, 8]; lambda = 0 gives the typical distance, the largest)")


def _threshold(args: argparse.Namespace) -> None:
    """For each alpha, run ALGO on R independent instances (data and algorithm seeds) in one
    vectorized program and report the fraction that reach zero training error (storage; teacher-
    student for amp), with its standard error sqrt(p(1-p)/R). The algorithmic threshold is where
    it drops."""
    from sim.run import check_supports, default_config, run_algorithm

    import time

    import jax
    import jax.random as jr
    import numpy as np

    from sim.enumerate import sample_instances

    if args.algo == "amp" and "task" in args.given and args.task != "teacher-student":
        raise CLIError(f"--task {args.task}: --algo amp runs teacher-student instances only")
    task = "teacher-student" if args.algo == "amp" else args.task
    try:
        check_supports(args.algo, args.k, args.arch)
    except ValueError as err:
        raise CLIError(f"--algo {args.algo} --k {args.k} --arch {args.arch}: {err}") from None
    for alpha in args.alpha:
        _check_training_memory(argparse.Namespace(**{**vars(args), "alpha": alpha}),
                               args.algo, instances=True)
    config = default_config(args.algo)
    rows = []
    for i, alpha in enumerate(args.alpha):
        problem = _problem(task, alpha)
        k_data, k_run = jr.split(jr.fold_in(jr.key(args.seed), i))
        start = time.perf_counter()
        try:
            data = sample_instances(k_data, problem, args.n, args.replicas, K=args.k,
                                    arch=args.arch, dtype=config.dtype)
            _, solved = jax.block_until_ready(run_algorithm(
                args.algo, jr.split(k_run, args.replicas), data, config, instances=True))
        except ValueError as err:
            raise CLIError(str(err)) from None
        p = float(np.mean(np.asarray(solved)))
        rows.append({"alpha": alpha, "success_probability": p,
                     "sem": float(np.sqrt(p * (1 - p) / args.replicas)),
                     "n_solved": int(np.sum(np.asarray(solved))),
                     "seconds": time.perf_counter() - start})
    emit({"task": task, "algo": args.algo, "n": args.n, "k": args.k, "arch": args.arch,
          "replicas": args.replicas,
          "seed": args.seed, "alpha": [r["alpha"] for r in rows],
          "success_probability": [r["success_probability"] for r in rows],
          "sem": [r["sem"] for r in rows], "n_solved": [r["n_solved"] for r in rows],
          "seconds": [r["seconds"] for r in rows]}, args.json)


def _train(args: argparse.Namespace) -> None:
    """Train R independent binary perceptrons W = sign(h) on one data set with BinaryConnect-style
    SGD (latent weights h, straight-through gradient, loss softplus(-beta (Delta -
    margin))/beta), all replicas in one compiled program; with --k K > 1, binary committee
    machines of K hidden units (--arch tree or fc). Reports per replica the final training error,
    whether it reached zero training error ('solved'), for teacher-student the generalization
    error (perceptron: arccos(W.W_T/N)/pi; committee: the error on a fresh test set of P_test
    examples), and the wall time of the compiled training."""
    from .random_features import reject_rf_arguments, train_random_features

    if args.task == "random-features":
        if (args.k, args.arch) != (1, "tree"):
            raise CLIError("--k/--arch: committee machines are trained on storage and "
                           "teacher-student data; random-features trains a perceptron")
        return train_random_features(args)
    reject_rf_arguments(args)
    import time

    import jax
    import jax.random as jr
    import numpy as np

    from sim.data import sample_storage, sample_teacher_student
    from sim.measure import gen_error, mean_sem
    from sim.sgd import train_replicas

    _check_committee(args)
    if args.algo == "amp" and args.task != "teacher-student":
        raise CLIError("--algo amp: AMP is the Bayes-optimal teacher-student algorithm; "
                       "use --task teacher-student")
    committee_test = args.task == "teacher-student" and (args.k, args.arch) != (1, "tree")
    _check_training_memory(args, args.algo, instances=args.algo == "amp",
                           test_examples=_P_TEST if committee_test else 0)
    try:
        config = train_config(args)
    except ValueError as err:
        raise CLIError(str(err)) from None
    if args.algo != "sgd":
        return _train_other(args, config)
    problem = _problem(args.task, args.alpha)
    try:
        k_data, k_train = jr.split(jr.key(args.seed))
        sample = sample_storage if args.task == "storage" else sample_teacher_student
        data = sample(k_data, problem, args.n, K=args.k, arch=args.arch, dtype=config.dtype)
    except ValueError as err:
        raise CLIError(str(err)) from None

    start = time.perf_counter()
    compiled = train_replicas.lower(k_train, data, config, args.replicas).compile()
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = jax.block_until_ready(compiled(k_train, data, config, args.replicas))
    seconds = time.perf_counter() - start

    final = result.train_errors[:, -1]
    out = {"task": args.task, "algo": args.algo, "n": args.n, "alpha": args.alpha,
           "P": int(data.xi.shape[0]), "replicas": args.replicas, "seed": args.seed,
           **_committee_info(args, data), "epochs": config.epochs,
           "solved": result.solved, "solved_fraction": float(np.mean(result.solved)),
           "epochs_to_solution": result.epochs_to_solution}
    if args.task == "teacher-student":
        eps = (jax.vmap(gen_error, in_axes=(0, None))(result.W, data.W_T) if data.is_perceptron
               else _committee_gen_errors(result.W, data, jr.fold_in(k_data, 1)))
        add_stats(out, "gen_error", *mean_sem(eps), values=eps)
    add_stats(out, "train_error", *mean_sem(final), values=final)
    out.update(seconds=seconds, compile_seconds=compile_seconds)
    emit(out, args.json)


_LR_DEFAULT = {"sgd": 0.5, "adam": 0.01}  # per optax optimizer; set by a few trials on digits


def _register_width_sweep(subparsers) -> None:
    ws = add_command(subparsers, "width-sweep", _width_sweep,
                     "realistic networks of growing width on real data [P1]")
    ws.add_argument("--data", choices=("digits", "mnist1d"), default="digits",
                    help="digits: scikit-learn's 8x8 digits (1,797, shipped in the package); "
                         "mnist1d: MNIST-1D signals of length 40 (5,000, generated locally "
                         "by the mnist1d package, no download)")
    ws.add_argument("--task", choices=("parity", "digits10"), default="digits10",
                    help="parity: even/odd digit, one output; digits10: ten classes")
    ws.add_argument("--arch", choices=("mlp", "mlp2", "cnn"), default="mlp",
                    help="mlp: one hidden ReLU layer of WIDTH units; mlp2: two; cnn: two "
                         "3-wide convolutions of WIDTH channels, mean pool, readout")
    ws.add_argument("--widths", type=float_list, required=True,
                    help="widths (hidden units or channels, ints >= 1): A,B,C")
    ws.add_argument("--algo", choices=("sgd", "rsgd", "entropy-sgd"), default="sgd",
                    help="sgd: minibatch training; rsgd: replicated SGD (y coupled replicas, "
                         "growing elastic coupling, the center is the result); entropy-sgd: "
                         "Langevin inner loop around the weights (sim/net_train.py)")
    ws.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                    help="optax optimizer of every algorithm's steps (default sgd)")
    ws.add_argument("--binary", action="store_true",
                    help="binary weights sign(h), latent h (BinaryConnect); the local energy "
                         "is then the flip-based one at the fractions --strengths")
    ws.add_argument("--P", type=at_least(1), default=500,
                    help="training examples (>= 1; the rest of the data set, or --test, "
                         "are the test set; default 500)")
    ws.add_argument("--test", type=at_least(1), default=None,
                    help="test examples (default: all the others)")
    ws.add_argument("--seeds", type=at_least(1), default=8, help="seeds per width (default 8)")
    ws.add_argument("--epochs", type=at_least(1), default=300,
                    help="epoch budget (default 300)")
    ws.add_argument("--batch-size", type=at_least(1), default=32,
                    help="minibatch size (default 32)")
    ws.add_argument("--lr", type=positive, default=None,
                    help="learning rate (default 0.5 for sgd, 0.01 for adam)")
    ws.add_argument("--strengths", type=float_list, default=[0.1, 0.3, 0.5],
                    help="relative weight noises sigma >= 0 (binary: flipped fractions d in "
                         "(0, 1/2]) of the local energy (default 0.1,0.3,0.5)")
    ws.add_argument("--samples", type=at_least(1), default=32,
                    help="noise draws per strength and seed (default 32)")
    add_seed(ws, "seed: one half of its key draws the data, the other the networks")


def _width_sweep(args: argparse.Namespace) -> None:
    """Train flax networks (sim/networks.py) of each width on a fixed training set of P real
    examples, SEEDS seeds in one compiled program, until zero training error or --epochs, and
    measure the weights found: training and test error, the fraction of seeds that fit the
    training set, and the local energy dE(sigma) = E_eps[E_train(W*(1+sigma*eps))] - E_train(W)
    under multiplicative Gaussian weight noise (binary weights: dE(d), the training-error
    increase after flipping a fraction d of the signs). Reports per width the number of
    parameters and parameters per example (mean, sem over seeds) and the interpolation point: per
    seed the smallest parameters per example from which it fits at every larger width, mean and
    sem over seeds. Also the quantiles 5, 25, 50, 75, 95% of the output margins on the training
    set (true-class output minus the largest other; y*f for parity) in units of the rms output."""
    import jax.random as jr
    from tqdm import tqdm

    from sim.net_train import NetTrainConfig
    from sim.real_data import load_real_data
    from sim.width_sweep import interpolation_point, summarize_point, width_point

    widths = [int(w) for w in args.widths]
    if any(w != v or w < 1 for w, v in zip(widths, args.widths)):
        raise CLIError(f"--widths {args.widths}: widths must be ints >= 1")
    if sorted(set(widths)) != widths:
        raise CLIError(f"--widths {widths}: must be distinct and increasing")
    if args.binary and not all(0 < d <= 0.5 for d in args.strengths):
        raise CLIError(f"--strengths {args.strengths}: flipped fractions d must lie in "
                       "(0, 1/2]")
    if not all(s >= 0 for s in args.strengths):
        raise CLIError(f"--strengths {args.strengths}: the relative noise sigma must be >= 0")
    big = widths[-1]
    weights = big * (64 + 10) + (3 * big * big if args.arch != "mlp" else 0)
    check_memory(4.0 * args.seeds * (16 * weights + 2 * args.P * big),
                 f"--widths {big} --arch {args.arch} --seeds {args.seeds} --P {args.P}")
    lr = _LR_DEFAULT[args.optimizer] if args.lr is None else args.lr
    k_data, k_nets = jr.split(jr.key(args.seed))
    try:
        config = NetTrainConfig(algo=args.algo, optimizer=args.optimizer, epochs=args.epochs,
                                batch_size=args.batch_size, learning_rate=lr)
        data = load_real_data(k_data, args.data, args.P, task=args.task, n_test=args.test)
        points = [width_point(k_nets, data, args.arch, w, config, args.seeds,
                              binary=args.binary, strengths=tuple(args.strengths),
                              n_samples=args.samples)
                  for w in tqdm(widths, desc="widths", unit="width", disable=args.json)]
    except ValueError as err:
        raise CLIError(str(err)) from None
    summaries = [summarize_point(p) for p in points]
    interp = interpolation_point([p["params_per_example"] for p in points],
                                 [[p["solved"][s] for p in points] for s in range(args.seeds)])
    out = {"data": args.data, "task": args.task, "arch": args.arch, "algo": args.algo,
           "optimizer": args.optimizer, "binary": args.binary, "P": args.P,
           "test_examples": int(data.x_test.shape[0]), "seeds": args.seeds, "seed": args.seed,
           "epochs": args.epochs, "batch_size": args.batch_size, "lr": lr,
           "perturbation": "flips" if args.binary else "gaussian",
           "strengths": args.strengths, "widths": summaries,
           "interpolation_params_per_example": interp,
           "seconds": sum(p["seconds"] for p in points)}
    if args.json:
        return emit(out, True)
    print(f"{args.data}/{args.task} {args.arch} {args.algo} ({args.optimizer}), P = {args.P}, "
          f"{args.seeds} seeds; local energy at {out['perturbation']} strengths "
          f"{args.strengths}")
    for s in summaries:
        energy = "  ".join(f"{k:g}: {m:.4f}+-{e:.4f}" for k, (m, e) in s["local_energy"].items())
        median = s["margin_quantiles"][0.5]
        print(f"  width {s['width']:>4}  N/P {s['params_per_example']:7.3f}  solved "
              f"{s['solved_fraction'][0]:.2f}  train {s['train_error'][0]:.4f}  test "
              f"{s['test_error'][0]:.4f}+-{s['test_error'][1]:.4f}  dE {energy}  median "
              f"margin/rms {median:.3f}")
    print(f"interpolation point N/P = {interp['mean']:.3f} +- {interp['sem']:.3f} "
          f"({interp['n']} seeds); every seed fits from N/P = {interp['reliable']:.3f}")

"""``atypical sim ...``: finite-N data, exact enumeration and training."""

import argparse

from ._common import CLIError, emit

_TASKS = ("storage", "teacher-student")
_TASK_HELP = ("storage: random labels y = +-1 (binary perceptron capacity problem); "
              "teacher-student: labels y = sign(W_T.xi/sqrt N) of a random binary teacher W_T")
_ALPHA_HELP = "alpha = P/N, examples per weight (> 0); P = round(alpha*N)"


def register(subparsers) -> None:
    enum = subparsers.add_parser(
        "enumerate", help="exact enumeration of all 2^N binary weight vectors (N <= 25)",
        description="Count, instance by instance, the binary weights W in {-1,+1}^N whose "
                    "stabilities Delta_mu = y_mu W.xi_mu/sqrt(N) are all >= kappa, on "
                    "Gaussian examples xi ~ N(0, I_N). Reports the fraction of satisfiable "
                    "instances, the entropy ln(#solutions)/N (nats per weight) averaged over "
                    "satisfiable instances with its standard error and, for teacher-student, "
                    "the Gibbs generalization error <arccos(W.W_T/N)/pi> over solutions.")
    enum.add_argument("--task", choices=_TASKS, default="storage", help=_TASK_HELP)
    enum.add_argument("--n", type=int, required=True,
                      help="N, number of binary weights (1 <= N <= 25: 2^N configurations)")
    enum.add_argument("--alpha", type=float, required=True, help=_ALPHA_HELP)
    enum.add_argument("--kappa", type=float, default=0.0,
                      help="margin kappa: a solution has every Delta_mu >= kappa (default 0)")
    enum.add_argument("--instances", type=int, default=10,
                      help="independent data sets (disorder samples) to enumerate (default 10)")
    enum.add_argument("--seed", type=int, default=0, help="random seed of the data (default 0)")
    enum.add_argument("--json", action="store_true", help="print one JSON object")
    enum.set_defaults(handler=_enumerate)

    train = subparsers.add_parser(
        "train", help="train independent binary students (vectorized replicas)",
        description="Train R independent binary perceptrons W = sign(h) on one data set with "
                    "BinaryConnect-style SGD (latent weights h, straight-through gradient, "
                    "loss softplus(-beta (Delta - margin))/beta), all replicas in one compiled "
                    "program. Reports per replica the final training error, whether it reached "
                    "zero training error ('solved'), for teacher-student the generalization "
                    "error arccos(W.W_T/N)/pi, and the wall time of the compiled training.")
    train.add_argument("--task", choices=_TASKS, default="storage", help=_TASK_HELP)
    train.add_argument("--algo", choices=("sgd",), default="sgd",
                       help="training algorithm (sgd: BinaryConnect SGD, sim/sgd.py)")
    train.add_argument("--n", type=int, required=True, help="N, number of binary weights")
    train.add_argument("--alpha", type=float, required=True, help=_ALPHA_HELP)
    train.add_argument("--replicas", type=int, default=16,
                       help="R, independent students (seeds) trained together (default 16)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed: the data use one half of its key, the replicas the other")
    train.add_argument("--epochs", type=int, default=None,
                       help="passes over the data (default: SGDConfig's)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="examples per SGD step (default: SGDConfig's)")
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: SGDConfig's)")
    train.add_argument("--beta", type=float, default=None,
                       help="inverse temperature of the loss (default: SGDConfig's)")
    train.add_argument("--margin", type=float, default=None,
                       help="loss margin m on the stabilities (default: SGDConfig's)")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.set_defaults(handler=_train)


def _error_line(err: Exception) -> str:
    """The message of an ``eqx.error_if`` failure, without equinox's debugging advice."""
    lines = [line for line in str(err).splitlines() if "EquinoxRuntimeError: " in line]
    return lines[0].split("EquinoxRuntimeError: ", 1)[1] if lines else str(err).strip()


def _problem(task: str, alpha: float, kappa: float = 0.0):
    from atypical.problems import BinaryStorage, TeacherStudent

    if not alpha > 0:
        raise CLIError(f"--alpha {alpha}: alpha = P/N must be > 0")
    try:
        return (BinaryStorage if task == "storage" else TeacherStudent)(alpha, kappa)
    except RuntimeError as err:  # eqx.error_if in the spec (a non-finite kappa, ...)
        raise CLIError(_error_line(err)) from None


def _enumerate(args: argparse.Namespace) -> None:
    import jax.random as jr

    from sim.enumerate import N_MAX, enumerate_instances

    if not 1 <= args.n <= N_MAX:
        raise CLIError(f"--n {args.n}: N must lie in [1, {N_MAX}] (2^N configurations)")
    if args.instances < 1:
        raise CLIError(f"--instances {args.instances}: must be >= 1")
    problem = _problem(args.task, args.alpha, args.kappa)
    try:
        result = enumerate_instances(jr.key(args.seed), problem, args.n, args.instances)
    except ValueError as err:
        raise CLIError(str(err)) from None
    mean, sem, n_sat = result.entropy_stats
    out = {"task": args.task, "n": args.n, "alpha": args.alpha, "kappa": args.kappa,
           "P": result.P, "instances": args.instances, "seed": args.seed,
           "sat_fraction": result.sat_fraction, "mean_entropy": mean, "sem_entropy": sem,
           "n_sat": n_sat, "counts": result.counts}
    if args.task == "teacher-student":
        g_mean, g_sem, _ = result.gibbs_gen_error_stats
        out.update(gibbs_gen_error=g_mean, sem_gibbs_gen_error=g_sem)
    emit(out, args.json)


def _train(args: argparse.Namespace) -> None:
    import time

    import jax
    import jax.random as jr
    import numpy as np

    from sim.data import sample_storage, sample_teacher_student
    from sim.measure import gen_error, mean_sem
    from sim.sgd import SGDConfig, train_replicas

    if args.n < 1:
        raise CLIError(f"--n {args.n}: N must be >= 1")
    if args.replicas < 1:
        raise CLIError(f"--replicas {args.replicas}: must be >= 1")
    problem = _problem(args.task, args.alpha)
    overrides = {name: value for name, value in [
        ("epochs", args.epochs), ("batch_size", args.batch_size), ("learning_rate", args.lr),
        ("beta", args.beta), ("margin", args.margin)] if value is not None}
    try:
        config = SGDConfig(**overrides)
        k_data, k_train = jr.split(jr.key(args.seed))
        sample = sample_storage if args.task == "storage" else sample_teacher_student
        data = sample(k_data, problem, args.n, dtype=config.dtype)
    except ValueError as err:
        raise CLIError(str(err)) from None
    except RuntimeError as err:  # eqx.error_if on a bad learning rate, beta, ...
        raise CLIError(_error_line(err)) from None

    start = time.perf_counter()
    compiled = train_replicas.lower(k_train, data, config, args.replicas).compile()
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = jax.block_until_ready(compiled(k_train, data, config, args.replicas))
    seconds = time.perf_counter() - start

    final = result.train_errors[:, -1]
    err_mean, err_sem, _ = mean_sem(final)
    out = {"task": args.task, "algo": args.algo, "n": args.n, "alpha": args.alpha,
           "P": int(data.xi.shape[0]), "replicas": args.replicas, "seed": args.seed,
           "epochs": config.epochs,
           "train_error": final, "mean_train_error": err_mean, "sem_train_error": err_sem,
           "solved": result.solved, "solved_fraction": float(np.mean(result.solved)),
           "epochs_to_solution": result.epochs_to_solution}
    if args.task == "teacher-student":
        eps = jax.vmap(gen_error, in_axes=(0, None))(result.W, data.W_T)
        g_mean, g_sem, _ = mean_sem(eps)
        out.update(gen_error=eps, mean_gen_error=g_mean, sem_gen_error=g_sem)
    out.update(seconds=seconds, compile_seconds=compile_seconds)
    emit(out, args.json)

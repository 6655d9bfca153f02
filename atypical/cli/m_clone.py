"""``atypical theory clone-entropy | ogp``: the m-clone entropy phi_m(q1) and the onset of
its overlap gap. No ``sim`` commands (``register_sim`` adds none)."""

import argparse

from ._common import (CLIError, add_command, add_task, emit, finite, float_list, positive,
                      problem_class)

_M_CLONE = ("m: the number of real clones, all solutions of the same instance (a real "
            "number > 1; m = 1 is one typical solution); q1: their mutual overlap "
            "W^a.W^b/N, fixed from outside (the typical overlap q_RS of two independent "
            "solutions is where phi_m = phi_RS; as q1 -> 1 the clones coincide and "
            "phi_m -> phi_RS/m). phi_m(q1) = (1/(mN)) ln #{m-tuples of solutions at "
            "mutual overlap q1} (1RSB-structured overlap matrix, replica-symmetric blocks; "
            "Malatesta, Passalacqua, Zecchina arXiv:2607.27000).")
_TASK_HELP = ("storage: random labels, solutions have all stabilities >= kappa; "
              "teacher-student: labels of a binary teacher (kappa = 0), the clones' "
              "teacher overlap R is an order parameter (Nishimori not imposed)")
_KAPPA_HELP = "margin kappa of the solutions, in [-1, 1] (teacher-student: 0)"


def _clones(text: str) -> float:
    """--m: a finite real number > 1."""
    m = finite(text)
    if not m > 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of clones must be > 1")
    return m


def _clones_or_min(text: str) -> float | str:
    """--m of ``ogp``: a number > 1 or 'min'."""
    return "min" if text.strip() == "min" else _clones(text)


def _margin(text: str) -> float:
    """--kappa: a number in [-1, 1]."""
    kappa = finite(text)
    if not -1 <= kappa <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must lie in [-1, 1]")
    return kappa


def register_theory(subparsers) -> None:
    ce = add_command(subparsers, "clone-entropy", _clone_entropy,
                     "m-clone entropy phi_m(q1): m-tuples of solutions at mutual overlap q1")
    add_task(ce, _TASK_HELP)
    ce.add_argument("--alpha", type=positive, required=True, help="alpha = P/N (> 0)")
    ce.add_argument("--m", type=_clones, required=True,
                    help="number of clones m (real, > 1). " + _M_CLONE)
    ce.add_argument("--q1", type=float_list, required=True,
                    help="mutual overlap(s) q1 in (0, 1): a number, a list A,B,C or "
                         "start:stop:num (then every output value is a list)")
    ce.add_argument("--kappa", type=_margin, default=0.0, help=_KAPPA_HELP)

    ogp = add_command(subparsers, "ogp", _ogp,
                      "overlap-gap onset alpha_OGP(m): phi_m(q1) < 0 on an interval of q1")
    add_task(ogp, _TASK_HELP)
    ogp.add_argument("--m", type=_clones_or_min, default=4.0,
                     help="number of clones m (real, > 1; default 4), or 'min' to minimise "
                          "alpha_OGP over m (Brent's method). " + _M_CLONE)
    ogp.add_argument("--kappa", type=_margin, default=0.0, help=_KAPPA_HELP)


def register_sim(subparsers) -> None:
    """No simulation commands."""


def _check_task(args: argparse.Namespace) -> None:
    if args.task == "teacher-student" and args.kappa != 0:
        raise CLIError(f"--kappa {args.kappa} --task teacher-student: solved at kappa = 0 only")


def _clone_entropy(args: argparse.Namespace) -> None:
    """The m-clone (real-replica) entropy, solved by continuation in q1 from q_RS. Prints the
    entropy (nats per weight and per clone), the inter-block overlap q0 and the conjugates,
    with the typical overlap q_RS and phi_RS/m beside them."""
    from theory.models.m_clone import m_clone_entropy

    _check_task(args)
    bad = [q for q in args.q1 if not 0 < q < 1]
    if bad:
        raise CLIError(f"--q1 {bad[0]}: the overlap must lie in (0, 1)")
    try:
        sols, rs = m_clone_entropy(args.alpha, args.q1, args.m, args.kappa,
                                   problem=problem_class(args.task))
    except ValueError as err:
        raise CLIError(str(err)) from None
    op = sols.order_params
    result = {"task": args.task, "alpha": args.alpha, "kappa": args.kappa, "m": args.m,
              "q1": args.q1, "entropy": sols.free_entropy, "q0": op.q0,
              "q0_hat": op.q0_hat, "q1_hat": op.q1_hat}
    if args.task == "teacher-student":
        result.update(R=op.R, R_hat=op.R_hat)
    result.update(converged=sols.converged, residual=sols.residual)
    if len(args.q1) == 1:
        result = {k: (v[0] if k not in ("task", "alpha", "kappa", "m") else v)
                  for k, v in result.items()}
    result.update(q_typical=float(rs.order_params.q), rs_entropy=float(rs.free_entropy),
                  rs_entropy_over_m=float(rs.free_entropy) / args.m)
    emit(result, args.json)


def _ogp(args: argparse.Namespace) -> None:
    """Onset of the m-clone overlap gap: the smallest alpha at which phi_m(q1) < 0 on an
    interval of q1 between q_RS and 1 (no m-tuples of solutions at those mutual overlaps), a
    root of {saddle, phi_m = 0, d phi_m/d q1 = 0}. Storage kappa = 0, m = 4: 0.7844
    (literature ~0.784); teacher-student m = 4: ~1.154. About 1-2 minutes per m (compilation
    included); --m min runs Brent's method over m."""
    from theory.models.m_clone import ogp_threshold, ogp_threshold_min_m

    _check_task(args)
    problem = problem_class(args.task)
    try:
        if args.m == "min":
            m, result = ogp_threshold_min_m(args.kappa, problem=problem)
        else:
            m, result = args.m, ogp_threshold(args.m, args.kappa, problem=problem)
    except ValueError as err:
        raise CLIError(str(err)) from None
    op = result.order_params
    emit({"task": args.task, "kappa": args.kappa, "m": m, "minimised_over_m": args.m == "min",
          "alpha": float(result.alpha), "q1": float(op.q1), "q0": float(op.q0),
          "converged": bool(result.converged), "residual": float(result.residual)}, args.json)

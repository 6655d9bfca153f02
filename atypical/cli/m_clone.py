"""``atypical theory clone-entropy | ogp``: the m-clone entropy phi_m(q1) and the onset of
its overlap gap."""

import argparse
import math

from ._common import CLIError, emit, float_list

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


def register_theory(commands) -> None:
    ce = commands.add_parser(
        "clone-entropy", help="m-clone entropy phi_m(q1): m-tuples of solutions at overlap q1",
        description="The m-clone (real-replica) entropy. " + _M_CLONE + " Solved by "
                    "continuation in q1 from q_RS; outputs the entropy (nats per weight and "
                    "per clone), the inter-block overlap q0 and the conjugates.")
    ce.add_argument("--task", choices=["storage", "teacher-student"], default="storage",
                    help=_TASK_HELP)
    ce.add_argument("--alpha", type=float, required=True, help="alpha = P/N (> 0)")
    ce.add_argument("--m", type=float, required=True, help="number of clones m (real, > 1)")
    ce.add_argument("--q1", type=float_list, required=True,
                    help="mutual overlap(s) q1 in (0, 1): a number, a list A,B,C or "
                         "start:stop:num (then every output value is a list)")
    ce.add_argument("--kappa", type=float, default=0.0, help=_KAPPA_HELP)
    ce.add_argument("--json", action="store_true", help="print one JSON object")
    ce.set_defaults(handler=_clone_entropy)

    ogp = commands.add_parser(
        "ogp", help="overlap-gap onset alpha_OGP(m): phi_m(q1) < 0 on an interval of q1",
        description="Onset of the m-clone overlap gap: the smallest alpha at which "
                    "phi_m(q1) < 0 on an interval of q1 between q_RS and 1 (no m-tuples of "
                    "solutions at those mutual overlaps), a root of {saddle, phi_m = 0, "
                    "d phi_m/d q1 = 0}. " + _M_CLONE + " Storage kappa = 0, m = 4: 0.7844 "
                    "(literature ~0.784); teacher-student m = 4: ~1.154. About 1-2 minutes "
                    "per m (compilation included); --m min runs Brent's method over m.")
    ogp.add_argument("--task", choices=["storage", "teacher-student"], default="storage",
                     help=_TASK_HELP)
    ogp.add_argument("--m", default="4", help="number of clones m (real, > 1), or 'min' to "
                                              "minimise alpha_OGP over m")
    ogp.add_argument("--kappa", type=float, default=0.0, help=_KAPPA_HELP)
    ogp.add_argument("--json", action="store_true", help="print one JSON object")
    ogp.set_defaults(handler=_ogp)


def register_sim(commands) -> None:
    del commands


def _check(task: str, kappa: float, m: float | None) -> None:
    if m is not None and not (math.isfinite(m) and m > 1):
        raise CLIError(f"--m {m}: the number of clones must be a real number > 1")
    if not (math.isfinite(kappa) and -1 <= kappa <= 1):
        raise CLIError(f"--kappa {kappa}: must lie in [-1, 1]")
    if task == "teacher-student" and kappa != 0:
        raise CLIError(f"--kappa {kappa} --task teacher-student: solved at kappa = 0 only")


def _clone_entropy(args: argparse.Namespace) -> None:
    from atypical import SaddlePointError
    from theory.models.m_clone import m_clone_entropy

    _check(args.task, args.kappa, args.m)
    if not (math.isfinite(args.alpha) and args.alpha > 0):
        raise CLIError(f"--alpha {args.alpha}: alpha = P/N must be finite and > 0")
    bad = [q for q in args.q1 if not 0 < q < 1]
    if bad:
        raise CLIError(f"--q1 {bad[0]}: the overlap must lie in (0, 1)")
    try:
        sols, rs = m_clone_entropy(args.alpha, args.q1, args.m, args.kappa, task=args.task)
    except SaddlePointError as err:
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
    from atypical import SaddlePointError
    from theory.models.m_clone import ogp_threshold, ogp_threshold_min_m

    if args.m == "min":
        m = None
    else:
        try:
            m = float(args.m)
        except ValueError:
            raise CLIError(f"--m {args.m!r}: expected a number > 1 or 'min'") from None
    _check(args.task, args.kappa, m)
    try:
        if m is None:
            m, result = ogp_threshold_min_m(args.kappa, task=args.task)
        else:
            result = ogp_threshold(m, args.kappa, task=args.task)
    except SaddlePointError as err:
        raise CLIError(str(err)) from None
    op = result.order_params
    emit({"task": args.task, "kappa": args.kappa, "m": m, "minimised_over_m": args.m == "min",
          "alpha": float(result.alpha), "q1": float(op.q1), "q0": float(op.q0),
          "converged": bool(result.converged), "residual": float(result.residual)}, args.json)

"""Benchmark: DMFT solve time and memory vs steps N and units m (symmetric and full), JAX
(jit, fori_loop on masked buffers) against a straightforward NumPy loop of the same Euler
recursion (physics/dmft_two_layer.md section 4), measured in the same run.

    python benchmarks/bench_dmft.py [--quick] [--out results.json]
    python benchmarks/bench_dmft.py --long-times 32,64 --budget 120   # heun vs exp
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import atypical  # noqa: E402,F401  (enables float64)
import jax  # noqa: E402

from atypical.problems import two_layer_preset  # noqa: E402
from theory.dynamics.dmft import buffer_size, solve_dmft  # noqa: E402


def dmft_euler_numpy(problem, *, t_max: float, dt: float) -> dict:
    """Reference: the Euler recursion of App. D.1 with explicit loops over the filled rows
    (full m x m blocks, float64, O(N^3 m^3 / 3) work)."""
    coef = lambda x: np.asarray(x, np.float64)  # noqa: E731
    c2, cf = coef(problem.sigma_coeffs) ** 2, coef(problem.sigma_coeffs * problem.target_coeffs)
    P_ = np.polynomial.polynomial
    h = lambda q: P_.polyval(q, c2)  # noqa: E731
    hp = lambda q: P_.polyval(q, P_.polyder(c2))  # noqa: E731
    hpp = lambda q: P_.polyval(q, P_.polyder(c2, 2))  # noqa: E731
    ph = lambda v: P_.polyval(v, cf)  # noqa: E731
    php = lambda v: P_.polyval(v, P_.polyder(cf))  # noqa: E731
    m, N = problem.m, int(round(t_max / dt))
    T, abar = N + 1, float(problem.alpha) * m
    base = float(problem.tau) ** 2 + float(problem.phi_norm2)
    C, R = np.zeros((2, T, T, m, m))
    a, v = np.zeros((2, T, m))
    P, CA, SC, SR = np.zeros((4, T, T))
    C[0, 0], a[0], v[0] = coef(problem.C0), coef(problem.a0), coef(problem.v0)
    eye = np.eye(m)
    for i in range(T):
        n = i + 1
        aa = a[i][None, :, None] * a[:n][:, None, :]
        Ci, Ri = C[i, :n], R[i, :n]
        aphi = (a[:n] * ph(v[:n])).sum(1) / m
        SC[i, :n] = base - aphi[i] - aphi + (aa * h(Ci)).sum((1, 2)) / m**2
        SC[:n, i] = SC[i, :n]
        SR[i, :i] = (aa * hp(Ci) * Ri).sum((1, 2))[:i] / m**2
        P[i, :i] = -dt * SR[i, :i] @ P[:i, :i]
        P[i, i] = 1.0
        Q = P[:n, :n] @ SC[i, :n]
        CA[i, :i] = -Q[:i] - dt * SR[i, :i] @ CA[:i, :i]
        CA[i, i] = -Q[i] - dt * SR[i, :i] @ CA[i, :i]
        CA[:i, i] = CA[i, :i]
        if i == N:
            break
        w = np.ones(n)
        w[i] = 0.0
        pref = abar / m / m
        KR = pref * aa * (P[i, :n, None, None] * hp(Ci)
                          + (dt * w * CA[i, :n])[:, None, None] * hpp(Ci) * Ri)
        KC = pref * aa * (dt * w * CA[i, :n])[:, None, None] * hp(Ci)
        sumP = P[i, :n].sum()
        drift = (abar / m) * sumP * (a[i] * php(v[i]))[None, :, None] * v[:n][:, None, :]
        FC = (drift - np.einsum("sil,sjlk->jik", KR, C[:n, :n])
              - np.einsum("sil,jskl->jik", KC, R[:n, :n]))
        nu = np.diagonal(FC[i]).copy()
        FC -= nu[None, :, None] * Ci
        FR = -np.einsum("sil,sjlk->jik", KR, R[:n, :n]) - nu[None, :, None] * Ri
        vdot = -nu * v[i] + (abar / m) * sumP * a[i] * php(v[i]) - np.einsum("sil,sl->i", KR,
                                                                               v[:n])
        fit = sumP * ph(v[i]) - (P[i, :n, None] * (h(Ci) * a[:n, None, :]).sum(-1)).sum(0) / m
        react = ((dt * w * -CA[i, :n])[:, None] * (hp(Ci) * Ri * a[:n, None, :]).sum(-1)).sum(
            0) / m
        adot = (abar / m) * (fit + react) if problem.train_second_layer else 0.0
        C[i + 1, :n] = Ci + dt * FC
        Ctt = C[i, i] + dt * (FC[i] + FC[i].T)
        np.fill_diagonal(Ctt, 1.0)
        C[i + 1, i + 1] = Ctt
        C[:n + 1, i + 1] = np.swapaxes(C[i + 1, :n + 1], -1, -2)
        R[i + 1, :n] = Ri + dt * FR
        R[i + 1, i] = eye
        a[i + 1], v[i + 1] = a[i] + dt * adot, v[i] + dt * vdot
    return dict(C=C, R=R, a=a, v=v, train_error=-0.5 * np.diagonal(CA),
                test_error=0.5 * np.diagonal(SC))


def _time(fn, repeats: int = 2) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def finite_d_gap(ds, seeds: int) -> list[dict]:
    """Gaussian-model GD (issue 5 pure-noise case) minus the Heun DMFT at t = 2.5 and 5, per d,
    with the GD throughput; the gap is expected to scale like 1/d."""
    import jax.numpy as jnp
    import jax.random as jr

    from atypical.problems import TWO_LAYER_KERNELS, TwoLayerGradientFlow
    from sim.two_layer import mean_sem, train_two_layer

    c = jnp.asarray(TWO_LAYER_KERNELS["quad_small"])
    p = TwoLayerGradientFlow(1.5 / 4, 1.0, c, jnp.zeros_like(c), jnp.array([0.5, 1.0, 1.5, 2.0]))
    sol = solve_dmft(p, t_max=5.0, dt=0.05)
    out = []
    print("| d | seeds | GD time (s) | gap e_ts(2.5) | gap e_ts(5) | SE(5) | gap a_1(5) |")
    print("|---|---|---|---|---|---|---|")
    for d in ds:
        kw = dict(model="gaussian", d=d, t_max=5.0, dt=0.02, n_seeds=seeds, record_every=125,
                  seed_batch=min(seeds, max(1, 2**27 // (d * d * int(1.5 * d)))))
        train_two_layer(jr.key(99), p, **kw).test_error.block_until_ready()  # compile
        t0 = time.perf_counter()
        tr = train_two_layer(jr.key(5), p, **kw)
        tr.test_error.block_until_ready()
        el = time.perf_counter() - t0
        mean, sem = mean_sem(tr.test_error)
        a_mean, _ = mean_sem(tr.a)
        g = np.asarray(mean) - np.asarray(sol.test_error[::50])
        ga = float(a_mean[-1, 0] - sol.a[-1, 0])
        out.append(dict(d=d, seeds=seeds, gd_s=el, gap_t2_5=float(g[1]), gap_t5=float(g[2]),
                        sem_t5=float(sem[-1]), gap_a1=ga))
        print(f"| {d} | {seeds} | {el:.3g} | {g[1]:.4f} | {g[2]:.4f} | {float(sem[-1]):.4f} "
              f"| {ga:.4f} |", flush=True)
    return out


def long_times(ms, budget_s: float) -> list[dict]:
    """Largest t reached within ``budget_s`` of CPU wall time (first call, compile included)
    per scheme, in the stiff lazy regime a = sqrt(m) (pure noise, quad kernel, alpha = 0.3,
    tau = 0.6, symmetric solver).  Each scheme runs at its largest stable step on the grid
    0.4 / 2^k (stable: no DMFTBlowUpError and e_tr, e_ts at t = 5 within 0.01 of the
    run at dt/2), then at N = 100 * 2^(k/2) steps while the predicted time (cubic in N) stays
    within the budget; a later blow-up halves dt and starts the series again."""
    from theory.dynamics.dmft import DMFTBlowUpError

    out = []
    print("| m | scheme | dt | N | t reached | wall (s) | "
          "e_tr(t) | e_ts(t) | a(t)/sqrt(m) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in ms:
        p = two_layer_preset("quad", m=m, alpha=0.3, tau=0.6, a0=m**0.5, teacher=False)
        for scheme in ("heun", "exp"):
            dt, best, k, last = 0.4, None, 0, 0.0
            while True:  # largest dt whose t = 5 errors are within 0.01 of dt/2's
                try:
                    x, y = (solve_dmft(p, t_max=5.0, dt=h, scheme=scheme, symmetric=True)
                            for h in (dt, dt / 2))
                    if max(abs(float(x.test_error[-1] - y.test_error[-1])),
                           abs(float(x.train_error[-1] - y.train_error[-1]))) < 0.01:
                        break
                except DMFTBlowUpError:
                    pass
                dt /= 2
            while True:
                N = int(round(100 * 2 ** (k / 2)))
                if last and last * (N / best["N"]) ** 3 > budget_s:
                    break
                t0 = time.perf_counter()
                try:
                    sol = solve_dmft(p, t_max=N * dt, dt=dt, scheme=scheme, symmetric=True)
                    jax.block_until_ready(sol.C)
                except DMFTBlowUpError as err:  # later blow-up: halve dt, start again
                    print(f"| {m} | {scheme} | {dt:g} | {N} | blew up: {err} |", flush=True)
                    dt, best, k, last = dt / 2, None, 0, 0.0
                    continue
                last = time.perf_counter() - t0
                if last > budget_s:
                    break
                best = dict(m=m, scheme=scheme, dt=dt, N=N, t=N * dt, wall_s=last,
                            e_tr=float(sol.train_error[-1]), e_ts=float(sol.test_error[-1]),
                            a_over_sqrt_m=float(sol.a[-1, 0]) / m**0.5)
                k += 1
            out.append(best)
            b = best
            if b is None:
                print(f"| {m} | {scheme} | {dt:g} | - | none within the budget |", flush=True)
                continue
            print(f"| {m} | {scheme} | {dt:g} | {b['N']} | {b['t']:.4g} | {b['wall_s']:.3g} | "
                  f"{b['e_tr']:.3e} | {b['e_ts']:.4f} | {b['a_over_sqrt_m']:.4f} |", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    ap.add_argument("--numpy-max-steps", type=int, default=400,
                    help="skip the NumPy baseline above this N (it is O(N^3 m^3))")
    ap.add_argument("--max-steps", type=int, default=10**9, help="skip cases with larger N")
    ap.add_argument("--only", choices=("sym", "full"), default=None, help="one solver only")
    ap.add_argument("--finite-d", default="", help="comma list of d: also measure the "
                    "Gaussian-model GD - DMFT gap vs d (issue 5 pure-noise case)")
    ap.add_argument("--seeds", type=int, default=64, help="seeds for --finite-d")
    ap.add_argument("--long-times", default="", help="comma list of m: only measure the "
                    "largest t reached within --budget seconds, heun vs exp (lazy init)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for --long-times")
    args = ap.parse_args()
    dev = jax.devices()[0]
    print(f"# bench_dmft  {datetime.datetime.now():%Y-%m-%d %H:%M}  jax {jax.__version__}  "
          f"device {dev.platform}:{dev.device_kind}  python {platform.python_version()}  "
          f"cpu {platform.processor() or platform.machine()}")
    if args.long_times:
        rows = long_times([int(m) for m in args.long_times.split(",")], args.budget)
        if args.out:
            Path(args.out).write_text(json.dumps(dict(long_times=rows), indent=1))
        return
    if args.quick:
        cases = [("sym", 4, 50), ("full", 2, 50)]
    else:
        cases = ([("sym", 16, N) for N in (200, 400, 800, 1600, 3200)]
                 + [("full", 4, N) for N in (100, 200, 400, 800)]
                 + [("full", m, 200) for m in (2, 8, 16)])
    rows = []
    print("| solver | m | N | scheme | JAX first call (s) | JAX solve (s) | NumPy Euler (s) "
          "| speed-up | buffers (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    cases = [c for c in cases if c[2] <= args.max_steps and args.only in (None, c[0])]
    for kind, m, N in cases:
        p = two_layer_preset("cubic", m=m, alpha=0.3, tau=0.6, a0=1.0)
        dt = 5.0 / N
        sym = kind == "sym"
        for scheme in ("euler", "heun"):
            t0 = time.perf_counter()
            sol = solve_dmft(p, t_max=5.0, dt=dt, scheme=scheme, symmetric=sym)
            jax.block_until_ready(sol.C)
            first = time.perf_counter() - t0
            run = _time(lambda: solve_dmft(p, t_max=5.0, dt=dt, scheme=scheme,
                                           symmetric=sym).C)
            T = buffer_size(N + 2)
            block = 2 if sym else m * m
            mib = (2 * T * T * block + 4 * T * T) * 8 / 2**20
            t_np = speed = ""
            if scheme == "euler" and N <= args.numpy_max_steps and (sym or m <= 8):
                t0 = time.perf_counter()
                ref = dmft_euler_numpy(p, t_max=5.0, dt=dt)
                t_np_f = time.perf_counter() - t0
                gap = float(np.max(np.abs(ref["test_error"] - np.asarray(sol.test_error))))
                assert gap < 1e-10, f"NumPy and JAX Euler disagree by {gap}"
                t_np, speed = f"{t_np_f:.3g}", f"{t_np_f / run:.1f}x"
            row = dict(solver=kind, m=m, N=N, scheme=scheme, jax_first_s=first, jax_s=run,
                       numpy_s=t_np, buffers_mib=mib, device=f"{dev.platform}:{dev.device_kind}")
            rows.append(row)
            print(f"| {kind} | {m} | {N} | {scheme} | {first:.3g} | {run:.3g} | {t_np} | {speed} "
                  f"| {mib:.1f} |", flush=True)
    gaps = finite_d_gap([int(d) for d in args.finite_d.split(",")], args.seeds) \
        if args.finite_d else []
    if args.out:
        Path(args.out).write_text(json.dumps(dict(dmft=rows, finite_d=gaps), indent=1))


if __name__ == "__main__":
    main()

"""Plots for the model card: the training curve (loss against tokens, per phase, with held-out exact
match where evaluated) and the quality/latency trade-off of model sizes.

Usage: python3 training/plot.py curve LOG.jsonl [LOG2.jsonl ...] --out models/<name>/training_curve.png
       python3 training/plot.py pareto POINTS.json --out models/<name>/pareto.png
POINTS.json: [{"name": ..., "params_m": ..., "p50_ms": ..., "em": ...}, ...]
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve(logs, out):
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax2 = ax.twinx()
    colors = {"nt": "tab:blue", "diff": "tab:orange", "distill": "tab:purple"}
    seen = set()
    for path in logs:
        recs = [json.loads(l) for l in open(path) if l.strip()]
        for ph in ("nt", "diff", "distill"):
            pts = [(r["tokens"] / 1e9, r["loss"]) for r in recs if r.get("phase") == ph and "loss" in r and r["loss"] > 0]
            if pts:
                lab = {"nt": "next-token FIM loss", "diff": "block-diffusion loss (mean of 25 logs)", "distill": "self-distillation loss (mean of 25 logs)"}[ph]
                xs, ys = zip(*pts)
                ax.plot(xs, ys, color=colors[ph], lw=0.5, alpha=0.25)
                k = 25
                sm = [sum(ys[max(0, i - k + 1): i + 1]) / len(ys[max(0, i - k + 1): i + 1]) for i in range(len(ys))]
                ax.plot(xs, sm, color=colors[ph], lw=1.5, label=None if lab in seen else lab)
                seen.add(lab)
        for r in recs:
            if "eval" in r:
                for k, v in r["eval"].items():
                    if k.endswith("/line/ar") or k.endswith("/line/par"):
                        m = "o" if k.startswith("py") else "s"
                        ax2.scatter([r["tokens"] / 1e9], [v["em"] * 100], marker=m, color="tab:green", zorder=3)
                        ax2.annotate(k.split("/")[-1], (r["tokens"] / 1e9, v["em"] * 100), textcoords="offset points",
                                     xytext=(5, -3), fontsize=7, color="tab:green")
    ax.set_xlabel("tokens seen (billions)")
    ax.set_ylabel("training loss (nats)")
    ax2.set_ylabel("held-out full-line exact match, % (o Python, s TS/JS)", color="tab:green")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)


def pareto(points_path, out):
    """POINTS.json: [{"name", "params_m", "p50_ms", "em_py_line", "em_js_line"}, ...] (fractions)."""
    pts = json.load(open(points_path))
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=110)
    for i, p in enumerate(pts):
        x = p["p50_ms"]
        for key, marker, lab in (("em_py_line", "o", "Python"), ("em_js_line", "s", "TS/JS")):
            ax.scatter([x], [p[key] * 100], marker=marker, s=30 + p["params_m"] * 3,
                       color="tab:blue" if marker == "o" else "tab:orange", zorder=3,
                       label=f"{lab} full line" if p is pts[0] else None)
        ax.plot([x, x], [p["em_js_line"] * 100, p["em_py_line"] * 100], color="grey", lw=0.8, zorder=1)
        # labels stacked by index so that points close together keep readable names
        top = max(max(q["em_py_line"], q["em_js_line"]) for q in pts) * 100
        ax.annotate(f'{p["name"]}, {p["params_m"]:.1f} M', (x, p["em_py_line"] * 100), textcoords="data",
                    xytext=(3, top + 4 + 3.5 * i), fontsize=7.5, arrowprops=dict(arrowstyle="-", color="grey", lw=0.5))
    ax.set_xlim(0, 60)
    ax.set_ylim(0, max(max(p["em_py_line"], p["em_js_line"]) for p in pts) * 100 + 8 + 4 * len(pts))
    ax.axvline(50, color="grey", ls="--", lw=1)
    ax.text(50, 1, " 50 ms", color="grey", fontsize=8, va="bottom")
    ax.set_xlabel("warm p50 completion latency, 2 CPU cores (ms, `node dist/cli.js bench`)")
    ax.set_ylabel("held-out exact match through the engine (%)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["curve", "pareto"])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    curve(a.inputs, a.out) if a.what == "curve" else pareto(a.inputs[0], a.out)

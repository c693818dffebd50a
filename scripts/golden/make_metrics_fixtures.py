"""Generate golden fixtures for lesionlab's evaluation metrics (src/core/eval/).

Each case is a random 7-class problem (labels, probabilities, lesion groups) written together with the
values scikit-learn / scipy / numpy compute for it, so the TypeScript tests compare against them without
Python at test time. Run from the repo root:

    python3 -m venv /tmp/golden-venv && /tmp/golden-venv/bin/pip install scikit-learn scipy numpy
    /tmp/golden-venv/bin/python scripts/golden/make_metrics_fixtures.py

Probabilities are integer weights divided by their row sum, so exact ties (within and across rows) and
exact zeros (log-loss clipping) occur on purpose.
"""

import json
import os
import platform
import sys

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn import metrics

K = 7
CLASSES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
MEL = 4
OUT_DIR = os.path.join("test", "golden", "metrics")
SPECIFICITIES = [0.8, 0.9, 0.95]


def make_case(rng, n, *, max_weight, priors, absent=(), unseen=(), boost=3, groups_per_image=1.6):
    """Random labels from `priors` and weight-quantised probabilities.

    Classes in `absent` never occur as labels; classes in `unseen` never occur and get probability 0.
    """
    p = np.array(priors, dtype=float)
    for a in (*absent, *unseen):
        p[a] = 0
    p = p / p.sum()
    y = rng.choice(K, size=n, p=p)
    w = rng.integers(0, max_weight + 1, size=(n, K)).astype(float)
    w[np.arange(n), y] += rng.integers(0, boost + 1, size=n)  # informative but imperfect
    for a in unseen:
        w[:, a] = 0
    w[w.sum(axis=1) == 0, 0] = 1
    probs = w / w.sum(axis=1, keepdims=True)
    groups = [f"L{int(i / groups_per_image):05d}" for i in range(n)]
    return y, probs, groups


def ece_reference(y, probs, n_bins=15):
    """Guo et al. 2017: equal-width bins on max probability, (lo, hi], weighted |accuracy - confidence|."""
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    correct = (pred == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (conf > lo) & (conf <= hi)
        count = int(in_bin.sum())
        if count > 0:
            acc = float(correct[in_bin].mean())
            mean_conf = float(conf[in_bin].mean())
            ece += abs(acc - mean_conf) * count / len(y)
            bins.append({"lower": float(lo), "upper": float(hi), "count": count, "accuracy": acc, "confidence": mean_conf})
        else:
            bins.append({"lower": float(lo), "upper": float(hi), "count": 0, "accuracy": None, "confidence": None})
    return float(ece), bins


def roc_entry(y, probs, k):
    pos = (y == k).astype(int)
    if pos.sum() == 0 or pos.sum() == len(y):
        return None
    fpr, tpr, thr = metrics.roc_curve(pos, probs[:, k])  # drop_intermediate=True (sklearn default)
    ffpr, ftpr, fthr = metrics.roc_curve(pos, probs[:, k], drop_intermediate=False)
    sens = {}
    for spec in SPECIFICITIES:
        ok = ffpr <= (1 - spec) + 1e-12
        sens[str(spec)] = float(ftpr[ok].max())
    return {
        "auc": float(metrics.roc_auc_score(pos, probs[:, k])),
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": [None if not np.isfinite(t) else float(t) for t in thr],
        "fullFpr": ffpr.tolist(),
        "fullTpr": ftpr.tolist(),
        "sensitivityAtSpecificity": sens,
    }


def expected(y, probs):
    pred = probs.argmax(axis=1)  # first index wins ties, like lesionlab's argmax
    labels = list(range(K))
    p, r, f, s = metrics.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    report = metrics.classification_report(y, pred, output_dict=True, zero_division=0)
    rocs = [roc_entry(y, probs, k) for k in range(K)]
    aucs = [e["auc"] for e in rocs if e is not None]
    ece, bins = ece_reference(y, probs)
    out = {
        "predictions": pred.tolist(),
        "accuracy": float(metrics.accuracy_score(y, pred)),
        "balancedAccuracy": float(metrics.balanced_accuracy_score(y, pred)),
        "perClass": {"precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist()},
        "macroAvg": {key: float(report["macro avg"][key]) for key in ("precision", "recall", "f1-score")},
        "weightedAvg": {key: float(report["weighted avg"][key]) for key in ("precision", "recall", "f1-score")},
        "confusion": metrics.confusion_matrix(y, pred, labels=labels).tolist(),
        "confusionNormalized": metrics.confusion_matrix(y, pred, labels=labels, normalize="true").tolist(),
        "roc": rocs,
        "macroAuc": float(np.mean(aucs)),
        "top2": float(metrics.top_k_accuracy_score(y, probs, k=2, labels=labels)),
        "top3": float(metrics.top_k_accuracy_score(y, probs, k=3, labels=labels)),
        "logLoss": float(metrics.log_loss(y, probs, labels=labels)),
        "ece": ece,
        "reliability": bins,
    }
    if len(np.unique(y)) == K:
        out["sklearnMacroAucOvr"] = float(metrics.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    return out


def mcnemar_cases(rng):
    pairs = [(0, 0), (0, 1), (3, 7), (5, 5), (12, 11), (1, 23), (10, 14), (13, 12), (40, 25), (100, 80), (7, 300), (2000, 1900)]
    out = []
    for b, c in pairs:
        n = b + c
        exact = 1.0 if n == 0 else float(stats.binomtest(min(b, c), n, 0.5).pvalue)
        chi2 = 0.0 if n == 0 else (abs(b - c) - 1) ** 2 / n if abs(b - c) >= 1 else 0.0
        out.append({"b": b, "c": c, "exactP": exact, "chi2": float(chi2), "chi2P": float(stats.chi2.sf(chi2, 1)) if n else 1.0})
    return out


def main():
    rng = np.random.default_rng(20240611)
    ham_priors = [327, 514, 1099, 115, 1113, 6705, 142]
    specs = {
        "uniform-200": dict(n=200, max_weight=20, priors=[1] * K),
        "absent-df-150": dict(n=150, max_weight=12, priors=[1] * K, absent=(3,)),
        "heavy-ties-120": dict(n=120, max_weight=3, priors=[1] * K, boost=2),
        "ham-priors-500": dict(n=500, max_weight=30, priors=ham_priors, boost=12),
        "small-12": dict(n=12, max_weight=4, priors=[1] * K, boost=4),
        "unseen-vasc-60": dict(n=60, max_weight=6, priors=[1] * K, absent=(3,), unseen=(6,)),
    }
    versions = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, spec in specs.items():
        y, probs, groups = make_case(rng, **spec)
        case = {
            "name": name,
            "generator": "scripts/golden/make_metrics_fixtures.py",
            "versions": versions,
            "classes": CLASSES,
            "labels": y.tolist(),
            "probabilities": probs.tolist(),
            "groups": groups,
            "expected": expected(y, probs),
        }
        with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as fh:
            json.dump(case, fh)
            fh.write("\n")
    with open(os.path.join(OUT_DIR, "mcnemar.json"), "w") as fh:
        json.dump({"generator": "scripts/golden/make_metrics_fixtures.py", "versions": versions, "cases": mcnemar_cases(rng)}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {len(specs) + 1} fixtures to {OUT_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()

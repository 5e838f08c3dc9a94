#!/usr/bin/env python3
"""Established learners on the train/validation/test HDF5 files that ectrain trains on.

Reads the files as `ectrain generate` or `ectrain prepare` write them (label, dense float
columns, categorical int32 ids; multi-valued CSR groups are ignored), tunes every learner on the
validation file only, and scores it once on the test file (AUC and log-loss):

  constant   the training positive rate
  logreg     scikit-learn LogisticRegression on one-hot categorical ids + standardised dense
             columns, C chosen on validation
  xgboost    gradient-boosted trees on out-of-fold target encodings of each categorical column
             (5 folds on train, smoothed towards the positive rate), their log counts and the dense
             columns; depth and learning rate chosen on validation, rounds by early stopping on it
  mf         PyTorch logistic matrix factorisation: a bias per id of every categorical column,
             <user factor, item factor (+ its category's factor)>, a linear term in the dense
             columns; L2 per field on the whole tables (dense updates, Adam), early stopped on
             validation, the L2 strength and factor size chosen on validation

When the test (and validation) file holds `hidden_logit` (the true logits `ectrain generate`
writes), the hidden model's own figures are printed too: the Bayes figure no learner can beat.

  python3 bench/quality/baselines.py --train T.h5 --validation V.h5 --test X.h5 --json out.json

Columns default to the stored schema of the training file (/ectrain/schema); --user, --item and
--category default to the categorical columns user, item and category (or user_id, item_id,
category_id) when present; without a user and an item column, mf is skipped.
"""
import argparse
import glob
import json
import os
import sys
import time

import h5py
import numpy as np

CLIP = 1e-7  # probabilities are clipped to [CLIP, 1 - CLIP] for the log-loss


def expand(path):
    """A file, or the .h5 files of a folder (the shards `generate` writes), sorted."""
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "*.h5")))
        if not files:
            sys.exit(f"error: folder {path} holds no .h5 files")
        return files
    if not os.path.exists(path):
        sys.exit(f"error: {path} not found")
    return [path]


def stored_schema(path):
    with h5py.File(expand(path)[0], "r") as f:
        if "ectrain/schema" not in f:
            return None
        text = f["ectrain/schema"][()]
        return json.loads(text.decode() if isinstance(text, bytes) else text)


class Split:
    """One file's rows: label y, dense (n, d) float32, ids (n, c) int64, hidden logits or None."""

    def __init__(self, path, label, dense, categorical):
        ys, xs, cs, hs = [], [], [], []
        for name in expand(path):
            with h5py.File(name, "r") as f:
                for column in [label] + dense + categorical:
                    if column not in f or not isinstance(f[column], h5py.Dataset):
                        sys.exit(f"error: {name} has no column '{column}'; columns: {', '.join(sorted(f.keys()))}")
                ys.append(f[label][:].astype(np.float32))
                xs.append(np.stack([f[c][:].astype(np.float32) for c in dense], axis=1) if dense
                          else np.zeros((len(ys[-1]), 0), np.float32))
                cs.append(np.stack([f[c][:].astype(np.int64) for c in categorical], axis=1) if categorical
                          else np.zeros((len(ys[-1]), 0), np.int64))
                hs.append(f["hidden_logit"][:].astype(np.float64) if "hidden_logit" in f else None)
        self.path = path
        self.y = np.concatenate(ys)
        self.dense = np.concatenate(xs)
        self.ids = np.concatenate(cs)
        self.hidden = None if any(h is None for h in hs) else np.concatenate(hs)
        bad = ~np.isin(self.y, (0.0, 1.0))
        if bad.any():
            sys.exit(f"error: {path}: label '{label}' holds {bad.sum()} values other than 0 and 1 "
                     f"(first: {self.y[bad][0]}); these baselines are for binary labels")
        if not np.isfinite(self.dense).all():
            sys.exit(f"error: {path}: dense columns hold NaN or infinite values; prepare the data first")
        if (self.ids < 0).any():
            sys.exit(f"error: {path}: negative categorical ids")

    def __len__(self):
        return len(self.y)


def metrics(y, p):
    from sklearn.metrics import roc_auc_score
    p = np.clip(np.asarray(p, np.float64), CLIP, 1 - CLIP)
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    return {"auc": auc, "log_loss": log_loss}


def better(a, b, select):
    """Whether validation metrics a beat b by `select` (log_loss lower, auc higher)."""
    if b is None:
        return True
    return a[select] < b[select] if select == "log_loss" else a[select] > b[select]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- the learners: each returns (validation predictions, test predictions, chosen settings, tried) ---

def constant(data, args):
    p = float(data.train.y.mean())
    return np.full(len(data.validation), p), np.full(len(data.test), p), {"p": round(p, 6)}, []


def standardise(train, *others):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1
    return [(x - mean) / std for x in (train,) + others]


def logreg(data, args):
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    sizes = data.sizes
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    def design(split, dense):
        n, c = split.ids.shape
        rows = np.repeat(np.arange(n), c)
        cols = (split.ids + offsets).ravel()
        one_hot = sp.csr_matrix((np.ones(n * c, np.float32), (rows, cols)), shape=(n, int(sum(sizes))))
        return sp.hstack([one_hot, sp.csr_matrix(dense)], format="csr")

    dense = standardise(data.train.dense, data.validation.dense, data.test.dense)
    x_train, x_validation, x_test = (design(s, d) for s, d in zip(data.splits, dense))
    best, tried = None, []
    for c in args.lr_c:
        start = time.time()
        model = LogisticRegression(C=c, solver=args.lr_solver, max_iter=args.lr_max_iter, tol=1e-4)
        model.fit(x_train, data.train.y)
        p_validation = model.predict_proba(x_validation)[:, 1]
        m = metrics(data.validation.y, p_validation)
        tried.append({"C": c, "validation": m, "seconds": round(time.time() - start, 1), "iterations": int(np.max(model.n_iter_))})
        print(f"  logreg C={c:g}: validation AUC {m['auc']:.4f} log-loss {m['log_loss']:.4f} "
              f"({time.time() - start:.0f} s, {int(np.max(model.n_iter_))} iterations)", flush=True)
        if better(m, best and best[0], args.select):
            best = (m, c, model)
    _, c, model = best
    return model.predict_proba(x_validation)[:, 1], model.predict_proba(x_test)[:, 1], {"C": c}, tried


def target_encodings(data, args):
    """Per categorical column: the out-of-fold smoothed click rate of its id and the log of its
    training count, for train (5 folds), validation and test (all training rows)."""
    y = data.train.y.astype(np.float64)
    prior = y.mean()
    m = args.te_smoothing
    rng = np.random.default_rng(args.seed)
    fold = rng.integers(0, args.te_folds, len(y))
    out = [[], [], []]
    for j, size in enumerate(data.sizes):
        ids = data.train.ids[:, j]
        clicks = np.bincount(ids, weights=y, minlength=size)
        views = np.bincount(ids, minlength=size).astype(np.float64)
        encoded = np.empty(len(y))
        for k in range(args.te_folds):
            inside = fold == k
            c = clicks - np.bincount(ids[inside], weights=y[inside], minlength=size)
            v = views - np.bincount(ids[inside], minlength=size)
            encoded[inside] = (c[ids[inside]] + m * prior) / (v[ids[inside]] + m)
        out[0] += [encoded, np.log1p(views[ids])]
        for s, split in enumerate((data.validation, data.test), start=1):
            other = split.ids[:, j]
            out[s] += [(clicks[other] + m * prior) / (views[other] + m), np.log1p(views[other])]
    return [np.column_stack(columns + [split.dense]).astype(np.float32) for columns, split in zip(out, data.splits)]


def xgboost(data, args):
    import xgboost as xgb

    start = time.time()
    x_train, x_validation, x_test = target_encodings(data, args)
    print(f"  xgboost: target encodings in {time.time() - start:.0f} s", flush=True)
    d_train = xgb.DMatrix(x_train, label=data.train.y)
    d_validation = xgb.DMatrix(x_validation, label=data.validation.y)
    d_test = xgb.DMatrix(x_test)
    best, tried = None, []
    for depth in args.xgb_depths:
        for eta in args.xgb_etas:
            start = time.time()
            params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
                      "max_depth": depth, "eta": eta, "nthread": args.threads, "seed": args.seed,
                      "min_child_weight": 5, "subsample": 0.8, "colsample_bytree": 0.8}
            booster = xgb.train(params, d_train, num_boost_round=args.xgb_rounds, evals=[(d_validation, "validation")],
                                early_stopping_rounds=args.xgb_patience, verbose_eval=False)
            rounds = booster.best_iteration + 1
            p_validation = booster.predict(d_validation, iteration_range=(0, rounds))
            m = metrics(data.validation.y, p_validation)
            tried.append({"max_depth": depth, "eta": eta, "rounds": rounds, "validation": m,
                          "seconds": round(time.time() - start, 1)})
            print(f"  xgboost depth {depth} eta {eta:g}: {rounds} rounds, validation AUC {m['auc']:.4f} "
                  f"log-loss {m['log_loss']:.4f} ({time.time() - start:.0f} s)", flush=True)
            if better(m, best and best[0], args.select):
                best = (m, {"max_depth": depth, "eta": eta, "rounds": rounds}, booster)
    _, chosen, booster = best
    rounds = (0, chosen["rounds"])
    return (booster.predict(d_validation, iteration_range=rounds), booster.predict(d_test, iteration_range=rounds),
            chosen, tried)


def mf(data, args):
    import torch

    if data.user is None or data.item is None:
        return None  # no user and item columns: nothing to factorise
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # strong L2 drives rows towards 0: denormals would be 10x slower
    sizes = data.sizes
    u, i = data.categorical.index(data.user), data.categorical.index(data.item)
    c = data.categorical.index(data.category) if data.category else None
    dense = standardise(data.train.dense, data.validation.dense, data.test.dense)
    tensors = [(torch.from_numpy(s.ids), torch.from_numpy(np.ascontiguousarray(d, np.float32)),
                torch.from_numpy(s.y)) for s, d in zip(data.splits, dense)]
    prior = float(data.train.y.mean())
    n = len(data.train)

    class LogisticMF(torch.nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.tensor([np.log(prior / (1 - prior))], dtype=torch.float32))
            self.field_bias = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(s)) for s in sizes])
            self.user = torch.nn.Parameter(0.01 * torch.randn(sizes[u], dim))
            self.item = torch.nn.Parameter(0.01 * torch.randn(sizes[i], dim))
            self.category = torch.nn.Parameter(0.01 * torch.randn(sizes[c], dim)) if c is not None else None
            self.linear = torch.nn.Parameter(torch.zeros(dense[0].shape[1]))

        def forward(self, ids, x):
            z = self.bias + x @ self.linear
            for f, table in enumerate(self.field_bias):
                z = z + table[ids[:, f]]
            item = self.item[ids[:, i]]
            if self.category is not None:
                item = item + self.category[ids[:, c]]
            return z + (self.user[ids[:, u]] * item).sum(dim=1)

        def penalty(self, l2_bias, l2_factor):
            factors = [self.user, self.item] + ([self.category] if self.category is not None else [])
            return (l2_bias * sum((t * t).sum() for t in self.field_bias) +
                    l2_factor * sum((t * t).sum() for t in factors))

    def predict(model, split):
        ids, x, _ = split
        with torch.no_grad():
            return torch.sigmoid(torch.cat([model(ids[s:s + 65536], x[s:s + 65536])
                                            for s in range(0, len(ids), 65536)])).double().numpy()

    best, tried = None, []
    for dim in args.mf_dims:
        for l2 in args.mf_l2:
            start = time.time()
            model = LogisticMF(dim)
            optimizer = torch.optim.Adam(model.parameters(), lr=args.mf_lr)
            ids, x, y = tensors[0]
            run_best, since_best, epoch_of_best, state = None, 0, 0, None
            for epoch in range(1, args.mf_epochs + 1):
                order = torch.randperm(n)
                for s in range(0, n, args.mf_batch):
                    rows = order[s:s + args.mf_batch]
                    optimizer.zero_grad()
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(ids[rows], x[rows]), y[rows])
                    # The objective: mean cross-entropy + L2 of every table, all rows, over the rows of train.
                    (loss + model.penalty(l2 * args.mf_bias_l2_ratio, l2) / n).backward()
                    optimizer.step()
                m = metrics(data.validation.y, predict(model, tensors[1]))
                if args.verbose:
                    print(f"    epoch {epoch}: validation AUC {m['auc']:.4f} log-loss {m['log_loss']:.4f} "
                          f"({time.time() - start:.0f} s)", flush=True)
                if better(m, run_best, args.select):
                    run_best, since_best, epoch_of_best = m, 0, epoch
                    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    since_best += 1
                    if since_best >= args.mf_patience:
                        break
            model.load_state_dict(state)
            tried.append({"dim": dim, "l2": l2, "epochs": epoch_of_best, "validation": run_best,
                          "seconds": round(time.time() - start, 1)})
            print(f"  mf dim {dim} l2 {l2:g}: best epoch {epoch_of_best}, validation AUC {run_best['auc']:.4f} "
                  f"log-loss {run_best['log_loss']:.4f} ({time.time() - start:.0f} s)", flush=True)
            if better(run_best, best and best[0], args.select):
                best = (run_best, {"dim": dim, "l2": l2, "epochs": epoch_of_best}, model)
    _, chosen, model = best
    return predict(model, tensors[1]), predict(model, tensors[2]), chosen, tried


LEARNERS = {"constant": constant, "logreg": logreg, "xgboost": xgboost, "mf": mf}


class Data:
    def __init__(self, args):
        schema = stored_schema(args.train) or {}
        self.label = args.label or schema.get("label")
        if not self.label:
            sys.exit("error: give --label (the training file has no stored schema naming it)")
        self.dense = args.dense if args.dense is not None else schema.get("dense", [])
        self.categorical = args.categorical if args.categorical is not None else schema.get("categorical", [])
        named = lambda given, *defaults: given or next((d for d in defaults if d in self.categorical), None)
        self.user, self.item = named(args.user, "user", "user_id"), named(args.item, "item", "item_id")
        self.category = named(args.category, "category", "category_id")
        for role, name in (("--user", self.user), ("--item", self.item), ("--category", self.category)):
            if name is not None and name not in self.categorical:
                sys.exit(f"error: {role} {name} is not one of the categorical columns {self.categorical}")
        start = time.time()
        self.train, self.validation, self.test = self.splits = [
            Split(p, self.label, self.dense, self.categorical) for p in (args.train, args.validation, args.test)]
        # Ids index tables: the largest id seen anywhere (or the schema's vocabulary) + 1.
        stored = dict(zip(schema.get("categorical", []), schema.get("vocab_sizes", [])))
        self.sizes = [max([stored.get(name, 0)] + [int(s.ids[:, j].max()) + 1 for s in self.splits if len(s)])
                      for j, name in enumerate(self.categorical)]
        self.read_seconds = time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="training file (or folder of shards)")
    parser.add_argument("--validation", required=True, help="validation file: every choice is made on it")
    parser.add_argument("--test", required=True, help="test file: scored once per learner")
    parser.add_argument("--label", help="label column (default: the stored schema's)")
    split = lambda text: [t for t in text.split(",") if t]
    parser.add_argument("--dense", type=split, help="dense columns, comma-separated (default: the stored schema's)")
    parser.add_argument("--categorical", type=split, help="categorical id columns (default: the stored schema's)")
    parser.add_argument("--user", help="user id column, for mf (default: user or user_id if categorical)")
    parser.add_argument("--item", help="item id column, for mf (default: item or item_id if categorical)")
    parser.add_argument("--category", help="item category column, for mf (default: category or category_id if categorical)")
    parser.add_argument("--learners", type=split, default=list(LEARNERS), help="comma-separated subset of "
                        + ",".join(LEARNERS))
    parser.add_argument("--select", choices=["log_loss", "auc"], default="log_loss",
                        help="validation metric the settings are chosen by")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--verbose", action="store_true", help="print every epoch of mf")
    floats = lambda text: [float(t) for t in split(text)]
    ints = lambda text: [int(t) for t in split(text)]
    parser.add_argument("--lr-c", type=floats, default=[0.03, 0.1, 0.3, 1, 3], help="C values tried")
    parser.add_argument("--lr-solver", default="lbfgs", help="LogisticRegression solver (lbfgs: fastest here on sparse one-hot)")
    parser.add_argument("--lr-max-iter", type=int, default=500)
    parser.add_argument("--te-folds", type=int, default=5)
    parser.add_argument("--te-smoothing", type=float, default=20, help="pseudo-views at the training rate")
    parser.add_argument("--xgb-depths", type=ints, default=[4, 6, 8])
    parser.add_argument("--xgb-etas", type=floats, default=[0.1, 0.3])
    parser.add_argument("--xgb-rounds", type=int, default=1000, help="most boosting rounds")
    parser.add_argument("--xgb-patience", type=int, default=20, help="early stopping rounds")
    parser.add_argument("--mf-dims", type=ints, default=[16])
    parser.add_argument("--mf-l2", type=floats, default=[1, 3, 10], help="L2 of the factor tables tried")
    parser.add_argument("--mf-bias-l2-ratio", type=float, default=1.0, help="L2 of the bias tables / of factors")
    parser.add_argument("--mf-lr", type=float, default=0.01)
    parser.add_argument("--mf-batch", type=int, default=4096)
    parser.add_argument("--mf-epochs", type=int, default=30)
    parser.add_argument("--mf-patience", type=int, default=2)
    args = parser.parse_args()
    unknown = [name for name in args.learners if name not in LEARNERS]
    if unknown:
        parser.error(f"unknown learner(s) {unknown}; choose from {list(LEARNERS)}")

    data = Data(args)
    print(f"data: train {len(data.train)} rows (positive rate {data.train.y.mean():.4f}), validation "
          f"{len(data.validation)}, test {len(data.test)}; label {data.label}; dense {data.dense}; categorical "
          f"{dict(zip(data.categorical, data.sizes))}; read in {data.read_seconds:.1f} s", flush=True)
    results = []
    if data.test.hidden is not None:
        bayes = {"name": "hidden model (Bayes)", "test": metrics(data.test.y, sigmoid(data.test.hidden)),
                 "validation": (metrics(data.validation.y, sigmoid(data.validation.hidden))
                                if data.validation.hidden is not None else None), "chosen": {}, "seconds": 0,
                 "cpu_seconds": 0}
        results.append(bayes)
    for name in args.learners:
        print(f"{name}:", flush=True)
        start, cpu_start = time.time(), time.process_time()
        out = LEARNERS[name](data, args)
        if out is None:
            print(f"  skipped: no --user and --item columns", flush=True)
            continue
        p_validation, p_test, chosen, tried = out
        results.append({"name": name, "validation": metrics(data.validation.y, p_validation),
                        "test": metrics(data.test.y, p_test), "chosen": chosen, "tried": tried,
                        "seconds": round(time.time() - start, 1),
                        "cpu_seconds": round(time.process_time() - cpu_start, 1)})

    print(f"\n{'learner':<22} {'chosen on validation':<38} {'val AUC':>8} {'val LL':>8} {'test AUC':>9} "
          f"{'test LL':>8} {'seconds':>8} {'CPU s':>7}")
    for r in results:
        v = r["validation"] or {"auc": float("nan"), "log_loss": float("nan")}
        chosen = " ".join(f"{k}={v2:g}" if isinstance(v2, float) else f"{k}={v2}" for k, v2 in r["chosen"].items())
        print(f"{r['name']:<22} {chosen:<38} {v['auc']:>8.4f} {v['log_loss']:>8.4f} {r['test']['auc']:>9.4f} "
              f"{r['test']['log_loss']:>8.4f} {r['seconds']:>8.0f} {r.get('cpu_seconds', 0):>7.0f}")
    if args.json:
        doc = {"train": args.train, "validation": args.validation, "test": args.test, "label": data.label,
               "dense": data.dense, "categorical": data.categorical, "vocab_sizes": data.sizes,
               "rows": {"train": len(data.train), "validation": len(data.validation), "test": len(data.test)},
               "positive_rate": {"train": float(data.train.y.mean()), "validation": float(data.validation.y.mean()),
                                 "test": float(data.test.y.mean())},
               "select": args.select, "learners": results}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

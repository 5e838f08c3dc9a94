#!/usr/bin/env python3
"""PyTorch on one GPU beside ectrain, for bench/gpu_throughput.sh: bench/pytorch_reference.py's model.

The model, initialisation, optimizers and lazy-table rule are pytorch_reference.py's (imported, not
copied): each categorical column an embedding of width --dim, concatenated with the dense columns,
then the --hidden ReLU layers and one logit; binary cross-entropy, the mean over the batch; Adam on
the dense parameters (fused=True on CUDA, PyTorch's fastest), torch.optim.SparseAdam on each table
that ectrain updates row-sparse (src/train/grad_sync.cc's rule), both lr 1e-3, betas 0.9/0.999.

Data: all columns on the device; every epoch a seeded permutation (outside the timed loop, as
pytorch_reference.py), then consecutive slices of --batch rows. --compile compiles the part after
the embedding lookups (concatenation, the layers and the loss) with torch.compile: the sparse
gradients of the lookups stay in eager mode. Windows: each epoch's step loop is timed (synchronized
with the device); epoch 1 is warm-up (allocator, cuBLAS, compilation) and the result is the median of
epochs 2..--epochs. The loss is summed on the device and read once per epoch.

Modes (one JSON line on stdout each):
  training (default)       samples/s per window and their median, first epoch's seconds, mean train
                           loss per epoch, test log-loss and AUC
  --embedding-bytes        no training (numpy only): the distinct ids a batch touches per table
                           (mean of --samples random batches) and the embedding traffic of one step
  --copy-bandwidth MIB     the device's copy bandwidth (bytes read + written per second), the
                           reference for the embeddings' share
  --generate DIR           no training (numpy only): the DLRM-like data, DIR/train.h5 and DIR/test.h5
                           as plain columns (README "Data"): --tables categorical columns c0.. of
                           --vocab ids each, drawn as floor(vocab * u^3) (a power law: small ids
                           popular), --dense-columns standard normal columns d0.., and a label
                           "clicked" from a logistic model of the dense values and a random effect
                           per id of each table

Embedding traffic of a step, the least the work needs, in fp32, per table of width D with B lookups
and U rows touched (U = the whole table for one updated whole): the forward pass reads B rows and
writes B outputs, the backward pass reads B output gradients and writes U row gradients, and Adam
reads parameter, moments and gradient and writes parameter and moments of U rows:
3 * B * D * 4 + 8 * U * D * 4 bytes.
"""
import argparse
import json
import os
import statistics
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import CtrModel, roc_auc, row_sparse  # noqa: E402  the same model and rule


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", help="training HDF5 (prepared by ectrain, or plain columns with --vocab-sizes)")
    p.add_argument("--test", help="test HDF5")
    p.add_argument("--label", default="clicked")
    p.add_argument("--dense", default="d1,d2,d3")
    p.add_argument("--categorical", default="user,item,category")
    p.add_argument("--vocab-sizes", default="", help="ids per categorical column, comma-separated (default: "
                   "the file's /ectrain/schema, as ectrain prepare writes it)")
    p.add_argument("--dim", type=int, default=16, help="embedding width")
    p.add_argument("--hidden", default="64,32", help="hidden layer widths")
    p.add_argument("--batch", type=int, default=4096, help="global batch")
    p.add_argument("--epochs", type=int, default=4, help="epochs; the first is warm-up")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="cuda", help="cuda or cpu")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--compile", action="store_true", help="torch.compile the part after the lookups")
    p.add_argument("--embedding-bytes", action="store_true", help="print the embedding traffic of a step; no training")
    p.add_argument("--samples", type=int, default=8, help="random batches for --embedding-bytes")
    p.add_argument("--copy-bandwidth", type=int, default=0, metavar="MIB",
                   help="measure the device's copy bandwidth with buffers of MIB MiB; no training")
    p.add_argument("--generate", metavar="DIR", help="write the DLRM-like data to DIR; no training")
    p.add_argument("--rows", type=int, default=1 << 22, help="--generate: training rows")
    p.add_argument("--test-rows", type=int, default=1 << 16, help="--generate: test rows")
    p.add_argument("--tables", type=int, default=26, help="--generate: categorical columns")
    p.add_argument("--vocab", type=int, default=1000000, help="--generate: ids per categorical column")
    p.add_argument("--dense-columns", type=int, default=13, help="--generate: dense columns")
    return p.parse_args(argv)


def names(arg):
    return [n for n in arg.split(",") if n]


def vocab_sizes(path, categorical, given):
    if given:
        sizes = [int(v) for v in given.split(",")]
        if len(sizes) != len(categorical):
            sys.exit(f"--vocab-sizes names {len(sizes)} sizes for {len(categorical)} categorical columns")
        return sizes
    with h5py.File(path, "r") as f:
        schema = json.loads(f["ectrain/schema"][()])
    return [schema["vocab_sizes"][schema["categorical"].index(n)] for n in categorical]


def read(path, args, with_features=True):
    with h5py.File(path, "r") as f:
        cat = np.stack([f[n][()].astype(np.int64) for n in names(args.categorical)], axis=1)
        if not with_features:
            return None, cat, None
        labels = f[args.label][()].astype(np.float32)
        dense = np.stack([f[n][()].astype(np.float32) for n in names(args.dense)], axis=1)
    return dense, cat, labels


def embedding_bytes(args):
    """The distinct ids of random batches per table, and the least embedding traffic of a step."""
    categorical = names(args.categorical)
    vocab = vocab_sizes(args.train, categorical, args.vocab_sizes)
    _, cat, _ = read(args.train, args, with_features=False)
    rng = np.random.default_rng(args.seed)
    n = cat.shape[0]
    batch = min(args.batch, n)
    unique = np.zeros(len(vocab))
    for _ in range(args.samples):
        rows = cat[rng.choice(n, size=batch, replace=False)]
        unique += [len(np.unique(rows[:, t])) for t in range(len(vocab))]
    unique /= args.samples
    sparse = [row_sparse(args.batch, v, args.dim) for v in vocab]
    touched = [u if s else v for u, v, s in zip(unique, vocab, sparse)]
    per_table = [3 * batch * args.dim * 4 + 8 * t * args.dim * 4 for t in touched]
    return {"mode": "embedding_bytes", "global_batch": args.batch, "tables": len(vocab), "dim": args.dim,
            "row_sparse_tables": sum(sparse), "unique_rows_per_step": float(sum(unique)),
            "unique_rows_per_table": [round(float(u), 1) for u in unique],
            "embedding_bytes_per_step": float(sum(per_table))}


def copy_bandwidth(args):
    dev = torch.device(args.device)
    count = args.copy_bandwidth * (1 << 20) // 4
    x = torch.ones(count, dtype=torch.float32, device=dev)
    y = torch.empty_like(x)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    y.copy_(x)
    sync()
    repeats = 20
    start = time.perf_counter()
    for _ in range(repeats):
        y.copy_(x)
    sync()
    seconds = time.perf_counter() - start
    return {"mode": "copy_bandwidth", "device": device_name(dev), "mib": args.copy_bandwidth,
            "bytes_per_second": 2 * count * 4 * repeats / seconds}  # read + written


def generate(args):
    rng = np.random.default_rng(args.seed)
    dense_weights = rng.standard_normal(args.dense_columns) / np.sqrt(args.dense_columns)
    effects = [rng.standard_normal(args.vocab).astype(np.float32) / np.sqrt(args.tables) for _ in range(args.tables)]
    os.makedirs(args.generate, exist_ok=True)
    for split, rows in (("train", args.rows), ("test", args.test_rows)):
        z = np.full(rows, -1.5, dtype=np.float32)
        with h5py.File(os.path.join(args.generate, split + ".h5"), "w") as f:
            for j in range(args.dense_columns):
                x = rng.standard_normal(rows, dtype=np.float32)
                z += dense_weights[j] * x
                f[f"d{j}"] = x
            for t in range(args.tables):
                ids = (args.vocab * rng.random(rows, dtype=np.float32) ** 3).astype(np.int32)
                np.minimum(ids, args.vocab - 1, out=ids)
                z += effects[t][ids]
                f[f"c{t}"] = ids
            f["clicked"] = (rng.random(rows, dtype=np.float32) < 1 / (1 + np.exp(-z))).astype(np.float32)
    return {"mode": "generate", "dir": args.generate, "rows": args.rows, "test_rows": args.test_rows,
            "tables": args.tables, "vocab": args.vocab, "dense_columns": args.dense_columns}


def device_name(dev):
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"


def train(args):
    dev = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compile and not hasattr(torch, "compile"):
        return {"mode": "compile", "error": f"torch.compile needs PyTorch 2; this is {torch.__version__}"}
    categorical = names(args.categorical)
    vocab = vocab_sizes(args.train, categorical, args.vocab_sizes)
    dense, cat, labels = (torch.from_numpy(a).to(dev) for a in read(args.train, args))
    sparse = [row_sparse(args.batch, v, args.dim) for v in vocab]
    hidden = [int(h) for h in args.hidden.split(",")]

    torch.manual_seed(args.seed)  # pytorch_reference.py's initialisation, on the host, then moved
    model = CtrModel(vocab, sparse, args.dim, dense.shape[1], hidden).to(dev)
    sparse_params = [e.weight for e, s in zip(model.embeddings, sparse) if s]
    dense_params = [p for p in model.parameters() if all(p is not q for q in sparse_params)]
    fused = {"fused": True} if dev.type == "cuda" else {}
    optimizers = [torch.optim.Adam(dense_params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, **fused)]
    if sparse_params:
        optimizers.append(torch.optim.SparseAdam(sparse_params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8))

    def after_lookups(embedded, dense_rows, label_rows):
        x = torch.cat(embedded + [dense_rows], dim=1)
        for layer in model.layers[:-1]:
            x = F.relu(layer(x))
        return F.binary_cross_entropy_with_logits(model.layers[-1](x).squeeze(1), label_rows)

    # dynamic=False: the epoch's short last batch gets a graph of its own instead of turning every
    # batch's graph into one for any size.
    step_loss = torch.compile(after_lookups, dynamic=False) if args.compile else after_lookups
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    n = labels.shape[0]
    steps_per_epoch = (n + args.batch - 1) // args.batch
    seconds, losses = [], []
    for epoch in range(args.epochs):
        g = torch.Generator().manual_seed(args.seed * 1000003 + epoch)
        perm = torch.randperm(n, generator=g).to(dev)
        e_dense, e_cat, e_labels = dense[perm], cat[perm], labels[perm]  # untimed, as pytorch_reference.py
        loss_sum = torch.zeros((), device=dev)
        sync()
        start = time.perf_counter()
        for s in range(steps_per_epoch):
            lo, hi = s * args.batch, min((s + 1) * args.batch, n)
            rows = e_cat[lo:hi]
            embedded = [e(rows[:, i]) for i, e in enumerate(model.embeddings)]
            loss = step_loss(embedded, e_dense[lo:hi], e_labels[lo:hi])
            for o in optimizers:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in optimizers:
                o.step()
            loss_sum += loss.detach()
        sync()
        seconds.append(time.perf_counter() - start)
        losses.append(loss_sum.item() / steps_per_epoch)

    windows = [n / s for s in seconds[1:]] or [n / seconds[0]]
    t_dense, t_cat, t_labels = (torch.from_numpy(a).to(dev) for a in read(args.test, args))
    with torch.no_grad():
        logits = torch.cat([model(t_dense[i:i + 65536], t_cat[i:i + 65536]) for i in range(0, len(t_labels), 65536)])
        log_loss = F.binary_cross_entropy_with_logits(logits.double(), t_labels.double()).item()
    return {
        "trainer": "pytorch", "mode": "compile" if args.compile else "eager", "torch": torch.__version__,
        "device": device_name(dev), "global_batch": args.batch, "epochs": args.epochs,
        "steps_per_epoch": steps_per_epoch, "train_rows": n, "row_sparse_tables": sum(sparse),
        "parameters": sum(p.numel() for p in model.parameters()),
        "window_samples_per_second": windows, "samples_per_second": statistics.median(windows),
        "first_epoch_seconds": seconds[0], "train_loss_per_epoch": losses,
        "test": {"log_loss": log_loss, "auc": roc_auc(logits.float().cpu().numpy(), t_labels.cpu().numpy()),
                 "count": len(t_labels)},
    }


def main():
    args = parse_args()
    if args.copy_bandwidth:
        result = copy_bandwidth(args)
    elif args.generate:
        result = generate(args)
    else:
        if not args.train or (not args.embedding_bytes and not args.test):
            sys.exit("--train (and --test for training) are needed")
        result = embedding_bytes(args) if args.embedding_bytes else train(args)
    print(json.dumps(result), flush=True)
    return 3 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The PyTorch reference for bench/vs_pytorch.sh: the same model, optimizer, data and loss as ectrain.

Model (as src/model/ctr_model.cc): each categorical column -> an embedding of width --dim (vocabulary
sizes from the prepared file's /ectrain/schema), concatenated with the dense columns -> Linear 64,
ReLU -> Linear 32, ReLU -> Linear 1; binary cross-entropy from logits, the mean over the global
batch. Initialisation as ectrain's: embeddings uniform(-0.05, 0.05), weights Glorot-uniform, biases 0.
Optimizer: Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8). By default each embedding table that ectrain
updates lazily (row-sparse: global_batch * (dim * 4 + 8) < rows * dim * 4, src/train/grad_sync.cc)
is an nn.Embedding(sparse=True) stepped by torch.optim.SparseAdam (the same lazy rule), the rest by
torch.optim.Adam. --dense-adam: dense embeddings and plain Adam everywhere (how most people write it).

Data order as ectrain's: every epoch a seeded permutation of the training rows, global batch s is
positions [s*B, (s+1)*B) of it (the last batch of an epoch may be short); with --ranks N each rank
takes a contiguous slice of it (DistributedDataParallel over gloo, one thread per process). The
permutation is applied once per epoch, outside the timed loop (ectrain reads each epoch's rows before
its step loop too), so a step is a zero-copy slice, forward, backward and optimizer step.

Prints one JSON line: samples_per_second and train_seconds (the step loop only, rank 0's clock),
the mean loss of the last --tail-steps steps, and the test log-loss and AUC on --test (rank 0).
Needs Debian's python3-torch (1.13, CPU) and python3-h5py: run with /usr/bin/python3.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import h5py
import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", required=True, help="prepared training HDF5 (ectrain prepare)")
    p.add_argument("--test", required=True, help="prepared test HDF5")
    p.add_argument("--label", default="clicked")
    p.add_argument("--dense", default="d1,d2,d3")
    p.add_argument("--categorical", default="user,item,category")
    p.add_argument("--dim", type=int, default=16, help="embedding width")
    p.add_argument("--hidden", default="64,32", help="hidden layer widths")
    p.add_argument("--batch", type=int, default=256, help="global batch (summed over ranks)")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads per process")
    p.add_argument("--dense-adam", action="store_true", help="dense embeddings + plain Adam everywhere")
    p.add_argument("--ranks", type=int, default=1, help="processes (DistributedDataParallel, gloo)")
    p.add_argument("--pin", action="store_true", help="process r runs on core r only (as mpirun --bind-to core)")
    p.add_argument("--tail-steps", type=int, default=200, help="report the mean loss of the last N steps")
    return p.parse_args(argv)


def read_columns(path, names, dtype):
    with h5py.File(path, "r") as f:
        return np.stack([f[n][()].astype(dtype) for n in names], axis=1)


def read_split(path, args):
    with h5py.File(path, "r") as f:
        schema = json.loads(f["ectrain/schema"][()])
        labels = f[args.label][()].astype(np.float32)
    dense = read_columns(path, args.dense.split(","), np.float32)
    cat = read_columns(path, args.categorical.split(","), np.int64)
    return torch.from_numpy(dense), torch.from_numpy(cat), torch.from_numpy(labels), schema


def row_sparse(global_batch, rows, dim):
    # ectrain's rule (src/train/grad_sync.cc): a batch of distinct ids moves fewer bytes than the table.
    return global_batch * (dim * 4 + 8) < rows * dim * 4


class CtrModel(nn.Module):
    def __init__(self, vocab_sizes, sparse_flags, dim, num_dense, hidden):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(v, dim, sparse=s) for v, s in zip(vocab_sizes, sparse_flags))
        widths = [len(vocab_sizes) * dim + num_dense] + hidden + [1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        for e in self.embeddings:
            nn.init.uniform_(e.weight, -0.05, 0.05)
        for l in self.layers:
            nn.init.xavier_uniform_(l.weight)  # Glorot: limit sqrt(6 / (in + out)), as ectrain
            nn.init.zeros_(l.bias)

    def forward(self, dense, cat):
        x = torch.cat([e(cat[:, i]) for i, e in enumerate(self.embeddings)] + [dense], dim=1)
        for l in self.layers[:-1]:
            x = F.relu(l(x))
        return self.layers[-1](x).squeeze(1)


def roc_auc(scores, labels):
    # Rank-sum AUC with ties given their average rank, as src/train/metrics.cc.
    y = labels > 0.5
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = ((ends - counts + 1 + ends) / 2.0)[inverse]
    p = int(y.sum())
    n = len(y) - p
    return float((ranks[y].sum() - p * (p + 1) / 2) / (p * n)) if p and n else float("nan")


def train(rank, args, store_path):
    if args.pin:
        os.sched_setaffinity(0, {rank})
    torch.set_num_threads(args.threads)
    world = args.ranks
    if world > 1:
        dist.init_process_group("gloo", init_method="file://" + store_path, rank=rank, world_size=world)
    dense, cat, labels, schema = read_split(args.train, args)
    vocab = schema["vocab_sizes"]
    names = args.categorical.split(",")
    cols = schema["categorical"]
    vocab = [vocab[cols.index(n)] for n in names]
    sparse = [False if args.dense_adam else row_sparse(args.batch, v, args.dim) for v in vocab]
    hidden = [int(h) for h in args.hidden.split(",")]

    torch.manual_seed(args.seed)  # same initial parameters on every rank
    model = CtrModel(vocab, sparse, args.dim, dense.shape[1], hidden)
    sparse_params = [e.weight for e, s in zip(model.embeddings, sparse) if s]
    dense_params = [p for p in model.parameters() if all(p is not q for q in sparse_params)]
    optimizers = [torch.optim.Adam(dense_params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)]
    if sparse_params:
        optimizers.append(torch.optim.SparseAdam(sparse_params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8))
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model

    n = labels.shape[0]
    steps_per_epoch = (n + args.batch - 1) // args.batch
    step = 0
    rows_done = 0
    seconds = 0.0
    losses = []
    epoch = 0
    while step < args.steps:
        g = torch.Generator().manual_seed(args.seed * 1000003 + epoch)
        perm = torch.randperm(n, generator=g)
        e_dense, e_cat, e_labels = dense[perm], cat[perm], labels[perm]  # untimed, as ectrain's epoch read
        start = time.perf_counter()
        for s in range(steps_per_epoch):
            if step >= args.steps:
                break
            lo, hi = s * args.batch, min((s + 1) * args.batch, n)
            global_rows = hi - lo
            # Rank r's contiguous slice of the global batch.
            a, b = lo + global_rows * rank // world, lo + global_rows * (rank + 1) // world
            logits = net(e_dense[a:b], e_cat[a:b])
            # Sum over this rank's rows / global rows; DDP averages over ranks, hence * world.
            loss = F.binary_cross_entropy_with_logits(logits, e_labels[a:b], reduction="sum") * (world / global_rows)
            for o in optimizers:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in optimizers:
                o.step()
            losses.append(loss.item() / world)  # this rank's share of the global mean
            step += 1
            rows_done += global_rows
        seconds += time.perf_counter() - start
        epoch += 1

    tail = losses[-args.tail_steps:]
    if world > 1:
        # The global mean loss of each of the last steps: the sum of the ranks' shares.
        t = torch.tensor(tail, dtype=torch.float64)
        dist.all_reduce(t)
        tail = t.tolist()
    if rank == 0:
        t_dense, t_cat, t_labels, _ = read_split(args.test, args)
        with torch.no_grad():
            logits = torch.cat([model(t_dense[i:i + 4096], t_cat[i:i + 4096])
                                for i in range(0, len(t_labels), 4096)])
            log_loss = F.binary_cross_entropy_with_logits(logits.double(), t_labels.double()).item()
        result = {
            "trainer": "pytorch", "torch": torch.__version__, "optimizer": "adam" if args.dense_adam else
            "sparse_adam+adam", "row_sparse_tables": sum(sparse), "ranks": world, "threads": args.threads,
            "global_batch": args.batch, "steps": step, "train_rows": n, "train_seconds": seconds,
            "samples_per_second": rows_done / seconds, "tail_train_loss": float(np.mean(tail)),
            "tail_steps": len(tail), "test": {"log_loss": log_loss, "auc": roc_auc(logits.numpy(), t_labels.numpy()),
                                              "count": len(t_labels)},
        }
        print(json.dumps(result), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def main():
    args = parse_args()
    if args.batch < args.ranks:
        sys.exit("--batch must be at least --ranks")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.ranks == 1:
        train(0, args, "")
        return
    with tempfile.TemporaryDirectory() as d:
        torch.multiprocessing.spawn(train, args=(args, os.path.join(d, "store")), nprocs=args.ranks)


if __name__ == "__main__":
    main()

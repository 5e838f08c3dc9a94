"""Runs an exported ONNX model (ectrain export) with onnxruntime and compares it with `ectrain predict`.

Usage: export_check.py MODEL.onnx PREDICTIONS.csv (--h5 PREPARED.h5 | --raw RAW.csv) [--rows N] [--tolerance T]

--h5 feeds the prepared file's columns as the sidecar (MODEL.onnx.json) names them; --raw encodes a raw
CSV with nothing but the sidecar (vocabularies, hashing, filling and scaling, bag splitting), as a serving
system would. PREDICTIONS.csv is predict's output for the same rows. Also runs onnx's checker. Prints the
largest difference and exits 1 when it exceeds the tolerance (or anything disagrees).
"""
import argparse
import csv
import json
import math
import sys

import numpy as np
import onnx
import onnxruntime as ort

MASK = (1 << 64) - 1


def mix64(v):
    v ^= v >> 30
    v = (v * 0xBF58476D1CE4E5B9) & MASK
    v ^= v >> 27
    v = (v * 0x94D049BB133111EB) & MASK
    return v ^ (v >> 31)


def hashed_id(text, buckets):
    h = 0xCBF29CE484222325 ^ mix64(0)
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return 1 + mix64(h) % (buckets - 1)


def tokenize(text):
    tokens, token = [], bytearray()
    for u in text.encode():
        if 48 <= u <= 57 or 97 <= u <= 122 or u >= 0x80:
            token.append(u)
        elif 65 <= u <= 90:
            token.append(u + 32)
        elif token:
            tokens.append(token.decode())
            token = bytearray()
    if token:
        tokens.append(token.decode())
    return tokens


def ids_of(spec, values):
    if spec.get("encoding") == "hash":
        return [hashed_id(v, spec["hash_buckets"]) for v in values]
    return [spec["vocabulary"].get(v, spec["unknown_id"]) for v in values]


def encode_raw(sidecar, path, rows):
    with open(path, newline="") as f:
        records = list(csv.DictReader(f, skipinitialspace=True))[:rows]
    missing = {m.lower() for m in sidecar["missing_values"]}
    feed = {}
    for spec in sidecar["inputs"]:
        texts = [r[spec["raw_column"]] for r in records]
        if spec["kind"] == "dense":
            p = spec["preprocessing"]
            out = []
            for t in texts:
                is_missing = t.strip().lower() in missing
                if "indicator_of" in p:
                    out.append(1.0 if is_missing else 0.0)
                    continue
                x = p["fill_value"] if is_missing else float(t)
                if p["log"]:
                    x = math.copysign(math.log1p(abs(x)), x)
                out.append((x - p["mean"]) / p["stddev"])
            feed[spec["name"]] = np.array(out, dtype=np.float32)
        elif spec["kind"] == "categorical":
            feed[spec["name"]] = np.array(ids_of(spec, [t.strip() for t in texts]), dtype=np.int64)
        else:
            values, offsets = [], [0]
            for t in texts:
                if "tokenize" in spec["split"]:
                    pieces = tokenize(t)
                else:
                    sep = spec["split"]["separator"]
                    pieces = [p.strip(" \t") for p in (t.split(sep) if sep else [t])]
                    pieces = [p for p in pieces if p]
                values += ids_of(spec, pieces)
                offsets.append(len(values))
            feed[spec["inputs"]["values"]["name"]] = np.array(values, dtype=np.int64)
            feed[spec["inputs"]["offsets"]["name"]] = np.array(offsets, dtype=np.int64)
    return feed, len(records)


def read_h5(sidecar, path, rows):
    import h5py

    feed = {}
    with h5py.File(path, "r") as f:
        n = min(rows, len(f[sidecar["inputs"][0]["name"] if sidecar["inputs"][0]["kind"] != "multi_valued"
                            else sidecar["inputs"][0]["name"] + "/offsets"]))
        for spec in sidecar["inputs"]:
            if spec["kind"] == "dense":
                feed[spec["name"]] = f[spec["name"]][:n].astype(np.float32)
            elif spec["kind"] == "categorical":
                feed[spec["name"]] = f[spec["name"]][:n].astype(np.int64)
            else:
                offsets = f[spec["name"] + "/offsets"][: n + 1].astype(np.int64)
                n = len(offsets) - 1
                feed[spec["inputs"]["offsets"]["name"]] = offsets
                feed[spec["inputs"]["values"]["name"]] = f[spec["name"] + "/values"][: offsets[-1]].astype(np.int64)
    return feed, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("predictions")
    ap.add_argument("--h5")
    ap.add_argument("--raw")
    ap.add_argument("--rows", type=int, default=10**9)
    ap.add_argument("--tolerance", type=float, default=1e-5)
    args = ap.parse_args()

    onnx.checker.check_model(onnx.load(args.model), full_check=True)
    with open(args.model + ".json") as f:
        sidecar = json.load(f)
    feed, rows = read_h5(sidecar, args.h5, args.rows) if args.h5 else encode_raw(sidecar, args.raw, args.rows)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    graph_inputs = {i.name for i in session.get_inputs()}
    if graph_inputs != set(feed):
        sys.exit(f"the graph's inputs {sorted(graph_inputs)} are not the sidecar's {sorted(feed)}")
    output = sidecar["output"]
    (out,) = session.run([output["name"]], feed)
    with open(args.predictions, newline="") as f:
        expected = list(csv.DictReader(f))[:rows]
    if len(expected) != rows or out.shape[0] != rows:
        sys.exit(f"rows: predict {len(expected)}, onnx {out.shape[0]}, fed {rows}")
    if output["name"] == "probabilities":
        # predict writes the whole distribution: one column per class, named by the class, in class order.
        predicted = np.array([[float(r[c]) for c in output["classes"]] for r in expected], dtype=np.float64)
        diff = np.abs(out.astype(np.float64) - predicted).max(axis=1)
        if not np.allclose(out.sum(axis=1), 1.0, atol=1e-5):
            sys.exit("class probabilities do not sum to 1")
    else:
        column = "probability" if output["name"] == "probability" else "prediction"
        diff = np.abs(out.astype(np.float64) - np.array([float(r[column]) for r in expected]))
    worst = float(diff.max()) if rows else 0.0
    print(f"{rows} rows, output {output['name']} {list(out.shape)}: max |onnx - predict| = {worst:.3g}")
    if not worst <= args.tolerance:
        sys.exit(f"difference {worst} beyond {args.tolerance} (row {int(diff.argmax())})")


if __name__ == "__main__":
    main()

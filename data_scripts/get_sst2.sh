#!/usr/bin/env bash
# GLUE SST-2 (train.tsv, dev.tsv with header sentence<TAB>label).
source "$(dirname "$0")/common.sh"
need unzip
zip=$data_root/sst2/SST-2.zip
fetch https://dl.fbaipublicfiles.com/glue/data/SST-2.zip "$zip"
unzip -qo "$zip" -d "$data_root/sst2"
cp "$data_root/sst2/SST-2/train.tsv" "$data_root/sst2/SST-2/dev.tsv" "$data_root/sst2/"
echo "SST-2 in $data_root/sst2"

#!/usr/bin/env bash
# WikiText-2 (raw tokens, Merity et al. 2016).
source "$(dirname "$0")/common.sh"
need unzip
zip=$data_root/wikitext-2/wikitext-2-v1.zip
fetch https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip "$zip"
unzip -qo "$zip" -d "$data_root/wikitext-2"
for split in train valid test; do
  cp "$data_root/wikitext-2/wikitext-2/wiki.$split.tokens" "$data_root/wikitext-2/$split.txt"
done
echo "WikiText-2 in $data_root/wikitext-2"

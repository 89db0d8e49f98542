#!/usr/bin/env bash
# Runs an lstm-nlp training on N processes through PyTorch's own launcher, torchrun (Debian's
# python3-torch), which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each.
#
#   scripts/launch.sh 2 build/bin/lstm-lm train --config configs/lm/zaremba-small.yaml \
#       --threads 1 --output-dir runs/ptb-small-ddp
#
# Several machines: run it on each with NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT set (the
# same MASTER_ADDR:MASTER_PORT, rank 0's machine, everywhere):
#
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 MASTER_PORT=29500 scripts/launch.sh 8 build/bin/lstm-lm train ...
#
# It spells torchrun's options with underscores, which both 1.13 and 2.x accept, and passes
# --redirects 1 --tee 1: torchrun 1.13 on Python 3.11 dies before starting any worker with its
# default --redirects 0 (AttributeError in to_map). Each rank's standard output is then printed
# with a [defaultN]: prefix; standard error (progress, errors) comes through as it is.
set -euo pipefail
if [ $# -lt 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/launch.sh PROCESSES_PER_MACHINE EXECUTABLE [ARGS...]" >&2
  exit 2
fi
command -v torchrun >/dev/null || { echo "launch.sh: torchrun not found (apt-get install python3-torch)" >&2; exit 2; }
nproc=$1
shift
if [ -n "${NNODES:-}" ] && [ "$NNODES" != 1 ]; then
  : "${NODE_RANK:?set NODE_RANK, 0 on the machine of MASTER_ADDR}" "${MASTER_ADDR:?set MASTER_ADDR}"
  where=(--nnodes "$NNODES" --node_rank "$NODE_RANK" --master_addr "$MASTER_ADDR"
         --master_port "${MASTER_PORT:-29500}")
else
  # One machine. Not --standalone: torchrun 1.13's always rendezvouses on port 29400, so a second
  # job on the machine (or a stopped one still holding the port) made this one wait forever. Port
  # 0 gives the rendezvous a free port, as torchrun 2.x's --standalone does.
  where=(--nnodes 1 --rdzv_backend c10d --rdzv_endpoint localhost:0 --rdzv_id "launch-$$")
fi
exec torchrun --no_python "${where[@]}" --nproc_per_node "$nproc" --redirects 1 --tee 1 "$@"

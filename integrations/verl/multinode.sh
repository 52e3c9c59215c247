#!/usr/bin/env bash
# A Ray cluster for multi-node GRPO, written out step by step.
#
# Every node needs the same software: veRL 0.9.1 with its GPU extra and visual-rewards
#   pip install "verl[vllm]==0.9.1" "visual-rewards[verl]"
# (installing visual-rewards registers its `verl.plugins` entry point, which is how every Ray
# worker process knows the `visual_rewards` reward manager), and the parquet files at the
# same path on every node (shared storage), or on HDFS/S3 paths veRL can copy.
#
# 1. On the head node:                     bash integrations/verl/multinode.sh head
# 2. On each other node:  HEAD_IP=10.0.0.1 bash integrations/verl/multinode.sh worker
# 3. Check that all GPUs joined:           ray status
# 4. On the head node, start training (NNODES = number of nodes, head included):
#      NNODES=2 MODEL_SIZE=7b TRAIN=/shared/train.parquet VAL=/shared/val.parquet \
#        bash integrations/verl/multinode.sh train
#    run_grpo.sh's `ray.init()` attaches to the running cluster through RAY_ADDRESS.
# 5. When done, on every node:             ray stop
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="${RAY_PORT:-6379}"
gpus="${GPUS_PER_NODE:-8}"

case "${1:-}" in
  head)
    ray start --head --port="${port}" --num-gpus="${gpus}" --dashboard-host=0.0.0.0
    echo "head started; on every other node run: HEAD_IP=<this node's IP> $0 worker"
    ;;
  worker)
    : "${HEAD_IP:?set HEAD_IP to the address of the head node}"
    ray start --address="${HEAD_IP}:${port}" --num-gpus="${gpus}"
    ;;
  train)
    shift
    export RAY_ADDRESS="${RAY_ADDRESS:-auto}"
    exec bash "${here}/run_grpo.sh" "$@"
    ;;
  *)
    echo "usage: $0 head | worker | train [hydra overrides...]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# GRPO on Qwen2-VL with visual-rewards' reward manager, veRL 0.9.1, one node (8 GPUs by
# default) or -- run on the head node of a Ray cluster (see multinode.sh) -- several nodes.
#
#   MODEL_SIZE=2b TRAIN=data/train.parquet VAL=data/val.parquet bash integrations/verl/run_grpo.sh
#   MODEL_SIZE=7b NNODES=2 ... bash integrations/verl/run_grpo.sh trainer.total_training_steps=500
#
# Environment: MODEL_SIZE (2b | 7b, default 2b), TRAIN and VAL (parquet files from
# prepare_data.py or `visual-rewards build-dataset ... --parquet`; every node must be able to
# read them), MODEL_PATH (default Qwen/Qwen2-VL-<size>-Instruct), NNODES (default 1),
# GPUS_PER_NODE (default 8), PRESET (visual_rft | default, default visual_rft).
# Anything after the script name is passed to veRL as Hydra overrides.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
size="${MODEL_SIZE:-2b}"
case "$size" in 2b|7b) ;; *) echo "MODEL_SIZE must be 2b or 7b, got '$size'" >&2; exit 2 ;; esac
: "${TRAIN:?set TRAIN to the training parquet file}"
: "${VAL:?set VAL to the validation parquet file}"
nnodes="${NNODES:-1}"
gpus="${GPUS_PER_NODE:-8}"

overrides=(
  "data.train_files=${TRAIN}"
  "data.val_files=${VAL}"
  "trainer.nnodes=${nnodes}"
  "trainer.n_gpus_per_node=${gpus}"
  "reward.reward_kwargs.preset=${PRESET:-visual_rft}"
)
if [ -n "${MODEL_PATH:-}" ]; then
  overrides+=("actor_rollout_ref.model.path=${MODEL_PATH}")
fi

# Fail early, on the driver, if the reward manager is not importable here.
python3 -c "import verl, visual_rewards.verl.manager"

exec python3 -m verl.trainer.main_ppo \
  --config-path "${here}/config" \
  --config-name "visual_rft_grpo_${size}" \
  "${overrides[@]}" "$@"

"""OpenRLHF's own reward client against the real server (loopback).

OpenRLHF needs vLLM and DeepSpeed to install, but its reward client
(``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor``) imports on CPU from a checkout: set
``OPENRLHF_SRC=/path/to/OpenRLHF``. The test runs ``execute`` with a stand-in generation
engine and a byte-level tokenizer (``query`` = the decoded prompt + response tokens, as
OpenRLHF builds it), so OpenRLHF's client posts to ``/openrlhf`` and reads the answer itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from visual_rewards.rewards import get_reward

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SRC = Path(__file__).resolve().parents[2] / "src"
PROMPT = "<|im_start|>user\nFind the cats.<|im_end|>\n<|im_start|>assistant\n"
GOOD = (
    "<think>two cats</think><answer>[{'Position': [10, 10, 100, 100], 'Confidence': 0.9}]</answer>"
)
LABEL = json.dumps({"solution": [[10, 10, 100, 100]], "task": "detection"})

_CLIENT = """
import asyncio, json, sys
from types import SimpleNamespace
import torch
from openrlhf.utils.agent import SingleTurnAgentExecutor

url, prompt, response, label = sys.argv[1:5]

class ByteTokenizer:  # token ids are UTF-8 bytes
    def __call__(self, text, add_special_tokens=False, return_tensors="pt"):
        return {"input_ids": torch.tensor([list(text.encode())])}
    def decode(self, ids, skip_special_tokens=False):
        return bytes(ids).decode()

class Engine:  # stands in for vLLM: always generates `response`, then its EOS token
    async def generate(self, prompt_token_ids, params, multi_modal_data=None):
        ids = list((response + "<|im_end|>").encode())
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=ids, finish_reason="stop", logprobs=None)])

params = SimpleNamespace(max_tokens=4096, logprobs=None)
out = asyncio.run(SingleTurnAgentExecutor(url).execute(prompt, label, params, 8192, ByteTokenizer(), Engine()))
print(json.dumps({k: out[k] for k in ("reward", "scores", "extra_logs")}))
"""


@pytest.mark.skipif(
    not os.environ.get("OPENRLHF_SRC"), reason="set OPENRLHF_SRC to an OpenRLHF checkout"
)
@pytest.mark.parametrize("response", [GOOD, "<think>none</think><answer>[]</answer>"])
def test_openrlhfs_client_gets_our_rewards(server: str, response: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.environ["OPENRLHF_SRC"]}
    args = [server + "/openrlhf", PROMPT, response, LABEL]
    out = subprocess.run(
        [sys.executable, "-c", _CLIENT, *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    want = get_reward("detection").score([response], [[[10, 10, 100, 100]]])
    assert got["reward"] == [float(want.total[0])]
    assert got["scores"] == got["reward"]
    assert got["extra_logs"]["applicable"] == [1.0]
    assert got["extra_logs"]["iou"] == [float(want.components["iou"][0])]

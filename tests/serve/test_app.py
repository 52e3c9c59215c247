"""The server in-process (FastAPI's TestClient, one real scoring worker): schemas and 4xx."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from visual_rewards.rewards import get_reward
from visual_rewards.serve.app import create_app
from visual_rewards.serve.config import ServeConfig
from visual_rewards.serve.loadtest import expected_results, make_requests

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

GOOD = (
    "<think>two boxes</think><answer>[{'Position': [10, 10, 100, 100], 'Confidence': 0.8}]</answer>"
)
CONFIG = ServeConfig(task="detection", workers=1, max_body_bytes=64_000, max_items=50)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(CONFIG)) as c:
        yield c


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"error", "problems"}
    assert "Traceback" not in response.text
    return " ".join([body["error"], *body.get("problems", [])])


def test_score_equals_the_rewards_in_process(client: TestClient) -> None:
    bodies = make_requests(20, items=8, seed=3)
    for body, expected in zip(bodies, expected_results(bodies), strict=True):
        response = client.post("/score", json=body)
        assert response.status_code == 200
        assert response.json()["results"] == expected


def test_score_defaults_to_the_servers_task_and_reports_not_applicable(client: TestClient) -> None:
    items = [
        {"completion": GOOD, "solution": [[10, 10, 100, 100]]},
        {"completion": GOOD, "solution": "?"},
    ]
    results = client.post("/score", json={"items": items}).json()["results"]
    want = get_reward("detection").score([GOOD, GOOD], [[[10, 10, 100, 100]], "?"])
    assert [r["reward"] for r in results] == ["detection_default"] * 2
    assert results[0]["total"] == pytest.approx(float(want.total[0]))
    assert results[1]["total"] is None and math.isnan(want.total[1])
    assert results[1]["components"]["iou"] is None


def test_chat_messages_and_image_size_are_accepted(client: TestClient) -> None:
    item = {
        "completion": [{"role": "assistant", "content": GOOD}],
        "solution": [[10, 10, 100, 100]],
        "image_size": [640, 480],
    }
    assert client.post("/score", json={"items": [item]}).json()["results"][0]["total"] > 2


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"items": [{"completion": 3}]}, "items.0.completion"),
        ({"items": [{"completion": "x", "colour": 1}]}, "items.0.colour"),
        ({"items": [{"completion": "x", "image_size": [0, 10]}]}, "items.0.image_size"),
        ({"items": [{"completion": "x", "image_size": [1.5, 10]}]}, "items.0.image_size"),
        ({"items": "x"}, "items"),
        ([1, 2], "body"),
        ({"items": [{"completion": "x", "task": "segmentation"}]}, "unknown task 'segmentation'"),
        ({"items": [{"completion": "x", "preset": "nope"}]}, "has no preset 'nope'"),
    ],
)
def test_bad_input_is_a_clear_422(client: TestClient, body: Any, needle: str) -> None:
    assert needle in _error(client.post("/score", json=body), 422)


def test_bad_json_is_422_without_echoing_the_body(client: TestClient) -> None:
    response = client.post(
        "/score", content=b'{"items": [SECRET', headers={"content-type": "application/json"}
    )
    assert "SECRET" not in _error(response, 422)


def test_an_option_another_task_lacks_is_422() -> None:
    config = ServeConfig(task="detection", workers=1, options=(("iou_threshold", "0.7"),))
    with TestClient(create_app(config)) as c:
        body = {"items": [{"completion": "x", "task": "format"}]}
        assert "unknown option" in _error(c.post("/score", json=body), 422)


@pytest.mark.parametrize(
    "config",
    [
        ServeConfig(task="detection", options=(("no_such_option", "1"),)),
        ServeConfig(task="counting", preset="visual_rft"),
        ServeConfig(preset="visual-rft"),
        ServeConfig(task="segmentation"),
    ],
)
def test_wrong_settings_fail_when_the_app_is_made(config: ServeConfig) -> None:
    with pytest.raises((ValueError, TypeError)):
        create_app(config)


def test_too_large_bodies_and_batches_are_413(client: TestClient) -> None:
    big = {"items": [{"completion": "x" * 70_000}]}
    assert "limit of 64000 bytes" in _error(client.post("/score", json=big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"items": [{"completion": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}]}'

    assert "limit" in _error(client.post("/score", content=chunks()), 413)
    many = {"items": [{"completion": "x"}] * 51}
    assert "at most 50" in _error(client.post("/score", json=many), 413)


def test_unknown_paths_and_methods(client: TestClient) -> None:
    assert _error(client.get("/nope"), 404)
    assert _error(client.get("/score"), 405)


def test_health_and_metrics(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["workers"] == 1 and len(health["worker_pids"]) == 1
    client.post("/score", json={"items": [{"completion": "x", "solution": [[1, 2, 3, 4]]}]})
    text = client.get("/metrics").text
    assert 'visual_rewards_requests_total{path="/score",status="200"}' in text
    assert 'visual_rewards_requests_total{path="/score",status="422"}' in text
    assert 'visual_rewards_request_seconds_count{path="/score"}' in text
    assert "visual_rewards_worker_pool_restarts_total 0" in text


PROMPT = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Find the cat.<|im_end|>\n<|im_start|>assistant\n"


def test_openrlhf_protocol(client: TestClient) -> None:
    expanded = PROMPT.replace("<|image_pad|>", "<|image_pad|>" * 5)
    body = {
        "query": [expanded + GOOD + "<|im_end|>", PROMPT + "no answer<|im_end|>", PROMPT + GOOD],
        "prompts": [PROMPT] * 3,
        "labels": ['{"solution": [[10, 10, 100, 100]]}', [[10, 10, 100, 100]], "not boxes"],
        "extra_key_from_a_newer_openrlhf": 1,
    }
    answer = client.post("/openrlhf", json=body).json()
    want = get_reward("detection").score([GOOD, "no answer"], [[[10, 10, 100, 100]]] * 2)
    assert answer["rewards"][:2] == pytest.approx(want.total.tolist())
    assert answer["rewards"][2] == CONFIG.not_applicable_score
    assert answer["scores"] == answer["rewards"]
    assert answer["extra_logs"]["applicable"] == [1.0, 1.0, 0.0]
    assert answer["extra_logs"]["parse_failed"] == [0.0, 1.0, 0.0]
    assert answer["extra_logs"]["iou"][0] == 1.0


def test_openrlhf_bad_input(client: TestClient) -> None:
    assert "expected 1 labels" in _error(
        client.post("/openrlhf", json={"query": ["a"], "labels": [1, 2]}), 422
    )
    body = {"query": ["something else"], "prompts": [PROMPT], "labels": [[[1, 2, 3, 4]]]}
    assert "query 0" in _error(client.post("/openrlhf", json=body), 422)
    body = {"query": [PROMPT], "prompts": [PROMPT], "labels": [{"solution": [], "colour": 1}]}
    assert "unknown label field" in _error(client.post("/openrlhf", json=body), 422)

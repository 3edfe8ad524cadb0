"""A ladder model on two real llama.cpp servers: requests spread over both, a killed replica loses
no request (the other answers), and the background probe puts it back when it returns."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hybrid_ai.providers import replicas as replicas_mod
from tests.gateway.conftest import auth
from tests.servers import LlamaServer, wait_until

BODY = {"model": "tinyllama", "prompt": "Say OK", "max_tokens": 1}
BYPASS = auth(**{"X-Cache-Bypass": "1"})


def _by_url(client):
    reps = client.get("/health").get_json()["dependencies"]["tinyllama"]["replicas"]
    return {r["url"]: r for r in reps}


@pytest.fixture
def replicated(build_app, llama, tmp_path):
    """(test client, the replicated engine, the second llama.cpp server) for tinyllama on two servers."""
    second = LlamaServer(tmp_path / "llama-2").start()
    try:
        app = build_app(models__tinyllama__url=[llama.url, second.url])
        engine = app.extensions["hybrid_ai"].providers["tinyllama"]
        assert isinstance(engine, replicas_mod.ReplicatedEngine)
        engine.probe_s = 0.5  # the probe thread (started by the first request) checks twice a second
        yield app.test_client(), engine, second
    finally:
        second.stop()


def test_replicas_share_the_load_and_a_dead_one_loses_nothing(replicated, llama):
    client, engine, second = replicated

    for _ in range(8):  # sequential: nothing in flight, so the replicas take turns
        r = client.post("/api/v1/chat", json=BODY, headers=BYPASS)
        assert r.status_code == 200 and r.get_json()["model"] == "tinyllama", r.get_json()
    reps = _by_url(client)
    answered = {url: rep["requests"] - rep["failures"] for url, rep in reps.items()}
    # turns: 4 / 4 (a stale keep-alive connection that fails is retried on the other: 3 / 5)
    assert sum(answered.values()) == 8 and min(answered.values()) >= 3, reps

    # concurrent: least outstanding keeps both busy
    def one(_: int) -> int:
        return client.post("/api/v1/chat", json=BODY, headers=BYPASS).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(one, range(12))) == [200] * 12
    reps = _by_url(client)
    after = {url: rep["requests"] - rep["failures"] for url, rep in reps.items()}
    assert after[llama.url] > answered[llama.url] and after[second.url] > answered[second.url], reps
    assert sum(after.values()) == 20, reps

    # one replica dies under load: every request is still answered by the other replica (not by
    # the next rung, not degraded)
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        end = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < end and len(statuses) < 200:
            res = client.post("/api/v1/chat", json=BODY, headers=BYPASS)
            body = res.get_json()
            served_here = body.get("model") == "tinyllama" and not body.get("escalations") and not body.get("degraded")
            statuses.append(res.status_code if served_here else (res.status_code, body.get("model")))

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(0.5)
    second.kill()
    time.sleep(1.5)
    stop.set()
    worker.join(40)
    assert statuses and set(statuses) == {200}, statuses
    state = engine.replicas[1]
    assert state.url == second.url and state.up is False and state.failures >= 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'api_gateway_replica_up{{model="tinyllama",replica="{second.url}"}} 0.0' in metrics

    # it comes back: the background probe (not a /health call) returns it to rotation
    second.start()
    wait_until(lambda: engine.replicas[1].up, 20, "replica back in rotation")
    before = engine.replicas[1].requests
    for _ in range(4):
        assert client.post("/api/v1/chat", json=BODY, headers=BYPASS).status_code == 200
    assert engine.replicas[1].requests > before


def test_streams_use_the_replicas_and_an_early_close_is_not_a_replica_failure(replicated):
    client, engine, _ = replicated
    body = {"model": "tinyllama", "messages": [{"role": "user", "content": "Count to ten."}], "stream": True}
    for _ in range(4):
        r = client.post("/v1/chat/completions", json={**body, "max_tokens": 4}, headers=BYPASS)
        assert r.status_code == 200 and r.get_data(as_text=True).rstrip().endswith("data: [DONE]")
    assert [rep.requests - rep.failures for rep in engine.replicas] in ([2, 2], [1, 3], [3, 1]), engine.health()

    # a client that reads one chunk and goes away: the replica stays in rotation
    r = client.post("/v1/chat/completions", json={**body, "max_tokens": 48}, headers=BYPASS, buffered=False)
    assert next(iter(r.response)).startswith(b"data: ")
    r.close()
    assert all(rep.up and rep.outstanding == 0 for rep in engine.replicas), engine.health()
    assert sum(rep.requests - rep.failures for rep in engine.replicas) == 5, engine.health()

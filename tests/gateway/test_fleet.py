"""Several gateways on one Redis (a fleet behind a load balancer): two `hybrid-ai serve` processes,
each with its own workers and metrics, share the cache, the stats, the rate limits and the
decision records exactly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis as redis_lib

from tests.gateway.conftest import KEYS, make_config
from tests.gateway.test_api import fresh_minute
from tests.gateway.test_served import Gateway

pytestmark = pytest.mark.integration
DB = 15
LIMIT = 24


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory, redis_server, llama, cloud):
    redis_lib.Redis(port=redis_server.port, db=DB).flushdb()
    gws = []
    for name in ("gw1", "gw2"):
        tmp = tmp_path_factory.mktemp(name)
        make_config(
            tmp,
            f"redis://127.0.0.1:{redis_server.port}/{DB}",
            llama.url,
            cloud.url,
            limits__rate_limit_per_minute=LIMIT,
        )
        gws.append(Gateway(tmp / "gateway.yml", tmp, workers=2).start())
    yield gws
    for gw in gws:
        gw.stop()


def test_two_gateways_share_cache_stats_limits_and_records(two_gateways, redis_server):
    gw1, gw2 = two_gateways
    h = {"Authorization": f"Bearer {KEYS[0]}"}
    with httpx.Client(timeout=60, headers=h) as c:
        # the cache: an answer made through one gateway is a hit through the other
        first = c.post(gw1.url + "/api/v1/chat", json={"prompt": "Name a colour.", "max_tokens": 4}).json()
        assert first["cached"] is False
        again = None
        for _ in range(50):  # the cache write follows the reply
            again = c.post(gw2.url + "/api/v1/chat", json={"prompt": "Name a colour.", "max_tokens": 4}).json()
            if again["cached"]:
                break
        assert again is not None and again["cached"] is True and again["response"] == first["response"]

        # stats: requests through both, concurrently; each gateway reports the same totals
        def one(i: int) -> str:
            gw = (gw1, gw2)[i % 2]
            body = {"prompt": f"Say {i}.", "max_tokens": 2}
            r = c.post(gw.url + "/api/v1/chat", json=body, headers={**h, "X-Cache-Bypass": "1"})
            assert r.status_code == 200, r.text
            return r.json()["request_id"]

        with ThreadPoolExecutor(6) as pool:
            rids = list(pool.map(one, range(12)))
        s1 = s2 = {}
        for _ in range(50):  # other workers write their batches within ~20 ms
            s1 = c.get(gw1.url + "/api/v1/stats").json()
            s2 = c.get(gw2.url + "/api/v1/stats").json()
            if s1["requests"] == s2["requests"] >= 12:
                break
        assert s1["complete"] and s2["complete"]
        expected = s1["requests"]
        assert expected >= 12 + 2 and s2["requests"] == expected
        assert s1["cache_bypass"] == s2["cache_bypass"] == 12
        assert s1["cache_hits"] == s2["cache_hits"] >= 1
        assert s1["by_model"] == s2["by_model"]

    # decision records: every request of both gateways, in the one Redis
    r = redis_lib.Redis(port=redis_server.port, db=DB)
    assert all(r.exists(f"hai:decision:{rid}") for rid in rids)

    # the rate limit is one budget per key across the fleet: exactly LIMIT pass in one minute
    fresh_minute(margin_s=20)
    h2 = {"Authorization": f"Bearer {KEYS[1]}"}
    with httpx.Client(timeout=30, headers=h2) as c2:

        def probe(i: int) -> int:
            gw = (gw1, gw2)[i % 2]
            return c2.post(gw.url + "/api/v1/complexity", json={"prompt": f"q {i}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(probe, range(LIMIT + 10)))
    assert codes.count(200) == LIMIT and codes.count(429) == 10, codes

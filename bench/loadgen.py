"""The Python load generator: asyncio + aiohttp, one process, ``concurrency`` workers each on its own keep-alive
connection, for ``duration`` seconds. It drives the full MFA login (a browser's steps: cookies, CSRF, TOTP) and can
drive every other scenario too (``--generator python``); wrk is used for those when it is installed, being ~10x
cheaper per request on the cores it shares with the server.

    python -m bench.loadgen job.json result.json

The job names the scenario, the base URL, concurrency, duration and the scenario's inputs. The result has the
counts, the latency percentiles and, for ``prime``, the tokens the flows got.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import sys
import time
from collections import deque
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pyotp

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ERROR_DETAIL_RE = re.compile(r'<p class="muted"><code>(.*?)</p>', re.S)
STEP = 30
MAX_ERROR_SAMPLES = 5


class FlowError(Exception):
    pass


class Stats:
    def __init__(self):
        self.latencies: list[float] = []  # seconds, per scenario unit (a whole flow for login)
        self.request_latencies: list[float] = []  # seconds, per HTTP request (login only)
        self.http_requests = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.tokens: list[dict] = []

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message[:300])


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p99": None, "mean": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": pick(0.50), "p99": pick(0.99), "mean": round(sum(ordered) / len(ordered) * 1000, 2),
            "max": round(ordered[-1] * 1000, 2)}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- the MFA login ------------------------------------------------------------------------------------------

class UserPool:
    """Users handed out so that none presents two codes in one TOTP time step (the server refuses a replay).

    ``last_steps`` is kept in a state file between runs of the same benchmark."""

    def __init__(self, users: list[dict], last_steps: dict[str, int]):
        self.queue = deque(users)
        self.last_steps = last_steps
        self.waits = 0

    async def take(self) -> tuple[dict, int]:
        while True:
            step = int(time.time()) // STEP
            for _ in range(len(self.queue)):
                user = self.queue.popleft()
                self.queue.append(user)
                if self.last_steps.get(user["username"], -1) < step:
                    self.last_steps[user["username"]] = step
                    return user, step
            self.waits += 1  # every user has used this step: too few users for this rate
            await asyncio.sleep(0.05)


class Browser:
    """One person's browser for one flow: its own cookies, on a shared keep-alive connection."""

    def __init__(self, http: aiohttp.ClientSession, base: str, stats: Stats):
        self.http, self.base, self.stats = http, base, stats
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, url: str, expect: int, **kwargs) -> tuple[aiohttp.ClientResponse, str]:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        target = url if url.startswith("http") else self.base + url
        started = time.perf_counter()
        async with self.http.request(method, target, headers=headers, allow_redirects=False, **kwargs) as response:
            body = await response.text()
        self.stats.request_latencies.append(time.perf_counter() - started)
        self.stats.http_requests += 1
        for header in response.headers.getall("Set-Cookie", []):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.status != expect:
            detail = ERROR_DETAIL_RE.search(body)
            raise FlowError(f"{method} {urlsplit(target).path}: {response.status} (expected {expect}): "
                            f"{detail.group(1) if detail else body[:150]!r}")
        return response, body


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _csrf(body: str) -> str:
    match = CSRF_RE.search(body)
    if not match:
        raise FlowError("no CSRF token on the page")
    return match.group(1)


async def login_flow(http, job: dict, user: dict, stats: Stats) -> dict:
    """authorize → login page → password → second-factor page → TOTP → resume (code) → token → userinfo."""
    web = job["web"]
    b = Browser(http, job["base_url"], stats)
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(12)
    params = {"response_type": "code", "client_id": web["client_id"], "redirect_uri": web["redirect_uri"],
              "scope": "openid profile email offline_access", "state": state, "nonce": secrets.token_urlsafe(12),
              "code_challenge": challenge, "code_challenge_method": "S256"}
    response, _ = await b.request("GET", "/authorize?" + urlencode(params), 303)
    login_url = response.headers["Location"]
    _, page = await b.request("GET", login_url, 200)
    uid = parse_qs(urlsplit(login_url).query)["uid"][0]
    form = {"csrf_token": _csrf(page), "uid": uid, "username": user["username"], "password": job["password"]}
    response, _ = await b.request("POST", "/login", 303, data=form)
    second = response.headers["Location"]
    _, page = await b.request("GET", second, 200)
    code = pyotp.TOTP(user["totp"]).at(user["step"] * STEP)
    response, _ = await b.request("POST", "/login/second-factor", 303,
                                  data={"csrf_token": _csrf(page), "method": "totp", "code": code})
    response, _ = await b.request("GET", response.headers["Location"], 302)
    redirect = parse_qs(urlsplit(response.headers["Location"]).query)
    if redirect.get("state", [None])[0] != state or "code" not in redirect:
        raise FlowError(f"authorization response without code or state: {response.headers['Location'][:150]}")
    token_form = {"grant_type": "authorization_code", "code": redirect["code"][0], "redirect_uri": web["redirect_uri"],
                  "code_verifier": verifier}
    _, body = await b.request("POST", "/token", 200, data=token_form,
                              headers={"Authorization": basic(web["client_id"], web["client_secret"])})
    tokens = json.loads(body)
    if not {"access_token", "id_token", "refresh_token"} <= tokens.keys():
        raise FlowError(f"token response lacks a token: {sorted(tokens)}")
    _, body = await b.request("GET", "/userinfo", 200, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    if "sub" not in json.loads(body):
        raise FlowError("userinfo without sub")
    return tokens


# --- one request per unit ------------------------------------------------------------------------------------

async def simple_request(http, job: dict, worker: int, state: dict, stats: Stats) -> None:
    scenario, base = job["scenario"], job["base_url"]
    if scenario in ("discovery", "jwks", "hello"):
        path = {"discovery": "/.well-known/openid-configuration", "jwks": "/jwks.json", "hello": "/bench/hello"}
        method, url, kwargs = "GET", base + path[scenario], {}
    elif scenario == "userinfo":
        token = job["access_tokens"][worker % len(job["access_tokens"])]
        method, url, kwargs = "GET", base + "/userinfo", {"headers": {"Authorization": f"Bearer {token}"}}
    elif scenario == "client_credentials":
        m = job["machine"]
        method, url = "POST", base + "/token"
        kwargs = {"data": {"grant_type": "client_credentials", "scope": m["scope"]},
                  "headers": {"Authorization": basic(m["client_id"], m["client_secret"])}}
    elif scenario == "refresh":
        w = job["web"]
        method, url = "POST", base + "/token"
        kwargs = {"data": {"grant_type": "refresh_token", "refresh_token": state["refresh_token"]},
                  "headers": {"Authorization": basic(w["client_id"], w["client_secret"])}}
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    async with http.request(method, url, allow_redirects=False, **kwargs) as response:
        body = await response.read()
        stats.http_requests += 1
        if response.status != 200:
            raise FlowError(f"{method} {urlsplit(url).path}: {response.status}: {body[:150]!r}")
        if scenario == "refresh":
            state["refresh_token"] = json.loads(body)["refresh_token"]


# --- running -------------------------------------------------------------------------------------------------

async def run(job: dict) -> dict:
    stats = Stats()
    concurrency, duration = job["concurrency"], job["duration"]
    scenario = job["scenario"]
    pool = None
    if scenario in ("login", "prime"):
        pool = UserPool(job["users"], job.get("last_steps", {}))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    remaining = [job.get("count")] if scenario == "prime" else [None]

    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        deadline = time.perf_counter() + duration

        async def worker(index: int) -> None:
            state = {}
            if scenario == "refresh":
                state["refresh_token"] = job["refresh_tokens"][index]
            while time.perf_counter() < deadline:
                if remaining[0] is not None:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                try:
                    if pool is not None:
                        user, step = await pool.take()
                        tokens = await login_flow(http, job, {**user, "step": step}, stats)
                        if scenario == "prime":
                            stats.tokens.append({k: tokens[k] for k in ("access_token", "refresh_token")})
                    else:
                        await simple_request(http, job, index, state, stats)
                except (FlowError, aiohttp.ClientError, asyncio.TimeoutError, KeyError, ValueError) as exc:
                    stats.error(f"{type(exc).__name__}: {exc}")
                    if scenario == "refresh":
                        return  # this worker's token family is gone
                    continue
                stats.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started

    result = {
        "scenario": scenario,
        "requests": len(stats.latencies),
        "http_requests": stats.http_requests,
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "elapsed": round(elapsed, 3),
        "latency_ms": percentiles(stats.latencies),
    }
    if pool is not None:
        result["request_latency_ms"] = percentiles(stats.request_latencies)
        result["user_pool_waits"] = pool.waits
        result["last_steps"] = pool.last_steps
    if scenario == "prime":
        result["tokens"] = stats.tokens
    return result


def main(argv: list[str]) -> None:
    job_path, result_path = argv
    with open(job_path) as fh:
        job = json.load(fh)
    result = asyncio.run(run(job))
    with open(result_path, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1:])

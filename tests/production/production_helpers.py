"""Production-shaped test rig: ``idp serve`` processes on loopback ports against one database, a TCP proxy that can
cut the database off, users seeded with authenticator apps, and the sign-in journey over HTTP step by step.

There is no load balancer in the rig: the test is the balancer and sends each request to the process it chooses.
Both processes share one issuer (the balancer's public URL, where nothing listens in the test); that works because
idp never derives a URL from the ``Host`` header (its redirects are relative paths) and its cookies are host-only
cookies on 127.0.0.1, which browsers (and ``requests``) send to every port of the host.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pyotp
import requests
import sqlalchemy as sa

from helpers import AuthorizationRequest, csrf_token, query

STEP = 30
#: where the balancer would listen: the issuer of both processes; nothing listens there in the test
ISSUER = "http://127.0.0.1:9"
HTTP_TIMEOUT = 30
PASSWORD = "a long test passphrase"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the database connection, cut and restored ----------------------------------------------------------------

class TcpProxy:
    """Forwards a loopback port to ``target``, as the network between idp and PostgreSQL. ``refuse()`` resets every
    connection and refuses new ones (the database went down); ``silence()`` resets every connection and accepts new
    ones without ever answering (a partition: only idp's own timeouts end the wait); ``restore()`` forwards again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.mode = "forward"
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, set()
            held, self._held = self._held, []
        for sock in [s for pair in pairs for s in pair] + held:
            _reset(sock)

    def refuse(self) -> None:
        with self._lock:
            self.mode = "refuse"
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._drop_all()

    def silence(self) -> None:
        with self._lock:
            self.mode = "silent"
        self._drop_all()
        self._listen()

    def restore(self) -> None:
        with self._lock:
            self.mode = "forward"
        self._drop_all()
        self._listen()

    close = refuse

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.mode == "silent":
                with self._lock:
                    self._held.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                if self.mode != "forward" or self._listener is not listener:  # cut while we connected
                    _reset(client), _reset(upstream)
                    continue
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        a, b = pair
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            try:
                while True:
                    for key, _ in sel.select():
                        data = key.fileobj.recv(65536)
                        if not data:
                            raise OSError("closed")
                        key.data.sendall(data)
            except (OSError, ValueError):
                pass
        with self._lock:
            self._pairs.discard(pair)
        _reset(a), _reset(b)


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# --- idp serve processes ------------------------------------------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, top: dict, sections: dict[str, dict]) -> Path:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for name, values in sections.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in values.items())
    path.write_text("\n".join(lines) + "\n")
    return path


class IdpProcess:
    """``idp serve`` on a free port with ``config``; output goes to a file (a full pipe would stall the server)."""

    def __init__(self, name: str, config: Path, workdir: Path, workers: int = 2, threads: int = 4):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"idp-{name}.log"
        env = dict(os.environ, IDP_CONFIG=str(config))
        for var in ("IDP_ISSUER", "IDP_DATABASE_URL", "IDP_KEYS_DIR", "IDP_SECRET_KEY", "IDP_CLIENT_SECRET_KEY",
                    "IDP_MFA_ENCRYPTION_KEY", "IDP_DEMO"):
            env.pop(var, None)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "idp", "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--threads", str(threads)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(Path(__file__).resolve().parents[2]))

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"idp {self.name} exited:\n{self.log()}"
            try:
                if requests.get(self.url + "/.well-known/openid-configuration", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"idp {self.name} did not answer at {self.url}:\n{self.log()}")

    def worker_pids(self) -> set[int]:
        """gunicorn's workers: the children of the master process (from /proc)."""
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return {int(p) for p in children}

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def terminate(self) -> None:
        """gunicorn's quick shutdown (SIGQUIT); the graceful SIGTERM has its own test in tests/cli/test_serve.py."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)

    def stop(self) -> None:
        self.terminate()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def start_processes(names, config: Path, workdir: Path, **kwargs) -> list[IdpProcess]:
    processes = [IdpProcess(name, config, workdir, **kwargs) for name in names]
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        for process in processes:
            process.stop()
        raise
    return processes


# --- seeded people ----------------------------------------------------------------------------------------------

@dataclass
class Person:
    username: str
    totp_key: str | None = None
    password: str = PASSWORD
    last_step: int = -1

    def totp_code(self) -> str:
        """The code of the current step, once per step (the server refuses a step it has seen: RFC 6238 5.2)."""
        while True:
            step = int(time.time()) // STEP
            if step > self.last_step:
                self.last_step = step
                return pyotp.TOTP(self.totp_key).at(step * STEP)
            time.sleep(0.2)


def seed_people(prefix: str, count: int, totp: bool = True) -> list[Person]:
    """Users ``<prefix>0..`` with the test password and, with ``totp``, a confirmed authenticator app (inside an
    app context; committed). The first is made by the users service; the rest copy its password hash, as hashing
    each would only slow the test down."""
    from flask import current_app

    from idp import clock
    from idp.extensions import db
    from idp.models import TotpCredential, User
    from idp.security.crypto import encrypt
    from idp.security.tokens import new_secret
    from idp.users import create_user, get_or_create_account

    account = get_or_create_account("Acme Reseller")
    password_hash = current_app.extensions["idp.passwords"].hash(PASSWORD)
    people = []
    for n in range(count):
        username = f"{prefix}{n}"
        if n == 0:
            user = create_user(account=account.name, username=username, email=f"{username}@acme.example",
                               password=PASSWORD)
        else:
            user = User(subject=new_secret(16), account=account, username=username, email=f"{username}@acme.example",
                        display_name=username, role="member", password_hash=password_hash)
            db.session.add(user)
        person = Person(username)
        if totp:
            person.totp_key = pyotp.random_base32(32)
            db.session.flush()
            db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(person.totp_key),
                                          confirmed_at=clock.now()))
            user.default_method = "totp"
        people.append(person)
    db.session.commit()
    return people


class PersonPool:
    """Hands out people so that no two threads sign in as the same person at once and no one reuses a step."""

    def __init__(self, people: list[Person]):
        self._free = list(people)
        self._cond = threading.Condition()

    def take(self, timeout: float = 60) -> Person:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                step = int(time.time()) // STEP
                ready = [p for p in self._free if p.last_step < step]
                if ready:
                    self._free.remove(ready[0])
                    return ready[0]
                if time.monotonic() > deadline:
                    raise AssertionError("no seeded person free to sign in; seed more")
                self._cond.wait(0.5)

    def give_back(self, person: Person) -> None:
        with self._cond:
            self._free.append(person)
            self._cond.notify()


# --- the journey over HTTP -----------------------------------------------------------------------------------

@dataclass
class RegisteredClient:
    client_id: str
    secret: str
    redirect_uris: list[str] = field(default_factory=lambda: ["http://127.0.0.1:9/callback"])


def register_client() -> RegisteredClient:
    from idp.extensions import db
    from idp.oidc.registration import create_client

    client, secret = create_client(name="Load test panel", redirect_uris=["http://127.0.0.1:9/callback"],
                                   trusted=True, post_logout_redirect_uris=["http://127.0.0.1:9/"])
    db.session.commit()
    return RegisteredClient(client.client_id, secret)


class StepFailed(AssertionError):
    """A step of the journey got an unexpected answer (``status`` kept for counting 5xx and 503s)."""

    def __init__(self, step: str, response: requests.Response):
        self.step = step
        self.status = response.status_code
        self.retry_after = response.headers.get("Retry-After")
        super().__init__(f"{step}: HTTP {response.status_code} {response.text[:300]!r}")


class Journey:
    """One browser's sign-in through authorize → password → TOTP → code → token, each step sent to the process
    the test names (``at``: a base URL). Redirects are followed by hand, so every hop's host is explicit."""

    def __init__(self, client: RegisteredClient, person: Person, timeout: float = HTTP_TIMEOUT,
                 http: requests.Session | None = None):
        self.client = client
        self.person = person
        self.http = http or requests.Session()
        self.timeout = timeout
        self.authz = AuthorizationRequest(client, scope="openid profile email offline_access")
        self.location = ""
        self.tokens: dict = {}

    def _send(self, step: str, method: str, url: str, expect: tuple[int, ...], **kwargs) -> requests.Response:
        response = self.http.request(method, url, allow_redirects=False, timeout=self.timeout, **kwargs)
        if response.status_code not in expect:
            raise StepFailed(step, response)
        return response

    def authorize(self, at: str, **changes) -> requests.Response:
        response = self._send("authorize", "GET", at + self.authz.url(**changes), (302, 303))
        self.location = response.headers["Location"]
        return response

    def password(self, at: str, password: str | None = None, expect=(303,)) -> requests.Response:
        page = self._send("login page", "GET", urljoin(at, self.location), (200,))
        form = {"csrf_token": csrf_token(page.text), "username": self.person.username,
                "password": password or self.person.password}
        if uid := query(self.location).get("uid"):
            form["uid"] = uid
        response = self._send("password", "POST", at + "/login", expect, data=form)
        if response.status_code == 303:
            self.location = response.headers["Location"]
        return response

    def second_factor(self, at: str, code: str | None = None, expect=(303,)) -> requests.Response:
        page = self._send("second-factor page", "GET", urljoin(at, self.location), (200,))
        form = {"csrf_token": csrf_token(page.text), "method": "totp", "code": code or self.person.totp_code()}
        response = self._send("second factor", "POST", at + "/login/second-factor", expect, data=form)
        if response.status_code == 303:
            self.location = response.headers["Location"]
        return response

    def code(self, at: str) -> str:
        response = self._send("resume", "GET", urljoin(at, self.location), (302,))
        params = query(response.headers["Location"])
        assert params.get("state") == self.authz.state and "code" in params, params
        return params["code"]

    def token(self, at: str, code: str) -> dict:
        response = self._send("token", "POST", at + "/token", (200,), data=self.authz.token_form(code),
                              headers=self.authz.basic_auth())
        self.tokens = response.json()
        return self.tokens

    def refresh(self, at: str) -> dict:
        form = {"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]}
        response = self._send("refresh", "POST", at + "/token", (200,), data=form, headers=self.authz.basic_auth())
        self.tokens = {**self.tokens, **response.json()}
        return self.tokens

    def userinfo(self, at: str) -> dict:
        response = self._send("userinfo", "GET", at + "/userinfo", (200,),
                              headers={"Authorization": f"Bearer {self.tokens['access_token']}"})
        return response.json()

    def sign_in(self, hosts: list[str]) -> dict:
        """The whole sign-in, hop by hop on ``hosts`` (cycled): authorize, password, TOTP, resume, token."""
        at = itertools.cycle(hosts)
        self.authorize(next(at))
        self.password(next(at))
        self.second_factor(next(at))
        return self.token(next(at), self.code(next(at)))


KEY_RE = re.compile(r'id="totp-key">([A-Z2-7 ]+)<')


def enrol_totp(person: Person, hosts: list[str], timeout: float = HTTP_TIMEOUT,
               http: requests.Session | None = None) -> str:
    """A user without a second factor signs in with the password and turns on an authenticator app."""
    http = http or requests.Session()
    at = itertools.cycle(hosts)

    def send(step, method, url, expect, **kwargs):
        response = http.request(method, url, allow_redirects=False, timeout=timeout, **kwargs)
        if response.status_code not in expect:
            raise StepFailed(step, response)
        return response

    base = next(at)
    page = send("login page", "GET", base + "/login", (200,))
    send("password", "POST", base + "/login", (303,),
         data={"csrf_token": csrf_token(page.text), "username": person.username, "password": person.password})
    base = next(at)
    page = send("enrol page", "GET", base + "/account/totp/enrol", (200,))
    send("enrol password", "POST", base + "/account/totp/enrol", (303,),
         data={"csrf_token": csrf_token(page.text), "password": person.password})
    base = next(at)
    page = send("confirm page", "GET", base + "/account/totp/confirm", (200,))
    person.totp_key = KEY_RE.search(page.text).group(1).replace(" ", "")
    send("confirm", "POST", base + "/account/totp/confirm", (303,),
         data={"csrf_token": csrf_token(page.text), "code": person.totp_code()})
    return person.totp_key


def count_rows(engine: sa.Engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def token_hex() -> str:
    return secrets.token_hex(4)


# --- load ---------------------------------------------------------------------------------------------------------

@dataclass
class Answer:
    """One HTTP answer (or none) seen under load."""

    step: str
    status: int | None  # None: no answer (connection refused or reset)
    seconds: float
    at: float
    retry_after: str | None = None
    error: str = ""


class Recorder:
    """Thread-safe log of every answer and of the operations that finished, for the assertions after a load."""

    def __init__(self):
        self.answers: list[Answer] = []
        self.done: list[tuple[str, Person, float]] = []  # (kind, person, finished at)
        self._lock = threading.Lock()

    def answer(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def finished(self, kind: str, person: Person) -> None:
        with self._lock:
            self.done.append((kind, person, time.monotonic()))

    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        for a in self.answers:
            counts[a.status] = counts.get(a.status, 0) + 1
        return counts


class RecordingSession(requests.Session):
    """A requests session that reports every answer (and every failure to get one) to a Recorder."""

    def __init__(self, recorder: Recorder):
        super().__init__()
        self.recorder = recorder

    def request(self, method, url, *args, **kwargs):
        started = time.monotonic()
        step = f"{method} {url.split('/', 3)[-1].split('?')[0]}"
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            self.recorder.answer(Answer(step, None, time.monotonic() - started, started, error=type(exc).__name__))
            raise
        self.recorder.answer(Answer(step, response.status_code, time.monotonic() - started, started,
                                    response.headers.get("Retry-After")))
        return response


def run_load(concurrency: int, operation, until, max_seconds: float) -> list[BaseException]:
    """Run ``operation(worker_index)`` in ``concurrency`` threads, again and again, until ``until()`` is true or
    ``max_seconds`` pass; returns the unexpected exceptions (an operation's own failures are its business)."""
    stop = threading.Event()
    crashes: list[BaseException] = []

    def loop(i: int) -> None:
        while not stop.is_set():
            try:
                operation(i)
            except BaseException as exc:  # reported to the test
                crashes.append(exc)
                return

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline and not until():
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(HTTP_TIMEOUT * 2 + 10)
    assert not any(t.is_alive() for t in threads), "a load thread did not finish"
    return crashes

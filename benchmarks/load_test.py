"""Load test of the web studio: concurrent clients send good and hostile requests to a real
`flowstyle serve` on 127.0.0.1 while a watcher polls /health and the server's memory.

Bounded in requests and seconds, loopback only. Every request has an expected outcome: served
(a stylized PNG that the result route then serves), or a clear refusal (an HTTP 4xx, a 503
"queue full", or an error event with a message). Anything else -- a 5xx, a dropped connection,
a timeout, a traceback, a refusal where a result was due or a file outside the result store --
counts as failed. Usage (from the repository root):

    python -m benchmarks.load_test --model artflow-adain --clients 8 --requests 200 --out reports/load_test.md
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image

FAST = "Fast (the model's grid fix)"
SERVED, REJECTED, BUSY, FAILED = "served", "rejected", "busy (503)", "failed"
RESULT_LINK = re.compile(r"results/([0-9a-f]{32}\.png)")


@dataclass(frozen=True)
class Settings:
    model: str
    clients: int = 6
    requests: int = 60
    seconds: float = 300.0
    size: int = 256  # output side of the good requests
    max_upload_mb: float = 2.0
    max_megapixels: float = 4.0
    max_queue: int = 4
    seed: int = 0
    waves: int = 2  # the plan is sent this many times; memory is read after each wave
    retries: int = 5  # a client told "busy" waits 0.5-2 s and tries again, at most this often
    timeout: float = 120.0  # one request, queue wait included


@dataclass
class Report:
    settings: Settings
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    health_ok: int = 0
    health_failed: int = 0
    health_worst_s: float = 0.0
    rss_start_mb: float = 0.0
    rss_warm_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_waves_mb: list[float] = field(default_factory=list)
    busy_retries: int = 0
    alive_at_end: bool = False
    wall_s: float = 0.0

    @property
    def failed(self) -> int:
        return sum(c[FAILED] for c in self.outcomes.values())

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.health_failed == 0 and self.alive_at_end


# --- the server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(settings: Settings, port: int, log: Path) -> subprocess.Popen:
    """`flowstyle serve` in its own process (so its memory is its own), on 127.0.0.1 only."""
    cmd = [sys.executable, "-m", "flowstyle", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--model", settings.model, "--max-upload-mb", str(settings.max_upload_mb),
           "--max-megapixels", str(settings.max_megapixels), "--max-queue", str(settings.max_queue)]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(url: str, server: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Return once `url`/health answers 200; fail early if `server` (a subprocess) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before answering")
        try:
            if httpx.get(url + "health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the server at {url} did not answer /health in {timeout:.0f} s")


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


# --- the payloads ------------------------------------------------------------------------------

def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small PNG whose header declares width x height pixels (a decompression bomb)."""
    data = bytearray(_png(Image.new("RGB", (8, 8))))
    ihdr = 8 + 4  # after the signature and the chunk's length: b"IHDR", width, height, ...
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF)
    return bytes(data)


def payloads(settings: Settings) -> dict[str, bytes]:
    """The files the clients upload: a real photo, one too big on disk, one with too many pixels
    (small on disk), a decompression bomb, and random bytes named .png."""
    rng = np.random.default_rng(settings.seed)
    photo = (resources.files("flowstyle") / "assets" / "astronaut.jpg").read_bytes()
    side = int((settings.max_upload_mb * 2**20 / 3) ** 0.5) + 64  # incompressible noise above the cap
    noise = Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    big_side = int((settings.max_megapixels * 1e6) ** 0.5) + 100
    return {
        "photo": photo,
        "oversize": _png(noise),
        "megapixels": _png(Image.new("RGB", (big_side, big_side), (90, 120, 200))),
        "bomb": png_bomb(),
        "corrupt": rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
    }


# --- one client's requests -------------------------------------------------------------------

class Client:
    """One simulated user: an httpx client and the Gradio API calls the page makes."""

    def __init__(self, url: str, settings: Settings, files: dict[str, bytes], model_name: str, seed: int = 0):
        self.url, self.settings, self.files, self.model_name = url, settings, files, model_name
        self.rng = random.Random(seed)
        self.http = httpx.Client(base_url=url, timeout=settings.timeout)

    def close(self) -> None:
        self.http.close()

    def upload(self, name: str, data: bytes) -> httpx.Response:
        return self.http.post("gradio_api/upload", files={"files": (name, data, "application/octet-stream")})

    def slow_upload(self, name: str, data: bytes, chunks: int = 8, pause: float = 0.4) -> httpx.Response:
        """A multipart upload trickled in `chunks` pieces over chunks x pause seconds."""
        boundary = f"loadtest{self.rng.getrandbits(64):016x}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        step = -(-len(body) // chunks)

        def trickle() -> Iterator[bytes]:
            for i in range(0, len(body), step):
                yield body[i:i + step]
                time.sleep(pause)

        return self.http.post("gradio_api/upload", content=trickle(),
                              headers={"content-type": f"multipart/form-data; boundary={boundary}"})

    def call(self, data: list) -> tuple[int, str]:
        """POST a stylize call, then read its event stream: (HTTP status, the stream or the body)."""
        r = self.http.post("gradio_api/call/stylize", json={"data": data})
        if r.status_code != 200:
            return r.status_code, r.text
        with self.http.stream("GET", f"gradio_api/call/stylize/{r.json()['event_id']}") as events:
            return 200, events.read().decode(errors="replace")

    def request(self, content: dict | None, model: str | None = None, size: int | None = None) -> list:
        return [content, [], ["Abstract pattern (GIMP send1)"], "", model or self.model_name, "model's own",
                1.0, size or self.settings.size, FAST, False, None]


def _file(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def _stylize_outcome(client: Client, status: int, text: str) -> tuple[str, str]:
    """A call that should give a PNG: served (and the result route serves it), busy, or failed."""
    if status == 503 and "Queue is full" in text:
        return BUSY, ""
    if status != 200 or "event: complete" not in text:
        return FAILED, f"HTTP {status}: {text[-300:]}"
    link = RESULT_LINK.search(text)
    if not link:
        return FAILED, "no result link in the answer"
    png = client.http.get("results/" + link.group(1))
    if png.status_code != 200 or not png.content.startswith(b"\x89PNG"):
        return FAILED, f"result route answered {png.status_code}"
    return SERVED, ""


# What a refusal must never show: a traceback, a server path, an object's address, a file's content.
LEAKS = ("Traceback", "site-packages", "/tmp/", "object at 0x", "root:")


def _refusal_outcome(status: int, text: str, message: str | None) -> tuple[str, str]:
    """A call that must be refused: an HTTP 4xx, or an error event -- with `message` in it where
    the studio words the refusal itself -- and nothing internal shown."""
    if status == 503 and "Queue is full" in text:
        return BUSY, ""
    leaked = [leak for leak in LEAKS if leak in text]
    if leaked:
        return FAILED, f"the refusal showed {leaked}: {text[-300:]}"
    if (status == 200 and "event: error" in text and (message is None or message in text)) or (400 <= status < 500):
        return REJECTED, ""
    return FAILED, f"expected a refusal ({message!r}), got HTTP {status}: {text[-300:]}"


def _upload_then(client: Client, name: str, payload: str, judge: Callable[[int, str], tuple[str, str]],
                 slow: bool = False) -> tuple[str, str]:
    """Upload one of the payloads (trickled if slow), send a stylize call with it as the content,
    and judge the answer."""
    r = (client.slow_upload if slow else client.upload)(name, client.files[payload])
    if r.status_code != 200:
        return FAILED, f"upload answered {r.status_code}"
    return judge(*client.call(client.request(_file(r.json()[0]))))


def _refused_with(message: str) -> Callable[[int, str], tuple[str, str]]:
    return lambda status, text: _refusal_outcome(status, text, message)


def good(client: Client) -> tuple[str, str]:
    return _upload_then(client, "photo.jpg", "photo", partial(_stylize_outcome, client))


def slow_upload(client: Client) -> tuple[str, str]:
    return _upload_then(client, "photo.jpg", "photo", partial(_stylize_outcome, client), slow=True)


def oversize(client: Client) -> tuple[str, str]:
    r = client.upload("big.png", client.files["oversize"])
    if r.status_code == 413:
        return REJECTED, ""
    return FAILED, f"an upload over the cap answered {r.status_code}"


def too_many_pixels(client: Client) -> tuple[str, str]:
    return _upload_then(client, "wide.png", "megapixels", _refused_with("megapixels"))


def bomb(client: Client) -> tuple[str, str]:
    return _upload_then(client, "bomb.png", "bomb", _refused_with("megapixels"))


def corrupt(client: Client) -> tuple[str, str]:
    return _upload_then(client, "photo.png", "corrupt", _refused_with("not an image"))


def wrong_fields(client: Client) -> tuple[str, str]:
    """A random malformed call: unknown model, absurd size, too few fields, wrong types."""
    r = client.upload("photo.jpg", client.files["photo"])
    if r.status_code != 200:
        return FAILED, f"upload answered {r.status_code}"
    content = _file(r.json()[0])
    variants = [
        (client.request(content, model="../../etc/passwd"), "not in the list of choices"),
        (client.request(content, size=100_000), "maximum value"),
        (client.request(content)[:3], None),
        (["not a file", 7, None, 1, 2, 3, "x", "big", None, "yes", 5], None),
    ]
    data, message = client.rng.choice(variants)
    return _refusal_outcome(*client.call(data), message)


def server_file(client: Client) -> tuple[str, str]:
    """A file on the server named in a request, or reached through the result or file routes."""
    if client.rng.random() < 0.5:
        return _refusal_outcome(*client.call(client.request(_file("/etc/passwd"))), None)
    path = client.rng.choice(["results/..%2F..%2F..%2Fetc%2Fpasswd", "results/../../etc/passwd", "results/%2Fetc%2Fpasswd",
                          "results/" + "0" * 32 + ".png", "gradio_api/file=/etc/passwd",
                          "gradio_api/file=../../../../etc/passwd", "no/such/page"])
    r = client.http.get(path)
    if r.status_code in (403, 404) and "root:" not in r.text:
        return REJECTED, ""
    return FAILED, f"GET {path} answered {r.status_code}"


KINDS: dict[str, tuple[Callable[[Client], tuple[str, str]], float, str]] = {
    # name: (request, share of the mix, what it is)
    "good": (good, 0.30, "upload a photo, stylize it (1 pass), fetch the PNG"),
    "slow upload": (slow_upload, 0.10, "the same, the upload trickled in over ~3 s"),
    "oversize": (oversize, 0.10, "upload over the size cap"),
    "too many pixels": (too_many_pixels, 0.10, "small file, pixel count over the limit"),
    "bomb": (bomb, 0.06, "PNG header declaring 100000 x 100000 pixels"),
    "corrupt": (corrupt, 0.10, "random bytes named .png"),
    "wrong fields": (wrong_fields, 0.12, "unknown model, absurd size, missing or mistyped fields"),
    "server file": (server_file, 0.12, "/etc/passwd in a request, traversal in the result and file routes"),
}


# --- the watcher and the run -----------------------------------------------------------------

def watch(url: str, pid: int, report: Report, stop: threading.Event, every: float = 0.25) -> None:
    """Poll /health and the server's memory until `stop`."""
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                healthy = http.get(url + "health").status_code == 200
            except httpx.HTTPError:
                healthy = False
            report.health_worst_s = max(report.health_worst_s, time.perf_counter() - start)
            if healthy:
                report.health_ok += 1
            else:
                report.health_failed += 1
            try:
                report.rss_peak_mb = max(report.rss_peak_mb, rss_mb(pid))
            except psutil.Error:
                pass
            stop.wait(every)


def plan(settings: Settings) -> list[str]:
    """The seeded mix of request kinds; every kind at least once."""
    rng = random.Random(settings.seed)
    names = list(KINDS)
    kinds = names + rng.choices(names, weights=[KINDS[n][1] for n in names], k=max(settings.requests - len(names), 0))
    rng.shuffle(kinds)
    return kinds[: max(settings.requests, len(names))]


def run(settings: Settings, log: Path) -> Report:
    """Start the server, load it, stop it; the server's output goes to `log`."""
    report = Report(settings)
    files = payloads(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(settings, port, log)
    try:
        wait_healthy(url, server)
        report.rss_start_mb = rss_mb(server.pid)
        model_name = httpx.get(url + "health", timeout=10).json()["models"][0]  # the name the page lists
        warm = Client(url, settings, files, model_name)
        outcome, why = good(warm)  # loads the model: memory before the load is the warm server's
        warm.close()
        if outcome != SERVED:
            raise RuntimeError(f"the warm-up request failed: {why}")
        report.rss_warm_mb = report.rss_peak_mb = rss_mb(server.pid)
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(url, server.pid, report, stop), daemon=True)
        watcher.start()
        kinds = iter(plan(settings))
        lock = threading.Lock()
        wave = threading.Barrier(settings.clients)
        deadline = time.monotonic() + settings.seconds
        start = time.monotonic()

        def send(client: Client, kind: str) -> None:
            t0 = time.perf_counter()
            for attempt in range(settings.retries + 1):
                try:
                    outcome, why = KINDS[kind][0](client)
                except httpx.HTTPError as exc:
                    outcome, why = FAILED, f"{type(exc).__name__}: {exc}"
                if outcome != BUSY or attempt == settings.retries:
                    break
                with lock:
                    report.busy_retries += 1
                time.sleep(client.rng.uniform(0.5, 2.0))
            with lock:
                report.outcomes[kind][outcome] += 1
                report.seconds[kind].append(time.perf_counter() - t0)
                if why and outcome == FAILED:
                    report.failures.append(f"{kind}: {why}")

        def client_loop(index: int) -> None:
            nonlocal kinds
            client = Client(url, settings, files, model_name, seed=settings.seed * 1000 + index)
            try:
                for number in range(settings.waves):
                    while time.monotonic() < deadline:
                        with lock:
                            kind = next(kinds, None)
                        if kind is None:
                            break
                        send(client, kind)
                    if wave.wait() == 0:  # one client notes the memory and refills the plan
                        report.rss_waves_mb.append(rss_mb(server.pid))
                        kinds = iter(plan(settings))
                    wave.wait()
            finally:
                client.close()

        with ThreadPoolExecutor(settings.clients) as pool:
            list(pool.map(client_loop, range(settings.clients)))
        report.wall_s = time.monotonic() - start
        time.sleep(1.0)
        stop.set()
        watcher.join()
        report.alive_at_end = server.poll() is None and httpx.get(url + "health", timeout=10).status_code == 200
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return report


# --- the report ------------------------------------------------------------------------------

def markdown(report: Report, machine: str) -> str:
    s = report.settings
    rows = []
    for kind, (_, _, what) in KINDS.items():
        c = report.outcomes.get(kind, Counter())
        times = sorted(report.seconds.get(kind, [])) or [float("nan")]
        rows.append(f"| {kind} | {what} | {sum(c.values())} | {c[SERVED]} | {c[REJECTED]} | {c[BUSY]} | {c[FAILED]} "
                    f"| {times[len(times) // 2]:.2f} | {times[-1]:.2f} |")
    total = Counter()
    for c in report.outcomes.values():
        total.update(c)
    lines = [
        "# Web studio under load",
        "",
        f"- command: `python -m benchmarks.load_test --model {s.model} --clients {s.clients} --requests {s.requests} "
        f"--seconds {s.seconds:g} --size {s.size} --waves {s.waves}`",
        f"- machine: {machine}",
        f"- server: `flowstyle serve` on 127.0.0.1, limits {s.max_upload_mb:g} MB upload, {s.max_megapixels:g} MP, "
        f"queue {s.max_queue}, one stylization at a time; good requests stylize at {s.size} px, 1 pass",
        f"- {sum(total.values())} requests from {s.clients} concurrent clients in {report.wall_s:.0f} s: "
        f"**{total[SERVED]} served, {total[REJECTED]} refused with a clear answer, {total[BUSY]} still busy (503) "
        f"after {s.retries} retries, {total[FAILED]} failed**; {report.busy_retries} busy answers (503) were retried "
        f"after a 0.5-2 s pause",
        f"- health checks during the load: {report.health_ok} answered, {report.health_failed} failed, "
        f"slowest {report.health_worst_s:.2f} s; server up at the end: {'yes' if report.alive_at_end else 'NO'}",
        f"- server memory (RSS): {report.rss_start_mb:.0f} MiB started, {report.rss_warm_mb:.0f} MiB after the "
        f"first stylization, peak {report.rss_peak_mb:.0f} MiB; after each of {s.waves} waves of {s.requests} "
        f"requests: {', '.join(f'{mb:.0f}' for mb in report.rss_waves_mb)} MiB",
        "",
        "| request kind | what it does | sent | served | refused | still busy | failed | median s | slowest s |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    if report.failures:
        lines += ["", "Failures:", *[f"- {f}" for f in report.failures[:20]]]
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> dict:
    return {"settings": report.settings.__dict__, "outcomes": {k: dict(v) for k, v in report.outcomes.items()},
            "failures": report.failures, "health_ok": report.health_ok, "health_failed": report.health_failed,
            "health_worst_s": report.health_worst_s, "rss_mb": {"start": report.rss_start_mb, "warm": report.rss_warm_mb,
            "peak": report.rss_peak_mb, "waves": report.rss_waves_mb}, "busy_retries": report.busy_retries, "alive_at_end": report.alive_at_end,
            "wall_s": report.wall_s}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="artflow-adain", help="model name or weights file the server offers")
    p.add_argument("--clients", type=int, default=Settings.clients)
    p.add_argument("--requests", type=int, default=Settings.requests, help="requests in all (the bound)")
    p.add_argument("--seconds", type=float, default=Settings.seconds, help="stop sending after this long (the bound)")
    p.add_argument("--size", type=int, default=Settings.size, help="output side of the good requests")
    p.add_argument("--waves", type=int, default=Settings.waves, help="send the requests this many times")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="write the report here (and the JSON next to it)")
    args = p.parse_args(argv)
    settings = Settings(model=args.model, clients=args.clients, requests=args.requests, seconds=args.seconds,
                        size=args.size, seed=args.seed, waves=args.waves)
    from .common import machine

    with tempfile.TemporaryDirectory(prefix="flowstyle-load-") as tmp:
        log = Path(tmp) / "server.log"
        try:
            report = run(settings, log)
        finally:
            if log.exists() and (server_log := log.read_text(errors="replace").strip()):
                print("server output:\n" + server_log[-3000:], file=sys.stderr)
    text = markdown(report, machine())
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(as_json(report), indent=1), encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

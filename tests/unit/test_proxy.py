"""The model's nginx proxy (mlops/proxy.py) for real: a real nginx in front of tiny real HTTP servers."""

import json
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from mlops import proxy
from mlops.deployments import port_is_free, wait_until

NGINX = proxy.nginx_binary()
needs_nginx = pytest.mark.skipif(NGINX is None, reason="NGINX NOT AVAILABLE: `make proxy-deps` (Debian nginx-light)")
MODEL = "proxy-test-model"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as BentoML's server: the proxy's upstream connections are reused

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/slow":
            time.sleep(1.5)
        answer = json.dumps({"server": self.server.name, "bytes": len(body),
                             "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class _Server:
    def __init__(self, name: str):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.name = name
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy_home(tmp_path, monkeypatch):
    monkeypatch.setenv(proxy.PROXY_DIR_ENV, str(tmp_path / "proxies"))
    yield tmp_path / "proxies"
    for status in proxy.all_statuses():
        proxy.stop_proxy(status.model_name)


def test_config_rendering_keeps_nginx_inside_its_prefix(tmp_path):
    text = proxy.render_config(tmp_path, "127.0.0.1", 3000, 45123, max_body_bytes=2_000_000)
    assert "listen 127.0.0.1:3000;" in text and "server 127.0.0.1:45123" in text
    assert "keepalive 16;" in text  # to the server
    assert "keepalive_timeout 0;" in text  # to clients: no idle connection a reload could cut
    assert "non_idempotent" not in text.replace("never non_idempotent", "")  # a POST is never sent twice
    limit = int(re.search(r"client_max_body_size (\d+);", text).group(1))
    assert limit > 2_000_000  # bodies just over the service's limit reach the service (its own 413)
    assert "/var/" not in text and "/run/" not in text  # temp paths, logs and pid in the prefix
    for status in (502, 503, 504, 413):
        body = re.search(rf"return {status} '(.*)';", text).group(1)
        assert json.loads(body) == {"error": proxy.PROXY_ERRORS[status], "status": status}
    assert "keepalive_timeout 5s;" in proxy.render_config(tmp_path, "127.0.0.1", 3000, 1, client_keepalive=True)


@needs_nginx
def test_rendered_config_passes_nginx_test(tmp_path):
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / folder).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(proxy.render_config(tmp_path, "127.0.0.1", _free_port(), 45123))
    result = proxy._nginx(tmp_path, "-t", conf=conf)
    assert result.returncode == 0, result.stderr


def _load(url: str, stop: threading.Event, results: list, errors: list) -> None:
    with httpx.Client(timeout=30) as client:  # pooled connections, as a real client
        while not stop.is_set():
            try:
                response = client.post(url + "/predict", content=b"x" * 2000,
                                       headers={"authorization": "Bearer k", "x-shape": "1,128,6"})
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                else:
                    results.append((time.monotonic(), response.json()["server"]))
            except httpx.HTTPError as error:
                errors.append(repr(error))


@needs_nginx
def test_switch_under_load_loses_no_request_and_drains_the_old_server(proxy_home):
    blue, green, third = _Server("blue"), _Server("green"), None
    public = _free_port()
    status = proxy.ensure_proxy(MODEL, "127.0.0.1", public, blue.port)
    assert status.running and status.upstream_port == blue.port
    assert proxy.ensure_proxy(MODEL, "127.0.0.1", public, blue.port).pid == status.pid  # idempotent
    url = status.url
    first = httpx.post(url + "/x", content=b"abc", headers={"authorization": "Bearer k", "x-shape": "1,128,6",
                                                            "content-type": "application/x-npy"}).json()
    assert first["server"] == "blue" and first["bytes"] == 3
    assert {"authorization": "Bearer k", "x-shape": "1,128,6", "content-type": "application/x-npy"}.items() \
        <= first["headers"].items()

    stop, results, errors = threading.Event(), [], []
    clients = [threading.Thread(target=_load, args=(url, stop, results, errors)) for _ in range(4)]
    slow = {}
    in_flight = threading.Thread(target=lambda: slow.update(httpx.post(url + "/slow", timeout=30).json()))
    try:
        for client in clients:
            client.start()
        time.sleep(0.5)
        in_flight.start()
        time.sleep(0.2)  # the slow request is on blue now
        result = proxy.switch(MODEL, green.port)
        assert result.drained and result.drain_seconds > 0.5  # waited for the slow request on blue
        assert slow["server"] == "blue"  # it finished on the old server, before the switch returned
        switched = time.monotonic()
        blue.stop()  # the deploy step stops the old server only now
        time.sleep(0.5)
        third = _Server("third")
        proxy.switch(MODEL, third.port)
        green.stop()
        time.sleep(0.5)
    finally:
        stop.set()
        for client in clients:
            client.join(30)
        in_flight.join(30)
    assert errors == []
    servers = [server for _, server in results]
    assert servers.count("blue") > 10 and servers.count("green") > 10 and servers.count("third") > 10
    assert all(server != "blue" for at, server in results if at > switched + 0.01)
    assert proxy.requests_since(MODEL, 0)["failed"] == 0
    assert proxy.status(MODEL).upstream_port == third.port
    third.stop()  # its threads would still serve the proxy's open keep-alive connections: point at a dead port
    proxy.switch(MODEL, _free_port())
    down = httpx.post(url + "/predict", content=b"x")  # no server: the proxy's 502 in the service's error shape
    assert down.status_code == 502 and down.json() == {"error": proxy.PROXY_ERRORS[502], "status": 502}
    assert wait_until(lambda: proxy.requests_since(MODEL, 0)["failed"] == 1, timeout=5, interval=0.05)  # logged

    assert proxy.stop_proxy(MODEL) is True
    assert port_is_free("127.0.0.1", public)
    assert proxy.status(MODEL) is None and proxy.stop_proxy(MODEL) is False


@needs_nginx
def test_body_limit_is_the_proxy_error_shape_above_the_service_limit(proxy_home):
    server = _Server("blue")
    try:
        status = proxy.ensure_proxy(MODEL, "127.0.0.1", _free_port(), server.port, max_body_bytes=100_000)
        ok = httpx.post(status.url + "/x", content=b"x" * 150_000)  # over the service's limit: reaches it
        assert ok.status_code == 200 and ok.json()["bytes"] == 150_000
        big = httpx.post(status.url + "/x", content=b"x" * 1_200_000)
        assert big.status_code == 413 and big.json()["status"] == 413
    finally:
        server.stop()


@needs_nginx
def test_taken_public_port_names_the_process(proxy_home):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(proxy.ProxyError, match=rf"{port}.*in use by pid {os.getpid()}"):
            proxy.ensure_proxy(MODEL, "127.0.0.1", port, 1)
    assert proxy.status(MODEL) is None

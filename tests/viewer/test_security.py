"""Who may connect to the viewer and which server paths it may touch (real websocket clients)."""

from __future__ import annotations

import http.client
import os

import pytest

pytest.importorskip("viser", reason="viser (humokit[viewer]) is not installed")
websockets_client = pytest.importorskip("websockets.sync.client")

from websockets.exceptions import InvalidStatus  # noqa: E402

from humokit.errors import InputError  # noqa: E402
from humokit.motion import Motion  # noqa: E402
from humokit.viewer import ViewerApp  # noqa: E402
from humokit.viewer._guard import HandshakeGuard, is_loopback_host  # noqa: E402
from humokit.viewer._roots import ServerRoots  # noqa: E402


def _ws(app, *, origin=None, query="", headers=None):
    """Open (and close) a websocket to ``app``; returns the handshake status."""
    import viser

    url = f"ws://127.0.0.1:{app.port}/{query}"
    with websockets_client.connect(url, origin=origin, additional_headers=headers,
                                   subprotocols=[f"viser-v{viser.__version__}"], open_timeout=10) as ws:  # fmt: skip
        return ws.response.status_code


def _status(exc_info) -> int:
    return exc_info.value.response.status_code


def test_foreign_origin_is_rejected_at_the_handshake(app):
    for origin in ("http://evil.example", "https://attacker.test:8080", "null", "http://192.168.1.10:8080"):
        with pytest.raises(InvalidStatus) as e:
            _ws(app, origin=origin)
        assert _status(e) == 403
    assert len(app.server.get_clients()) == 0


def test_loopback_origins_are_accepted(app):
    for origin in (f"http://127.0.0.1:{app.port}", "http://localhost:9000", "http://[::1]:8080", None):
        assert _ws(app, origin=origin) == 101


def test_dns_rebinding_host_is_rejected(app):
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    conn.request("GET", "/", headers={"Host": f"evil.example:{app.port}"})
    assert conn.getresponse().status == 403
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200


def test_public_bind_needs_the_session_token():
    with ViewerApp("0.0.0.0", 0, play=False) as a:
        assert a.token and f"?token={a.token}" in a.url
        with pytest.raises(InvalidStatus) as e:
            _ws(a, origin=f"http://127.0.0.1:{a.port}")
        assert _status(e) == 403
        with pytest.raises(InvalidStatus):
            _ws(a, query="?token=wrong")
        assert _ws(a, query=f"?token={a.token}") == 101
        # the page URL sets a cookie the browser sends with its websocket handshake
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        conn.request("GET", f"/?token={a.token}")
        r = conn.getresponse()
        assert r.status == 200
        cookie = r.getheader("Set-Cookie")
        assert a.token in cookie and "SameSite=Strict" in cookie and "HttpOnly" in cookie
        assert _ws(a, headers={"Cookie": cookie.split(";")[0]}) == 101
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 403
        # a page on another site may not use the token cookie either
        with pytest.raises(InvalidStatus):
            _ws(a, origin="http://evil.example", headers={"Cookie": cookie.split(";")[0]})


def test_guard_rules():
    g = HandshakeGuard("127.0.0.1")
    assert g.rejection("/", {"Host": "127.0.0.1:8080"}) is None
    assert g.rejection("/", {"Host": "localhost:8080", "Origin": "http://localhost:3000"}) is None
    assert "origin" in g.rejection("/", {"Host": "127.0.0.1:8080", "Origin": "file://"})
    assert "origin" in g.rejection("/", {"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1.evil.example"})
    assert "host" in g.rejection("/", {})
    pub = HandshakeGuard("0.0.0.0", "tok")
    same = {"Host": "10.0.0.5:8080", "Origin": "http://10.0.0.5:8080"}
    assert pub.rejection("/?token=tok", same) is None
    assert "token" in pub.rejection("/", same)
    assert "origin" in pub.rejection("/?token=tok", {**same, "Origin": "http://10.0.0.6:8080"})
    with pytest.raises(ValueError):
        HandshakeGuard("0.0.0.0")
    assert is_loopback_host("127.3.4.5") and is_loopback_host("[::1]") and not is_loopback_host("0.0.0.0")


def test_server_paths_are_confined(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.npz").write_bytes(b"x")
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.npz", root / "sub" / "file.npz")
    roots = ServerRoots.of([root])
    assert roots.confine("sub") == (root / "sub").resolve()
    assert roots.confine(str(root / "sub" / "new.bvh")) == (root / "sub" / "new.bvh").resolve()
    for bad in ("../outside/secret.npz", "sub/../../outside", str(outside / "secret.npz"), "link/secret.npz",
                "sub/file.npz", "/etc/passwd", "", "a\x00b"):
        with pytest.raises(InputError):
            roots.confine(bad)
    assert roots.confine("~/.ssh/id_rsa") == root.resolve() / "~" / ".ssh" / "id_rsa"  # no ~ expansion
    # the refusal does not tell whether the path exists
    msgs = []
    for p in (outside / "secret.npz", outside / "nothing.npz"):
        with pytest.raises(InputError) as e:
            roots.confine(str(p))
        msgs.append(str(e.value).replace(p.name, ""))
    assert msgs[0] == msgs[1]
    with pytest.raises(InputError, match="--root"):
        ServerRoots.of([]).confine("x.npz")


def test_client_loads_and_exports_stay_inside_roots(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    Motion.rest(3).save(root / "ok.npz")
    Motion.rest(3).save(outside / "secret.npz")
    with ViewerApp("127.0.0.1", 0, play=False, roots=[root]) as a:
        assert a.load_from_client("ok.npz") == "ok"
        assert a.load_from_client(str(outside / "secret.npz")) is None and "outside" in a.errors[-1]
        assert a.load_from_client("../outside/secret.npz") is None
        assert set(a.motions) == {"ok"}
        assert a.export_from_client("ok", str(outside), "bvh") is None
        assert not any(outside.glob("*.bvh"))
        os.symlink(outside / "planted.bvh", root / "ok.bvh")  # a link planted where the export goes
        assert a.export_from_client("ok", str(root), "bvh") is None
        assert not (outside / "planted.bvh").exists()
        out = a.export_from_client("ok", "exports", "bvh")
        assert out == (root / "exports" / "ok.bvh").resolve() and out.stat().st_size > 0


def test_without_roots_there_is_no_server_path_box(app):
    assert "path" not in app._gui and "export_dir" not in app._gui
    assert "upload" in app._gui and "download" in app._gui
    assert app.load_from_client("/etc/passwd") is None and "--root" in app.errors[-1]


def test_upload_and_download(app, tmp_path):
    p = tmp_path / "w.npz"
    Motion.rest(4).save(p)
    assert app.load_upload("../../my walk.npz", p.read_bytes()) == "my_walk"
    assert app.load_upload("evil.sh", b"#!/bin/sh") is None and "cannot view" in app.errors[-1]

    class Client:
        sent: list = []

        def send_file_download(self, name, data):
            self.sent.append((name, data))

    c = Client()
    assert app.download(c, "my_walk", "bvh") == "my_walk.bvh"
    assert c.sent[0][0] == "my_walk.bvh" and c.sent[0][1].startswith(b"HIERARCHY")
    assert app.download(c, "nope", "bvh") is None

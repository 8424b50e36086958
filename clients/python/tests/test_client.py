"""Connecting, pipelining, errors and the asyncio client."""
import asyncio
import os
import time

import pytest

from sono import AsyncDaemon, ConnectError, Daemon, SonoError
from measure import freq


def test_second_client_sees_the_same_daemon(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    with Daemon.connect("unix:" + daemon._process.socket, name="second") as other:
        assert other.backend == "offline"
        assert [n["node"] for n in other.plugins()] == [p.id]
        other.call("plugin.set", node=p.id, name="amp_attack", value=0.5)
    assert p.params["amp_attack"] == pytest.approx(0.5, abs=1e-6)


def test_pipelined_requests_come_back_matched(daemon):
    futs = [daemon.send({"op": "ping", "data": i}) for i in range(200)]
    bad = daemon.send({"op": "engine.tone", "on": "yes"})
    assert [f.result(10)["data"] for f in futs] == list(range(200))
    with pytest.raises(SonoError) as e:
        bad.result(10)
    assert e.value.code == "bad_type" and e.value.op == "engine.tone"


def test_connect_failures(tmp_path, sonod):
    with pytest.raises(ConnectError) as e:
        Daemon.connect(str(tmp_path / "none.sock"))
    assert e.value.code == "connect_failed"
    with pytest.raises(ConnectError) as e:
        Daemon.offline(sonod=str(tmp_path / "no-sonod"))
    assert e.value.code == "start_failed"
    with pytest.raises(ConnectError) as e:
        Daemon.offline(block=500, ksmps=32, sonod=sonod)   # ksmps must divide the block
    assert e.value.code == "start_failed" and "ksmps" in e.value.message


def test_closing_stops_the_private_daemon(sonod, tmp_path):
    out = tmp_path / "take.wav"
    d = Daemon.offline(sr=48000, block=256, sonod=sonod, output=str(out))
    sock = d._process.socket
    pid = d._process.proc.pid
    d.tone(True, freq=1000)
    d.render(48000)
    d.close()
    assert d.exit_status == 0
    assert not os.path.exists(sock)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    data = out.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with pytest.raises(SonoError) as e:
        d.status()
    assert e.value.code == "closed"


def test_tcp_with_a_token(sonod, tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    tok = tmp_path / "token"
    tok.write_text("0123456789abcdef-python\n")
    tok.chmod(0o600)
    with Daemon.offline(sonod=sonod, args=["--tcp", f"127.0.0.1:{port}",
                                           "--tcp-token-file", str(tok)]) as d:
        with Daemon.connect(f"tcp://127.0.0.1:{port}", token="0123456789abcdef-python") as t:
            assert t.status()["backend"] == "offline"
        with Daemon.connect(f"tcp://127.0.0.1:{port}", token_file=str(tok)) as t:
            assert t.ping("x") == "x"
        with pytest.raises(SonoError) as e:
            Daemon.connect(f"tcp://127.0.0.1:{port}", token="wrong-token-0123456")
        assert e.value.code == "unauthorized"
        assert d.ping(1) == 1


def test_asyncio_client(sonod, amsynth):
    async def main():
        async with await AsyncDaemon.offline(sr=44100, block=512, sonod=sonod) as d:
            assert d.backend == "offline"
            p = await d.load_plugin(amsynth)
            assert len(p.params) == 41
            await p.params.set("amp_attack", 0.0)
            assert await p.params["amp_attack"] == 0.0
            with pytest.raises(TypeError):
                p.params["amp_attack"] = 0.5
            pings = await asyncio.gather(*(d.ping(i) for i in range(50)))
            assert pings == list(range(50))
            sine = await d.instr("sine", "outs oscili(kamp, kfreq), oscili(kamp, kfreq)",
                                 {"kfreq": 330, "kamp": 0.25})
            await d.render(512)
            ended = []
            d.on("synth.ended", ended.append)
            s = await sine.play(0.05)
            x = await d.render(4096)
            assert freq(x[0, :2205], 44100) == pytest.approx(330, abs=3)
            ev = [e async for e in d.events("synth", timeout=1)]
            assert [e["event"] for e in ev] == ["synth.started", "synth.ended"]
            assert ended and ended[0]["synth"] == s.id
            with pytest.raises(SonoError) as e:
                await d.play("none")
            assert e.value.code == "unknown_instr"
        assert d.exit_status == 0
    asyncio.run(main())


def test_a_live_daemon_synths_end_by_themselves(live):
    assert live.backend == "null" and live.sample_rate == 48000
    sine = live.instr("sine", "outs oscili(0.1, kfreq), oscili(0.1, kfreq)", {"kfreq": 440})
    ended = []
    live.on("synth.ended", ended.append)
    short = sine.play(0.05, delay=0.02)
    long = sine.play(delay=0.02)
    assert short.wait(10) is True
    assert not short.playing and ended[0]["synth"] == short.id
    assert short.end_frame >= short.frame + int(0.05 * 48000) - 32
    assert long.wait(0.05) is False and long.playing
    long.stop()
    assert long.wait(10) is True
    with pytest.raises(SonoError) as e:
        long.set(kfreq=220)
    assert e.value.code == "unknown_synth"
    with pytest.raises(SonoError) as e:
        live.render(512)
    assert e.value.code == "not_supported"


def test_a_live_daemon_with_asyncio(live):
    path = live.test_socket

    async def main():
        async with await AsyncDaemon.connect(path) as d:
            sine = await d.instr("sine2", "outs oscili(0.1, 300), oscili(0.1, 300)")
            s = await sine.play(0.03, delay=0.01)
            assert await s.wait(10) is True
            assert not s.playing
            assert await s.wait(0) is True
    asyncio.run(main())


def test_without_numpy(sonod):
    import subprocess
    import sys
    code = """
import sys
sys.modules["numpy"] = None          # as if numpy were not installed
from array import array
import sono
assert not sono.HAVE_NUMPY
with sono.Daemon.offline(sr=44100, block=512) as d:
    d.tone(True, freq=441, amp=0.5)
    block = d.render(512)
    assert isinstance(block, list) and len(block) == 2
    assert all(isinstance(c, array) and len(c) == 512 for c in block)
    assert abs(block[1][25] - 0.5) < 1e-6
    print("ok")
"""
    env = dict(os.environ, SONOD=sonod, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_a_callback_may_send_but_not_wait(daemon):
    got = []

    def cb(ev):
        try:
            daemon.status()
        except RuntimeError as e:
            got.append(str(e))
        got.append(daemon.send({"op": "ping", "data": ev["synth"]}))
    daemon.on("synth.started", cb)
    sine = daemon.instr("sine", "outs oscili(0.1, 440), oscili(0.1, 440)")
    daemon.render(512)
    s = sine.play(0.01)
    daemon.render(1024)
    daemon.sync()
    for _ in range(500):        # the callback runs on the reader thread
        if len(got) >= 2:
            break
        time.sleep(0.01)
    assert "callback" in got[0]
    assert got[1].result(10)["data"] == s.id


def test_a_daemon_left_open_stops_when_python_exits(sonod, tmp_path):
    import subprocess
    import sys
    code = """
import sono
d = sono.Daemon.offline(output=%r)
print(d._process.proc.pid, flush=True)
d.tone(True)
d.render(4410)
""" % str(tmp_path / "left.wav")
    env = dict(os.environ, SONOD=sonod, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout.split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    data = (tmp_path / "left.wav").read_bytes()
    assert len(data) >= 4410 * 2 * 4 and data[:4] == b"RIFF"

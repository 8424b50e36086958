"""Connecting, pipelining, errors and the asyncio client."""
import asyncio
import os

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

"""Plugins through the Python client: what cython-vst-loader's users did,
against a real offline sonod."""
import numpy as np
import pytest

from sono import SonoError
from measure import first_nonzero, freq, rms


def test_hello_reports_the_offline_engine(daemon):
    assert daemon.backend == "offline"
    assert (daemon.sample_rate, daemon.block_size, daemon.channels) == (44100, 512, 2)
    assert "render" in daemon.capabilities
    assert daemon.ping({"x": [1, 2.5, b"\x00\xff"]}) == {"x": [1, 2.5, b"\x00\xff"]}


def test_amsynth_params_by_name_and_index(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    assert p.name == "amsynth"
    assert len(p.params) == 41
    assert p.params.names[0] == "amp_attack"
    assert "amp_attack" in p.params and 40 in p.params and 41 not in p.params
    p.params["amp_attack"] = 0.0
    assert p.params["amp_attack"] == 0.0
    assert p.params[0] == 0.0
    p.params[0] = 0.25
    assert p.params["amp_attack"] == pytest.approx(0.25, abs=1e-6)
    info = p.params.get(0)
    assert info["name"] == "amp_attack" and info["index"] == 0
    assert [q["name"] for q in p.params.all()] == p.params.names


def test_bad_parameters_raise_their_codes(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    with pytest.raises(SonoError) as e:
        p.params["no_such_param"]
    assert e.value.code == "unknown_param"
    with pytest.raises(SonoError) as e:
        p.params[0] = 2.0
    assert e.value.code == "bad_value"
    with pytest.raises(SonoError) as e:
        p.params[41] = 0.5
    assert e.value.code == "unknown_param"
    with pytest.raises(SonoError) as e:
        p.note_on(0, 128)
    assert e.value.code == "bad_value"
    with pytest.raises(TypeError):
        p.params[1.5]


def test_plugin_outside_the_plugin_paths_is_denied(daemon, tmp_path):
    fake = tmp_path / "x.so"
    fake.write_bytes(b"not a plugin")
    with pytest.raises(SonoError) as e:
        daemon.load_plugin(str(fake))
    assert e.value.code == "denied"
    with pytest.raises(SonoError) as e:
        daemon.call("no.such.op")
    assert e.value.code == "unknown_op"


def render_note(daemon, amsynth, delta):
    p = daemon.load_plugin(amsynth)
    p.params["amp_attack"] = 0.0
    p.note_on(delta, 69, 100)
    return daemon.render(512)


def test_note_at_frame_3_sounds_from_frame_3(daemon, amsynth, sonod):
    from sono import Daemon
    block = render_note(daemon, amsynth, 3)
    assert block.shape == (2, 512) and block.dtype == np.float32
    # amsynth's envelope starts at 0 on the note's own frame: a note at
    # frame 0 has its first non-zero sample at 1, one at frame 3 at 4.
    assert not block[:, :4].any()
    assert first_nonzero(block[0]) == 4
    assert rms(block[0, 4:]) > 0.01
    with Daemon.offline(sr=44100, block=512, sonod=sonod) as d0:
        at0 = render_note(d0, amsynth, 0)
    assert first_nonzero(at0[0]) == 1


def test_note_on_off_pitch_and_silence(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    p.params["amp_attack"] = 0.0
    p.params["amp_release"] = 0.0
    p.note_on(0, 69, 127)
    sound = daemon.render(8192)
    # amsynth's default preset, A4: the fundamental is 440 Hz.
    assert freq(sound[0, 2048:], 44100) == pytest.approx(440.0, abs=2.0)
    p.note_off(0, 69)
    daemon.render(8192)
    tail = daemon.render(4096)
    assert np.abs(tail).max() < 1e-4


def test_block_after_block_is_one_continuous_signal(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    p.note_on(0, 57, 100)
    blocks = [daemon.render(512) for _ in range(8)]
    assert daemon.frame == 8 * 512
    assert daemon.status()["frame"] == 8 * 512
    whole = np.concatenate(blocks, axis=1)
    assert whole.shape == (2, 4096)
    assert freq(whole[0, 1024:], 44100) == pytest.approx(220.0, abs=3.0)


def test_programs_and_state(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    names = p.programs()
    assert len(names) >= 2
    number, name = p.program(1)
    assert number == 1 and name
    assert p.program() == (1, name)
    assert p.program(2)[0] == 2 and p.program() != (1, name)
    state = p.get_state()
    assert isinstance(state, bytes) and len(state) > 0
    before = p.params["amp_decay"]
    p.params["amp_decay"] = 1.0 if before < 0.5 else 0.0
    assert p.params["amp_decay"] != before
    p.set_state(state)
    assert p.params["amp_decay"] == pytest.approx(before, abs=1e-6)


def test_timed_parameter_change_lands_on_its_frame(daemon):
    # A mono effect between the test tone and out would need a plugin with
    # inputs; the gain of a gain node is timed the same way.  Here: the
    # test tone alone, switched off at an exact frame.
    daemon.tone(True, freq=1000, amp=0.5)
    stop = daemon.tone(False, delay=300 / 44100)
    block = daemon.render(512)
    assert stop == 300
    assert block[0, :300].any() and not block[0, 300:].any()
    assert block[0, 1] == pytest.approx(0.5 * np.sin(2 * np.pi * 1000 / 44100), abs=1e-6)


def test_graph_chain_and_gain(daemon, amsynth):
    p = daemon.load_plugin(amsynth)
    g = daemon.gain_node(2)
    assert p.disconnect() == 2          # amsynth's two outputs to out
    p.connect(g)
    g.connect("out")
    g.set_gain(0.5)
    graph = daemon.graph()
    pairs = {(c["from"], c["to"]) for c in graph["connections"]}
    assert (f"{p.id}:out_1", f"{g.id}:in_1") in pairs
    assert (f"{g.id}:out_2", "out:in_2") in pairs
    assert not any(f == f"{p.id}:out_1" and t.startswith("out:") for f, t in pairs)
    p.note_on(0, 69, 100)
    daemon.render(512)
    b = daemon.render(4096)
    assert rms(b[0]) > 0.005
    g2 = daemon.gain_node(2)
    g.connect(g2)
    with pytest.raises(SonoError) as e:
        g2.connect(g)      # would close a cycle
    assert e.value.code == "cycle"
    with pytest.raises(ValueError):
        g.connect(p)       # amsynth has no inputs


def test_list_of_arrays_without_numpy(daemon):
    from array import array
    daemon.tone(True, freq=441, amp=0.5)
    daemon.use_numpy = False
    block = daemon.render(512)
    assert isinstance(block, list) and len(block) == 2
    assert all(isinstance(c, array) and c.typecode == "f" and len(c) == 512 for c in block)
    assert block[0][0] == 0.0
    assert block[0][25] == pytest.approx(0.5, abs=1e-6)   # a quarter period of 441 Hz at 44100


def need_audio_replies(d):
    d.render(512)
    if not d.audio_returned:
        pytest.skip("this sonod does not send audio in render replies yet (issue 17, item 1)")


def test_the_reply_is_the_file_bit_for_bit(daemon, amsynth):
    from sono.audio import read_float_wav
    need_audio_replies(daemon)
    p = daemon.load_plugin(amsynth)
    p.note_on(5, 60, 100)
    block = daemon.render(1000)
    assert block.shape == (2, 1000) and daemon.frame == 1512
    raw = read_float_wav(daemon.output, 512, 1000)
    from_file = np.stack([np.frombuffer(c, dtype="<f4") for c in raw])
    assert np.array_equal(block, from_file)
    assert not block[:, :6].any() and block[0, 6] != 0.0
    daemon.force_read_back = True
    again = daemon.render(512)
    daemon.force_read_back = False
    assert again.shape == (2, 512) and again.any()


def test_input_through_a_gain_node_comes_back_scaled(daemon):
    need_audio_replies(daemon)
    g = daemon.gain_node(2)
    daemon.node("in").connect(g)
    g.connect("out")
    g.set_gain(0.5)
    daemon.render(512)          # the new connections' 256-frame fades end
    t = np.arange(1024)
    signal = np.stack([np.sin(2 * np.pi * 1000 * t / 44100), np.cos(2 * np.pi * 250 * t / 44100)])
    signal = signal.astype(np.float32)
    out = daemon.render(input=signal)
    assert out.shape == (2, 1024)
    assert np.array_equal(out, signal * np.float32(0.5))
    with pytest.raises(SonoError) as e:
        daemon.render(input=signal[:1])        # one channel for two capture ports
    assert e.value.code == "bad_value"


def test_long_renders_come_in_pieces(sonod):
    from sono import Daemon
    with Daemon.offline(sr=48000, block=256, channels=8, sonod=sonod) as d:
        need_audio_replies(d)
        d.tone(True, freq=1000, amp=0.5, channel=7)
        n = 600000               # 19 MB of audio: more than one reply
        x = d.render(n)
        assert x.shape == (8, n) and d.frame == 512 + n
        assert not x[:7].any()
        assert freq(x[7, -48000:], 48000) == pytest.approx(1000.0, abs=0.1)


def test_plugin_paths_and_file_roots(sonod, amsynth, tmp_path, monkeypatch):
    import shutil
    from sono import Daemon
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))    # a file root of its own
    vst = tmp_path / "vst"
    vst.mkdir()
    shutil.copy(amsynth, vst / "mine.so")
    wav = tmp_path / "data" / "t.wav"
    wav.parent.mkdir()
    with Daemon.offline(sonod=sonod, output=str(wav)) as d:   # a float WAV to read as a table
        d.tone(True, freq=480, amp=0.5)
        d.render(4800)
    with Daemon.offline(sonod=sonod) as d:
        with pytest.raises(SonoError) as e:
            d.load_plugin(str(vst / "mine.so"))
        assert e.value.code == "denied"
        with pytest.raises(SonoError) as e:
            d.read_table(str(wav))
        assert e.value.code == "file_error"
    with Daemon.offline(sonod=sonod, plugin_paths=[str(vst)], file_roots=[str(wav.parent)]) as d:
        p = d.load_plugin(str(vst / "mine.so"))
        assert len(p.params) == 41
        t = d.read_table(str(wav))
        assert t.info["channels"] == 2 and t.info["sr"] == 44100


def test_an_isolated_plugin_sounds_the_same(sonod, amsynth):
    from sono import Daemon
    out = []
    for isolate in (False, True):
        with Daemon.offline(sr=44100, block=512, sonod=sonod) as d:
            p = d.load_plugin(amsynth, isolate=isolate)
            assert d.plugins()[0]["isolated"] is isolate
            p.params["amp_attack"] = 0.0
            p.note_on(7, 64, 90)
            out.append(d.render(4096))
    # In the daemon or in a host process of its own: the same samples.
    assert np.array_equal(out[0], out[1]) and out[0][:, 8:].all()

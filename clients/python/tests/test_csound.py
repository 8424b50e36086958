"""Csound through the Python client: what csoundengine's users did, against
a real offline sonod."""
import numpy as np
import pytest

from sono import SonoError
from measure import first_nonzero, freq, last_nonzero, rms

SR = 44100
SINE = "aout = oscili(kamp, kfreq)\nouts aout, aout"


def test_instr_defaults_and_synth_values(daemon):
    sine = daemon.instr("sine", SINE, {"kfreq": 440, "kamp": 0.5})
    assert sine.params == {"kfreq": 440.0, "kamp": 0.5}
    assert daemon.instrs()["sine"].params == {"kfreq": 440.0, "kamp": 0.5}
    s = sine.play(kfreq=330)
    assert s.get() == {"kfreq": 330.0, "kamp": 0.5}
    x = daemon.render(SR // 512 * 512)
    assert freq(x[0], SR) == pytest.approx(330.0, abs=0.5)
    assert np.abs(x).max() == pytest.approx(0.5, abs=1e-3)


def test_params_in_the_body_line(daemon):
    daemon.instr("tri", "|kfreq=250, kamp=0.25|\nouts vco2(kamp, kfreq, 12), vco2(kamp, kfreq, 12)")
    s = daemon.play("tri")
    assert s.get() == {"kfreq": 250.0, "kamp": 0.25}
    x = daemon.render(16384)
    assert freq(x[0, 4096:], SR) == pytest.approx(250.0, abs=1.0)


def test_synth_starts_and_stops_on_exact_frames(daemon):
    sine = daemon.instr("sine", SINE, {"kfreq": 1000, "kamp": 0.5})
    base = daemon.frame
    s = sine.play(delay=100 / SR)
    assert s.frame == base + 100
    stop = s.stop(delay=(100 + 1000) / SR)
    assert stop == base + 1100
    x = daemon.render(2048)[0]
    # oscili starts at phase 0: its first sample is 0, the next is not.
    assert not x[:101].any() and x[101] != 0
    assert last_nonzero(x) == 1099
    assert s.playing is False or daemon.next_event(5, lambda e: e.get("event") == "synth.ended")
    assert daemon.synths() == []


def test_set_and_automate_change_what_is_heard(daemon):
    sine = daemon.instr("sine", SINE, {"kfreq": 440, "kamp": 0.5})
    s = sine.play()
    s.set(kfreq=880, delay=0.5)
    x = daemon.render(SR)[0]
    assert freq(x[2048:20000], SR) == pytest.approx(440.0, abs=1.0)
    assert freq(x[24000:], SR) == pytest.approx(880.0, abs=1.0)
    s.automate("kamp", [0, 0.5, 0.5, 0.0])
    y = daemon.render(SR)[0]
    assert rms(y[:2000]) > 0.3
    assert np.abs(y[SR // 2 + 512:]).max() < 1e-3
    assert s.get()["kamp"] == pytest.approx(0.0, abs=1e-6)


def test_generator_bus_filter_chain(daemon):
    saw = daemon.instr("saw", "|kfreq=110, kamp=0.4, ibus=0|\nsonod_abusout ibus, vco2(kamp, kfreq)")
    lp = daemon.instr("lowpass", "|kcut=500, ibus=0|\n"
                      "aout = butterlp(sonod_abusin(ibus), kcut)\nouts aout, aout", priority=2)
    bus = daemon.bus("audio")
    saw.play(ibus=bus)
    f = lp.play(ibus=bus, kcut=200)
    dark = daemon.render(SR // 2)[0]
    f.set(kcut=8000)
    bright = daemon.render(SR // 2)[0]
    assert freq(dark[4096:], SR) == pytest.approx(110.0, abs=1.0)

    def high(x):   # energy above 1 kHz
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return spec[int(1000 * len(x) / SR):].sum() / spec.sum()
    assert high(bright[4096:]) > 10 * high(dark[4096:])


def test_bus_node_sends_an_instrument_into_the_graph(daemon):
    bus = daemon.bus("audio")
    daemon.instr("tobus", "|kfreq=600, ibus=0|\nsonod_abusout ibus, oscili(0.5, kfreq)")
    node = daemon.bus_node(bus)
    g = daemon.gain_node(1)
    node.connect(g)
    g.connect("out")       # one channel to both outputs
    g.set_gain(0.5)
    daemon.play("tobus", ibus=bus)
    x = daemon.render(8192)
    assert freq(x[1, 2048:], SR) == pytest.approx(600.0, abs=1.0)
    assert np.abs(x[:, 2048:]).max() == pytest.approx(0.25, abs=2e-3)


def test_control_bus_and_channel(daemon):
    kb = daemon.bus("control")
    kb.set(0.75)
    daemon.render(512)
    assert kb.get() == 0.75
    with pytest.raises(SonoError) as e:
        daemon.bus("audio").set(1.0)
    assert e.value.code == "bad_value"
    daemon.set_channel("level", 0.3)
    daemon.render(512)
    assert daemon.get_channel("level") == pytest.approx(0.3)


def test_tables(daemon):
    t = daemon.table([0.0, 0.5, 1.0, 0.25])
    assert t.size == 4
    daemon.render(512)
    assert t.get() == [0.0, 0.5, 1.0, 0.25]
    t.set([0.125], start=3)
    daemon.render(512)
    assert t.get(2) == [1.0, 0.125]
    t.free()
    with pytest.raises(SonoError) as e:
        t.get()
    assert e.value.code == "unknown_table"


def test_compiled_code_and_raw_score_events(daemon):
    daemon.compile("instr 7\n  a1 oscili p4, p5\n  outs a1, a1\nendin\n")
    daemon.render(512)     # the compile merges in a k-cycle
    start = daemon.frame
    frame = daemon.event("i 7 0 0.01 0.5 700")
    assert frame == start
    x = daemon.render(4096)[0]
    n = int(0.01 * SR)
    assert first_nonzero(x) == 1 and last_nonzero(x) < n + 32
    frame = daemon.score("i 7 0 0.01 0.5 700\ni 7 0.02 0.01 0.5 700")
    assert frame == daemon.frame
    y = daemon.render(4096)[0]
    assert y[:n].any() and not y[n + 32:int(0.02 * SR)].any() and y[int(0.02 * SR) + 1:].any()


def test_csound_errors_carry_code_and_line(daemon):
    with pytest.raises(SonoError) as e:
        daemon.compile("instr 3\n  a1 oscili\n  outs a1, a1\nendin\n")
    assert e.value.code == "csound_error" and e.value.line == 2
    with pytest.raises(SonoError) as e:
        daemon.compile('instr 4\n  system_i 1, "true"\nendin\n')
    assert e.value.code == "denied" and e.value.line == 2
    with pytest.raises(SonoError) as e:
        daemon.play("nothing")
    assert e.value.code == "unknown_instr"
    daemon.instr("sine", SINE, {"kfreq": 440, "kamp": 0.5})
    with pytest.raises(SonoError) as e:
        daemon.play("sine", kfoo=1)
    assert e.value.code == "unknown_param"
    with pytest.raises(SonoError) as e:
        daemon.event("x 1 0 1")
    assert e.value.code == "bad_value"


def test_events_as_iterator_and_callback(daemon):
    seen = []
    daemon.on("synth.ended", seen.append)
    sine = daemon.instr("sine", SINE, {"kfreq": 440, "kamp": 0.5})
    daemon.render(512)     # the definition merges in a k-cycle
    s = sine.play(0.01)
    x = daemon.render(2048)[0]
    assert first_nonzero(x) == 1 and last_nonzero(x) == int(0.01 * SR) - 1
    evs = list(daemon.events("synth", timeout=2))
    assert [e["event"] for e in evs] == ["synth.started", "synth.ended"]
    assert evs[0]["synth"] == evs[1]["synth"] == s.id
    assert evs[0]["frame"] == s.frame
    # synth.ended names the k-cycle (32 frames) in which the synth ended.
    assert s.frame + 441 - 32 <= evs[1]["frame"] <= s.frame + 441
    assert [e["synth"] for e in seen] == [s.id]
    assert not s.playing and s.end_frame == evs[1]["frame"]


# An idle offline engine merges a definition at once (issue 17, item 3), so
# a synth started right after it sounds from the frame its reply gives.
def test_synth_right_after_its_definition_starts_on_its_frame(daemon):
    sine = daemon.instr("sine", SINE, {"kfreq": 440, "kamp": 0.5})
    s = sine.play(0.01)
    x = daemon.render(2048)[0]
    assert first_nonzero(x) == s.frame + 1


def test_a_bundle_starts_a_chord_on_one_sample(daemon):
    sine = daemon.instr("sine", SINE, {"kfreq": 440, "kamp": 0.2})
    daemon.render(512)
    old = sine.play()
    with daemon.bundle(delay=300 / SR) as b:
        b.play(sine, kfreq=500)
        b.play("sine", 0.01, kfreq=750)
        b.play("nothing")
        b.stop(old)
    s1, s2, err, stopped = b.results
    assert b.frame == 512 + 300
    assert s1.frame == s2.frame == stopped == b.frame
    assert isinstance(err, SonoError) and err.code == "unknown_instr"
    x = daemon.render(4096)[0]
    # Until frame 300 the old synth (440 Hz) alone; from there exactly the
    # chord of 500 and 750 Hz, both from phase 0, the old one silent.
    assert rms(x[:300]) == pytest.approx(0.2 / np.sqrt(2), rel=0.05)
    n = np.arange(441)
    chord = 0.2 * (np.sin(2 * np.pi * 500 * n / SR) + np.sin(2 * np.pi * 750 * n / SR))
    assert np.abs(x[300:741] - chord).max() < 2e-3
    assert not s2.playing or daemon.next_event(2, lambda e: e.get("event") == "synth.ended"
                                               and e.get("synth") == s2.id)

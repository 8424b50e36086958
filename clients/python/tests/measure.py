"""Measurements on rendered blocks."""
import numpy as np


def freq(x, sr):
    """The frequency of the strongest partial: the FFT peak of a Hann-
    windowed block, refined by a parabola through the log magnitudes."""
    x = np.asarray(x, dtype=np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec[1:])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-30)
    p = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + p) * sr / len(x)


def rms(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def first_nonzero(x):
    nz = np.nonzero(np.asarray(x))[0]
    return int(nz[0]) if len(nz) else None


def last_nonzero(x):
    nz = np.nonzero(np.asarray(x))[0]
    return int(nz[-1]) if len(nz) else None

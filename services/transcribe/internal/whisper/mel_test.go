package whisper

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// melPy computes Whisper's log-mel spectrogram with numpy, written from the
// description in openai/whisper's audio.py and librosa's mel filters, not
// from mel.go: rfft instead of gonum's FFT, a vectorised filter bank, and
// numpy's reflect padding.
const melPy = `
import sys, numpy as np
n_mels = int(sys.argv[1]); x = np.fromfile(sys.argv[2], dtype='<f4').astype(np.float64)
sr, n_fft, hop = 16000, 400, 160
def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64); m = f / (200.0 / 3)
    return np.where(f >= 1000, 15.0 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27), m)
def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64); f = m * (200.0 / 3)
    return np.where(m >= 15.0, 1000 * np.exp(np.log(6.4) / 27 * (m - 15.0)), f)
freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
pts = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(sr / 2), n_mels + 2))
fdiff = np.diff(pts); ramps = pts[:, None] - freqs[None, :]
lower = -ramps[:-2] / fdiff[:-1, None]; upper = ramps[2:] / fdiff[1:, None]
fb = np.maximum(0, np.minimum(lower, upper)) * (2.0 / (pts[2:] - pts[:-2]))[:, None]
win = np.hanning(n_fft + 1)[:-1]
xp = np.pad(x, n_fft // 2, mode='reflect')
nfr = 1 + (len(xp) - n_fft) // hop
frames = np.stack([xp[i * hop:i * hop + n_fft] * win for i in range(nfr)])
power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
power = power[:-1]                                  # whisper drops the last frame
mel = fb @ power.T
log = np.log10(np.maximum(mel, 1e-10)); log = np.maximum(log, log.max() - 8.0); log = (log + 4.0) / 4.0
log.astype('<f4').tofile(sys.argv[3])
`

func TestMelAgainstNumpy(t *testing.T) {
	t.Parallel()
	// 1.3 s: a chirp from 100 Hz to 6 kHz, a 440 Hz tone and a little
	// deterministic noise, with a silent start (the 80 dB floor matters).
	x := make([]float32, 20800)
	seed := uint32(1)
	for i := 3200; i < len(x); i++ {
		tt := float64(i) / SampleRate
		seed = seed*1664525 + 1013904223
		x[i] = float32(0.3*math.Sin(2*math.Pi*(100*tt+2300*tt*tt)) + 0.2*math.Sin(2*math.Pi*440*tt) + 0.01*(float64(seed)/(1<<32)-0.5))
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "x.f32")
	buf := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{80, 128} {
		m, err := NewMel(n)
		if err != nil {
			t.Fatal(err)
		}
		got, frames := m.Compute(x)
		if frames != len(x)/HopLength || len(got) != n*frames {
			t.Fatalf("%d mels: %d frames, %d values", n, frames, len(got))
		}
		out := filepath.Join(dir, "mel.f32")
		cmd := exec.Command("/usr/bin/python3", "-c", melPy, itoa(n), in, out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("numpy reference (needs Debian's python3-numpy): %v\n%s", err, b)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 4*len(got) {
			t.Fatalf("%d mels: numpy gave %d values, Go %d", n, len(raw)/4, len(got))
		}
		var worst float64
		var lo, hi float32 = 10, -10
		for i := range got {
			want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			worst = max(worst, math.Abs(float64(got[i]-want)))
			lo, hi = min(lo, got[i]), max(hi, got[i])
		}
		if worst > 1e-4 {
			t.Errorf("%d mels: max |Go - numpy| = %g", n, worst)
		}
		// The 80 dB floor: values span exactly 8/4 = 2 with a silent start.
		if math.Abs(float64(hi-lo)-2) > 1e-5 {
			t.Errorf("%d mels: range [%v, %v], want a span of 2 (the floor)", n, lo, hi)
		}
		t.Logf("%d mels × %d frames: max |Go − numpy| = %.2g", n, frames, worst)
	}
	if _, err := NewMel(64); err == nil {
		t.Error("64 mel bins accepted")
	}
}

func TestMelChunk(t *testing.T) {
	t.Parallel()
	m, _ := NewMel(80)
	c := m.Chunk(make([]float32, 1000), 0)
	if len(c) != 80*ChunkFrames {
		t.Fatalf("chunk has %d values, want %d", len(c), 80*ChunkFrames)
	}
}

func itoa(n int) string {
	if n == 80 {
		return "80"
	}
	return "128"
}

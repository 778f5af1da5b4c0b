package silero_test

import (
	"encoding/binary"
	"math"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/platform/ort/silero"
)

func newVAD(t testing.TB) *silero.VAD {
	t.Helper()
	orttest.Init(t)
	start := time.Now()
	v, err := silero.New(orttest.Model(t, "silero-vad-v5"), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	t.Logf("silero session created in %v on %s", time.Since(start), v.Provider())
	return v
}

// decode16k decodes any audio file to 16 kHz mono float32 with ffmpeg (the
// conversion of 16-bit PCM is exact: s/32768).
func decode16k(t testing.TB, path string) []float32 {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-i", path,
		"-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v (install ffmpeg with `make deps`)", path, err)
	}
	s := make([]float32, len(out)/4)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return s
}

// probabilities runs a whole buffer through v in uneven pieces, so frames
// straddle calls, and flushes the tail.
func probabilities(t testing.TB, v *silero.VAD, s []float32) []float32 {
	t.Helper()
	v.Reset()
	var probs []float32
	for len(s) > 0 {
		n := min(len(s), 1000)
		p, err := v.Probabilities(s[:n])
		if err != nil {
			t.Fatal(err)
		}
		probs = append(probs, p...)
		s = s[n:]
	}
	p, err := v.Flush()
	if err != nil {
		t.Fatal(err)
	}
	return append(probs, p...)
}

func TestSpeech(t *testing.T) {
	t.Parallel()
	v := newVAD(t)
	s := decode16k(t, fixtures.MustPath(t, fixtures.SpeechWAV))
	start := time.Now()
	probs := probabilities(t, v, s)
	el := time.Since(start)
	t.Logf("%d frames (%.1f s of audio) in %v: %v per frame", len(probs), float64(len(s))/silero.SampleRate, el, el/time.Duration(len(probs)))
	if want := (len(s) + silero.FrameLen - 1) / silero.FrameLen; len(probs) != want {
		t.Fatalf("%d probabilities for %d samples, want %d", len(probs), len(s), want)
	}

	got := silero.Segments(probs, silero.SegmentOptions{})
	t.Logf("segments %v, truth %v", got, fixtures.SpeechSegments)
	if len(got) != len(fixtures.SpeechSegments) {
		t.Fatalf("%d segments %v, want %d: %v", len(got), got, len(fixtures.SpeechSegments), fixtures.SpeechSegments)
	}
	for i, w := range fixtures.SpeechSegments {
		if math.Abs(got[i][0]-w[0]) > 0.1 || math.Abs(got[i][1]-w[1]) > 0.1 {
			t.Errorf("segment %d = %.3f, want %.3f within 100 ms", i, got[i], w)
		}
	}

	// Whole-buffer feeding gives the same probabilities as the pieces.
	v.Reset()
	whole, err := v.Probabilities(s)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := v.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if whole = append(whole, tail...); !slices.Equal(whole, probs) {
		t.Error("feeding the buffer whole gave other probabilities than feeding it in pieces")
	}
}

func TestSilence(t *testing.T) {
	t.Parallel()
	v := newVAD(t)
	for name, s := range map[string][]float32{
		"zeros":             make([]float32, 3*silero.SampleRate),
		"still.mp4's audio": decode16k(t, fixtures.MustPath(t, fixtures.Still)),
	} {
		probs := probabilities(t, v, s)
		if len(probs) == 0 {
			t.Fatalf("%s: no frames", name)
		}
		if m := slices.Max(probs); m > 0.2 {
			t.Errorf("%s: max speech probability %.3f, want < 0.2", name, m)
		}
		if segs := silero.Segments(probs, silero.SegmentOptions{}); len(segs) != 0 {
			t.Errorf("%s: speech at %v", name, segs)
		}
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	// Frames are 32 ms; f(n, p) is n frames of probability p.
	f := func(n int, p float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = p
		}
		return s
	}
	cat := func(parts ...[]float32) []float32 { return slices.Concat(parts...) }
	const fr = silero.FrameSecond
	const pad = 0.03
	for _, tc := range []struct {
		name  string
		probs []float32
		o     silero.SegmentOptions
		want  [][2]float64
	}{
		{"none", f(50, 0.1), silero.SegmentOptions{}, nil},
		{"one", cat(f(10, 0), f(20, 0.9), f(20, 0)), silero.SegmentOptions{},
			[][2]float64{{10*fr - pad, 30*fr + pad}}},
		{"too short", cat(f(10, 0), f(7, 0.9), f(20, 0)), silero.SegmentOptions{}, nil},
		// 0.4 is between the thresholds: speech goes on.
		{"hysteresis", cat(f(10, 0), f(10, 0.9), f(10, 0.4), f(10, 0.9), f(20, 0)), silero.SegmentOptions{},
			[][2]float64{{10*fr - pad, 40*fr + pad}}},
		// A 2-frame dip (64 ms) is shorter than MinSilence (100 ms).
		{"short dip", cat(f(10, 0), f(10, 0.9), f(2, 0), f(10, 0.9), f(20, 0)), silero.SegmentOptions{},
			[][2]float64{{10*fr - pad, 32*fr + pad}}},
		// A 10-frame gap splits; padding stays inside the gap.
		{"two", cat(f(10, 0), f(10, 0.9), f(10, 0), f(10, 0.9), f(20, 0)), silero.SegmentOptions{},
			[][2]float64{{10*fr - pad, 20*fr + pad}, {30*fr - pad, 40*fr + pad}}},
		{"to the end", cat(f(10, 0), f(20, 0.9)), silero.SegmentOptions{},
			[][2]float64{{10*fr - pad, 30 * fr}}},
		{"from the start", cat(f(20, 0.9), f(20, 0)), silero.SegmentOptions{},
			[][2]float64{{0, 20*fr + pad}}},
		{"threshold", cat(f(10, 0), f(20, 0.7), f(20, 0)), silero.SegmentOptions{Threshold: 0.8}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := silero.Segments(tc.probs, tc.o)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				// Sample rounding of the 30 ms pad: 480 samples exactly.
				if math.Abs(got[i][0]-tc.want[i][0]) > 1e-9 || math.Abs(got[i][1]-tc.want[i][1]) > 1e-9 {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func BenchmarkFrame(b *testing.B) {
	v := newVAD(b)
	frame := make([]float32, silero.FrameLen)
	for i := range frame {
		frame[i] = float32(0.1 * math.Sin(float64(i)/5))
	}
	for b.Loop() {
		if _, err := v.Probabilities(frame); err != nil {
			b.Fatal(err)
		}
	}
}

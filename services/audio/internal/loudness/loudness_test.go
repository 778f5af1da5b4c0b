package loudness

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
)

func measureFile(t *testing.T, path string) Result {
	t.Helper()
	m, err := New(48000)
	if err != nil {
		t.Fatal(err)
	}
	_, err = decode.Stream(context.Background(), path, decode.Options{},
		decode.Output{SampleRate: 48000, Sink: func(b []float32) error { m.Write(b); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return m.Close()
}

var ffmpegI = regexp.MustCompile(`(?s)Summary:\s+Integrated loudness:\s+I:\s+(-?[0-9.]+) LUFS`)

// ffmpegIntegrated runs ffmpeg's own ebur128 filter on path and reads the
// last summary (ffmpeg 5.1 also prints an empty one, -70.0, when it
// configures the filter graph).
func ffmpegIntegrated(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostats", "-nostdin", "-i", path, "-filter_complex", "ebur128", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v\n%s", err, out)
	}
	all := ffmpegI.FindAllSubmatch(out, -1)
	if all == nil {
		t.Fatalf("no integrated loudness in ffmpeg's output:\n%s", out)
	}
	v, err := strconv.ParseFloat(string(all[len(all)-1][1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIntegratedMatchesFFmpeg(t *testing.T) {
	t.Parallel()
	for _, name := range []string{fixtures.Tone440, fixtures.SpeechWAV} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := fixtures.MustPath(t, name)
			got := measureFile(t, path)
			want := ffmpegIntegrated(t, path)
			t.Logf("%s: integrated %.3f LUFS, ffmpeg ebur128 %.1f LUFS (diff %.3f LU); LRA %.2f LU, true peak %.3f dBTP, sample peak %.3f dBFS",
				name, got.IntegratedLUFS, want, got.IntegratedLUFS-want, got.RangeLU, got.TruePeakDBTP, got.SamplePeakDBFS)
			if math.Abs(got.IntegratedLUFS-want) > 0.5 {
				t.Errorf("integrated = %.2f LUFS, ffmpeg says %.2f", got.IntegratedLUFS, want)
			}
			checkFinite(t, got)
		})
	}
}

func TestTonePeaks(t *testing.T) {
	t.Parallel()
	r := measureFile(t, fixtures.MustPath(t, fixtures.Tone440))
	if math.Abs(r.TruePeakDBTP-fixtures.TonePeakDBFS) > 0.3 {
		t.Errorf("true peak = %.3f dBTP, want %.3f ± 0.3", r.TruePeakDBTP, fixtures.TonePeakDBFS)
	}
	if math.Abs(r.RMSDBFS-fixtures.ToneRMSDBFS) > 0.1 {
		t.Errorf("rms = %.3f dBFS, want %.3f", r.RMSDBFS, fixtures.ToneRMSDBFS)
	}
	// A steady tone: no loudness range, crest factor of a sine (3.01 dB).
	if r.RangeLU > 0.1 || r.DynamicRangeLU > 0.1 || math.Abs(r.CrestFactorDB-3.01) > 0.1 {
		t.Errorf("LRA %v, DR %v, crest %v", r.RangeLU, r.DynamicRangeLU, r.CrestFactorDB)
	}
	if n := len(r.ShortTerm); n != 21 { // 3.0 s, 3.1 s, ..., 5.0 s
		t.Errorf("%d short-term points, want 21", n)
	}
}

// TestSynthetic covers the reference points of BS.1770 and the floors.
func TestSynthetic(t *testing.T) {
	t.Parallel()
	sine := func(sr int, hz, amp, seconds float64) []float32 {
		x := make([]float32, int(float64(sr)*seconds))
		for i := range x {
			x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(sr)))
		}
		return x
	}
	// Inter-sample peaks: a sine at fs/4 sampled 45° off its crests has
	// sample peak 0.707 but true peak 1.0 (+3 dB).
	isp := make([]float32, 48000)
	for i := range isp {
		isp[i] = float32(math.Sin(math.Pi/2*float64(i) + math.Pi/4))
	}
	tests := []struct {
		name  string
		sr    int
		x     []float32
		check func(t *testing.T, r Result)
	}{
		// A full-scale 1 kHz sine reads -3.01 LUFS (BS.1770), at any rate.
		{"1 kHz 0 dBFS at 48 kHz", 48000, sine(48000, 1000, 1, 5), func(t *testing.T, r Result) {
			if math.Abs(r.IntegratedLUFS+3.01) > 0.05 {
				t.Errorf("integrated = %v", r.IntegratedLUFS)
			}
		}},
		{"1 kHz 0 dBFS at 44.1 kHz", 44100, sine(44100, 1000, 1, 5), func(t *testing.T, r Result) {
			if math.Abs(r.IntegratedLUFS+3.01) > 0.05 {
				t.Errorf("integrated = %v", r.IntegratedLUFS)
			}
		}},
		{"1 kHz -20 dBFS at 22.05 kHz", 22050, sine(22050, 1000, 0.1, 5), func(t *testing.T, r Result) {
			if math.Abs(r.IntegratedLUFS+23.01) > 0.05 {
				t.Errorf("integrated = %v", r.IntegratedLUFS)
			}
		}},
		{"inter-sample peak", 48000, isp, func(t *testing.T, r Result) {
			if math.Abs(r.SamplePeakDBFS+3.01) > 0.05 || math.Abs(r.TruePeakDBTP) > 0.3 {
				t.Errorf("sample peak %v, true peak %v, want -3.01 and ~0", r.SamplePeakDBFS, r.TruePeakDBTP)
			}
		}},
		{"silence", 48000, make([]float32, 5*48000), func(t *testing.T, r Result) {
			if r.HasSignal || r.IntegratedLUFS != GateLUFS || r.TruePeakDBTP != SilenceDB || r.SNRDB != 0 {
				t.Errorf("silence: %+v", r)
			}
		}},
		{"empty", 48000, nil, func(t *testing.T, r Result) {
			if r.HasSignal || r.DurationSeconds != 0 || len(r.ShortTerm) != 0 || r.IntegratedLUFS != GateLUFS {
				t.Errorf("empty: %+v", r)
			}
		}},
		{"shorter than a block", 48000, sine(48000, 1000, 1, 0.3), func(t *testing.T, r Result) {
			if r.HasSignal || r.SamplePeakDBFS < -0.1 {
				t.Errorf("0.3 s: %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := New(tt.sr)
			if err != nil {
				t.Fatal(err)
			}
			m.Write(tt.x)
			r := m.Close()
			tt.check(t, r)
			checkFinite(t, r)
		})
	}
}

// TestKWeightingAt48k checks the derived coefficients against the ones
// printed in ITU-R BS.1770-4 for 48 kHz.
func TestKWeightingAt48k(t *testing.T) {
	t.Parallel()
	s, h := kWeighting(48000)
	got := []float64{s.b0, s.b1, s.b2, s.a1, s.a2, h.a1, h.a2}
	want := []float64{1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585,
		-1.99004745483398, 0.99007225036621}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-8 {
			t.Errorf("coefficient %d = %.14f, want %.14f", i, got[i], want[i])
		}
	}
}

func TestSNRCleanAboveNoisy(t *testing.T) {
	t.Parallel()
	clean := fixtures.MustPath(t, fixtures.SpeechWAV)
	noisy := filepath.Join(t.TempDir(), "noisy.wav")
	// White noise at amplitude 0.02 (~ -37 dBFS RMS) under the speech.
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", clean,
		"-f", "lavfi", "-i", "anoisesrc=color=white:amplitude=0.02:sample_rate=16000:seed=1",
		"-filter_complex", "[0:a][1:a]amix=inputs=2:duration=first:normalize=0", "-ac", "1", noisy)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("making noisy speech: %v\n%s", err, stderr.String())
	}
	c, n := measureFile(t, clean), measureFile(t, noisy)
	t.Logf("SNR clean %.1f dB (floor %.1f dBFS), noisy %.1f dB (floor %.1f dBFS)", c.SNRDB, c.NoiseFloorDBFS, n.SNRDB, n.NoiseFloorDBFS)
	if c.SNRDB <= n.SNRDB+10 {
		t.Errorf("SNR clean %.1f dB not well above noisy %.1f dB", c.SNRDB, n.SNRDB)
	}
	if n.SNRDB < 5 || n.SNRDB > 40 {
		t.Errorf("noisy speech SNR = %.1f dB, want a plausible 5-40 dB", n.SNRDB)
	}
}

func checkFinite(t *testing.T, v any) {
	t.Helper()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Float64:
			if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
				t.Errorf("non-finite value %v", f)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(v))
}

package loudness

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
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

// TestChannelsMatchFFmpeg measures stereo and 5.1 files whose channels
// differ (different tones and levels, silence on one channel) per channel,
// against ffmpeg's ebur128 on the same file; the mono downmix of the same
// file must be measurably off, or the test would not tell them apart.
func TestChannelsMatchFFmpeg(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, layout string
		channels     int
		sources      []string
	}{
		{"stereo", "stereo", 2, []string{
			"sine=frequency=440:sample_rate=48000:duration=12,volume=-12dB",
			"sine=frequency=2500:sample_rate=48000:duration=12,volume=-18dB",
		}},
		{"stereo one side", "stereo", 2, []string{
			"anoisesrc=color=pink:amplitude=0.2:sample_rate=48000:duration=12:seed=3",
			"anullsrc=sample_rate=48000:channel_layout=mono,atrim=duration=12",
		}},
		{"5.1", "5.1", 6, []string{
			"sine=frequency=300:sample_rate=48000:duration=12,volume=-20dB",
			"sine=frequency=500:sample_rate=48000:duration=12,volume=-20dB",
			"sine=frequency=1000:sample_rate=48000:duration=12,volume=-15dB",
			"sine=frequency=60:sample_rate=48000:duration=12,volume=-6dB", // LFE: left out
			"anoisesrc=color=white:amplitude=0.05:sample_rate=48000:duration=12:seed=5",
			"sine=frequency=3000:sample_rate=48000:duration=12,volume=-25dB",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "multi.wav")
			var args []string
			var graph, pads string
			for i, src := range tt.sources {
				args = append(args, "-f", "lavfi", "-i", src)
				pads += "[" + strconv.Itoa(i) + ":a]"
			}
			graph = pads + "join=inputs=" + strconv.Itoa(len(tt.sources)) + ":channel_layout=" + tt.layout + "[a]"
			args = append([]string{"-nostdin", "-v", "error"}, args...)
			args = append(args, "-filter_complex", graph, "-map", "[a]", "-c:a", "pcm_s16le", path)
			if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
				t.Fatalf("making %s: %v\n%s", tt.name, err, out)
			}
			m, err := NewChannels(48000, tt.channels)
			if err != nil {
				t.Fatal(err)
			}
			mono, _ := New(48000)
			_, err = decode.Stream(context.Background(), path, decode.Options{},
				decode.Output{SampleRate: 48000, Channels: tt.channels, Sink: func(b []float32) error { m.Write(b); return nil }},
				decode.Output{SampleRate: 48000, Sink: func(b []float32) error { mono.Write(b); return nil }})
			if err != nil {
				t.Fatal(err)
			}
			got, down := m.Close(), mono.Close()
			want := ffmpegIntegrated(t, path)
			t.Logf("%s: per channel %.2f LUFS, downmix %.2f LUFS, ffmpeg ebur128 %.2f LUFS", tt.name, got.IntegratedLUFS, down.IntegratedLUFS, want)
			if math.Abs(got.IntegratedLUFS-want) > 0.5 {
				t.Errorf("integrated %.2f LUFS, ffmpeg %.2f: want within 0.5 LU", got.IntegratedLUFS, want)
			}
			if math.Abs(down.IntegratedLUFS-want) < 1 {
				t.Errorf("the downmix (%.2f) already agrees with ffmpeg (%.2f): the file does not test channel weighting", down.IntegratedLUFS, want)
			}
			if math.Abs(got.DurationSeconds-12) > 0.01 {
				t.Errorf("duration %.3f s, want 12", got.DurationSeconds)
			}
			checkFinite(t, got)
		})
	}
	if _, err := NewChannels(48000, 3); err == nil {
		t.Error("3 channels accepted: BS.1770 weights are not defined for them here")
	}
}

// TestTruePeakSkipIsExact checks that skipping the interpolation of blocks
// that cannot reach the true peak changes nothing: a loud burst early, then
// quieter material with an inter-sample over late.
func TestTruePeakSkipIsExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 48000*5)
	for i := range x {
		amp := 0.2
		if i > 1000 && i < 3000 {
			amp = 0.7
		}
		x[i] = float32(amp * (rng.Float64()*2 - 1))
	}
	// A sine at fs/4 with a 45° phase: samples at ±0.6·√2/2, peaks at 0.6
	// between them (an inter-sample over of 3 dB over the samples).
	for i := 4 * 48000; i < 4*48000+400; i++ {
		x[i] = float32(0.75 * math.Sin(math.Pi/2*float64(i)+math.Pi/4))
	}
	ref := newPeakMeter()
	for _, s := range x {
		ref.write1(float64(s))
	}
	got := newPeakMeter()
	for i := 0; i < len(x); i += 4096 {
		got.write(x[i:min(len(x), i+4096)])
	}
	if got.truePeak != ref.truePeak || got.samplePeak != ref.samplePeak {
		t.Errorf("blocks: true %v sample %v; sample by sample: true %v sample %v", got.truePeak, got.samplePeak, ref.truePeak, ref.samplePeak)
	}
	if ref.truePeak < 0.74 {
		t.Errorf("true peak %v misses the inter-sample over (0.75)", ref.truePeak)
	}
}

package spectral

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/audio/internal/decode"
)

// analyseFile decodes a fixture at 22050 Hz and analyses it.
func analyseFile(t *testing.T, name string, onFrame func(*Frame)) Result {
	t.Helper()
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	a.OnFrame = onFrame
	_, err = decode.Stream(context.Background(), fixtures.MustPath(t, name), decode.Options{},
		decode.Output{SampleRate: 22050, Sink: func(b []float32) error { a.Write(b); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return a.Close()
}

func TestToneDominantFrequency(t *testing.T) {
	t.Parallel()
	var bad, frames int
	res := analyseFile(t, fixtures.Tone440, func(f *Frame) {
		// Frames overlapping the start or end see the tone's edge.
		if f.Time < 0.1 || f.Time > fixtures.ToneSeconds-0.1 {
			return
		}
		frames++
		if math.Abs(f.DominantHz-fixtures.ToneHz) > 5 {
			bad++
		}
	})
	t.Logf("tone: summary dominant %.3f Hz, f0 median %.2f Hz (truth %v); %d/%d frames off by > 5 Hz",
		res.Summary.DominantHz, res.Summary.F0Median, fixtures.ToneHz, bad, frames)
	if math.Abs(res.Summary.DominantHz-fixtures.ToneHz) > 5 {
		t.Errorf("dominant = %v Hz, want %v ± 5", res.Summary.DominantHz, fixtures.ToneHz)
	}
	if bad > 0 {
		t.Errorf("%d of %d frames have a dominant frequency off by more than 5 Hz", bad, frames)
	}
	for _, p := range res.Series {
		if math.Abs(p.DominantHz-fixtures.ToneHz) > 5 {
			t.Errorf("series point at %vs: dominant %v Hz", p.Time, p.DominantHz)
		}
	}
	if math.Abs(res.Summary.F0Median-fixtures.ToneHz) > 5 {
		t.Errorf("f0 median = %v Hz, want %v ± 5", res.Summary.F0Median, fixtures.ToneHz)
	}
	if len(res.Series) != int(fixtures.ToneSeconds) {
		t.Errorf("%d series points, want %d", len(res.Series), int(fixtures.ToneSeconds))
	}
	checkFinite(t, res)
}

func TestSpeechPitch(t *testing.T) {
	t.Parallel()
	res := analyseFile(t, fixtures.SpeechWAV, nil)
	s := res.Summary
	t.Logf("speech: f0 median %.1f Hz, voiced %.2f, centroid %.0f Hz, flatness %.3f", s.F0Median, s.VoicedRatio, s.Centroid, s.Flatness)
	// espeak-ng's en-us voice speaks around 100-200 Hz.
	if s.F0Median < 80 || s.F0Median > 250 {
		t.Errorf("speech f0 median = %v Hz, want a speaking voice (80-250)", s.F0Median)
	}
	if s.VoicedRatio < 0.2 || s.VoicedRatio > 0.9 {
		t.Errorf("voiced ratio = %v, want speech with pauses (0.2-0.9)", s.VoicedRatio)
	}
	// The silent lead-in has no pitch.
	if res.Series[0].VoicedRatio > 0.3 {
		t.Errorf("first second voiced ratio = %v, want mostly silence", res.Series[0].VoicedRatio)
	}
	checkFinite(t, res)
}

func TestSyntheticFeatures(t *testing.T) {
	t.Parallel()
	const sr = 22050
	sine := func(hz float64) []float32 {
		x := make([]float32, 2*sr)
		for i := range x {
			x[i] = float32(0.5 * math.Sin(2*math.Pi*hz*float64(i)/sr))
		}
		return x
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float32, 2*sr)
	for i := range noise {
		noise[i] = float32(rng.Float64()*2 - 1)
	}
	tests := []struct {
		name  string
		x     []float32
		check func(t *testing.T, s Summary)
	}{
		{"sine 1 kHz", sine(1000), func(t *testing.T, s Summary) {
			if math.Abs(s.Centroid-1000) > 30 || s.Flatness > 0.01 || math.Abs(s.DominantHz-1000) > 1 {
				t.Errorf("centroid %v, flatness %v, dominant %v", s.Centroid, s.Flatness, s.DominantHz)
			}
			// ZCR of a sine is 2f/sr.
			if want := 2 * 1000.0 / sr; math.Abs(s.ZCR-want) > 0.005 {
				t.Errorf("zcr = %v, want %v", s.ZCR, want)
			}
			if math.Abs(s.RMS-0.5/math.Sqrt2) > 0.02 {
				t.Errorf("rms = %v", s.RMS)
			}
		}},
		{"white noise", noise, func(t *testing.T, s Summary) {
			if s.Flatness < 0.4 || math.Abs(s.Centroid-sr/4) > 300 || s.VoicedRatio > 0.05 {
				t.Errorf("flatness %v, centroid %v, voiced %v", s.Flatness, s.Centroid, s.VoicedRatio)
			}
			// Rolloff of flat noise: 85% of the band.
			if math.Abs(s.Rolloff-0.85*sr/2) > 300 {
				t.Errorf("rolloff %v", s.Rolloff)
			}
		}},
		{"silence", make([]float32, sr), func(t *testing.T, s Summary) {
			if s.RMS != 0 || s.DominantHz != 0 || s.F0Median != 0 || s.Centroid != 0 || s.Flux != 0 {
				t.Errorf("silence: %+v", s)
			}
		}},
		{"empty", nil, func(t *testing.T, s Summary) {
			if s.Frames != 0 || s.DurationSeconds != 0 {
				t.Errorf("empty: %+v", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(Config{SampleRate: sr})
			if err != nil {
				t.Fatal(err)
			}
			a.Write(tt.x)
			res := a.Close()
			tt.check(t, res.Summary)
			if tt.x == nil && (len(res.Series) != 0 || len(res.Mel.Rows) != 0) {
				t.Errorf("empty input: %d series points, %d mel rows", len(res.Series), len(res.Mel.Rows))
			}
			checkFinite(t, res)
		})
	}
}

// TestBlockSizeInvariance checks the streaming: any split of the input into
// blocks gives the same result.
func TestBlockSizeInvariance(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 50000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.05) + 0.1*rng.NormFloat64())
	}
	run := func(block int) Result {
		a, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(x); i += block {
			a.Write(x[i:min(i+block, len(x))])
		}
		return a.Close()
	}
	want := run(len(x))
	for _, b := range []int{1, 511, 4096} {
		if got := run(b); !reflect.DeepEqual(got, want) {
			t.Errorf("block size %d changes the result", b)
		}
	}
	if frames := 1 + len(x)/512; want.Summary.Frames != frames {
		t.Errorf("frames = %d, want %d", want.Summary.Frames, frames)
	}
}

func TestMelScale(t *testing.T) {
	t.Parallel()
	// Reference points of Slaney's scale (librosa.hz_to_mel).
	for _, tc := range []struct{ hz, mel float64 }{{0, 0}, {200, 3}, {1000, 15}, {6400, 42}} {
		if got := HzToMel(tc.hz); math.Abs(got-tc.mel) > 1e-9 {
			t.Errorf("HzToMel(%v) = %v, want %v", tc.hz, got, tc.mel)
		}
		if got := MelToHz(tc.mel); math.Abs(got-tc.hz) > 1e-6 {
			t.Errorf("MelToHz(%v) = %v, want %v", tc.mel, got, tc.hz)
		}
	}
	fb := NewMelFilterbank(22050, 2048, 64, 0, 11025)
	if fb.Bands() != 64 {
		t.Fatalf("bands = %d", fb.Bands())
	}
	// A flat power spectrum of 1 gives each band ~ its (normalised) area:
	// 2/width * width/2 * bins per Hz = 1/binHz.
	flat := make([]float64, 1025)
	for i := range flat {
		flat[i] = 1
	}
	out := make([]float64, 64)
	fb.Apply(out, flat)
	binHz := 22050.0 / 2048
	for b, v := range out[8:] { // the narrowest low bands span under two bins
		if math.Abs(v*binHz-1) > 0.1 {
			t.Errorf("band %d: %v, want ~%v", b+8, v, 1/binHz)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Config{
		"odd frame":   {FrameSize: 1001},
		"low rate":    {SampleRate: 100},
		"pitch range": {PitchMin: 300, PitchMax: 200},
		"mel range":   {MelFMax: 20000},
		"short frame": {FrameSize: 256, Hop: 128},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// checkFinite fails on any NaN or Inf reachable in v.
func checkFinite(t *testing.T, v any) {
	t.Helper()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Float32, reflect.Float64:
			if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
				t.Errorf("%s = %v", path, f)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		}
	}
	walk("result", reflect.ValueOf(v))
}

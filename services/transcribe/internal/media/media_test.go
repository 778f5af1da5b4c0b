package media

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, name := range []string{fixtures.SpeechWAV, fixtures.SpeechMP4, fixtures.AudioOnly} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var calls int
			a, err := Decode(context.Background(), fixtures.MustPath(t, name), Options{Progress: func(done, total float64) { calls++ }})
			if err != nil {
				t.Fatal(err)
			}
			got := float64(len(a.Samples)) / SampleRate
			// AAC adds up to a frame of priming and padding.
			if math.Abs(got-fixtures.SpeechSeconds) > 0.1 || math.Abs(a.Duration-fixtures.SpeechSeconds) > 0.1 {
				t.Errorf("decoded %.3f s (probed %.3f), want %.3f", got, a.Duration, fixtures.SpeechSeconds)
			}
			if calls == 0 {
				t.Error("no progress")
			}
			// Sound where the first sentence is, digital-ish silence in
			// the lead.
			seg := fixtures.SpeechSegments[0]
			if rms(a.Samples[int(seg[0]*SampleRate):int(seg[1]*SampleRate)]) < 300 || rms(a.Samples[:int(0.4*SampleRate)]) > 30 {
				t.Errorf("speech rms %.0f, lead rms %.0f", rms(a.Samples[int(seg[0]*SampleRate):int(seg[1]*SampleRate)]), rms(a.Samples[:int(0.4*SampleRate)]))
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := Decode(ctx, fixtures.MustPath(t, fixtures.NoAudio), Options{}); !errors.Is(err, ErrNoAudio) {
		t.Errorf("no audio: %v", err)
	}
	for _, name := range fixtures.BadMedia {
		if _, err := Decode(ctx, fixtures.MustPath(t, name), Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Decode(ctx, fixtures.MustPath(t, fixtures.SpeechWAV), Options{MaxSeconds: 2}); !errors.Is(err, ErrTooLong) {
		t.Errorf("limit: %v, want ErrTooLong", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Decode(cctx, fixtures.MustPath(t, fixtures.SpeechWAV), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func rms(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(max(1, len(s))))
}

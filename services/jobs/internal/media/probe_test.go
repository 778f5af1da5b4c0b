package media_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
)

const mp4Format = "mov,mp4,m4a,3gp,3g2,mj2"

// h264 is the video stream of every video fixture; frames is its length.
func h264(seconds float64) *media.VideoStream {
	return &media.VideoStream{Codec: "h264", Width: fixtures.Width, Height: fixtures.Height, FPS: fixtures.FPS,
		FrameCount: int64(seconds * fixtures.FPS), PixelFormat: "yuv420p"}
}

// infoOpts compare probe results: bit rates depend on the encoder, and
// durations are compared within 0.1 s.
var infoOpts = cmp.Options{
	cmpopts.IgnoreFields(media.Info{}, "BitRate"),
	cmpopts.IgnoreFields(media.VideoStream{}, "BitRate"),
	cmpopts.IgnoreFields(media.AudioStream{}, "BitRate"),
	cmpopts.EquateApprox(0, 0.1),
}

func TestProbeFixtures(t *testing.T) {
	t.Parallel()
	aac := func(rate, channels int, layout string) *media.AudioStream {
		return &media.AudioStream{Codec: "aac", Channels: channels, SampleRate: rate, ChannelLayout: layout}
	}
	pcm := func(rate int) *media.AudioStream {
		return &media.AudioStream{Codec: "pcm_s16le", Channels: 1, SampleRate: rate}
	}
	for _, tt := range []struct {
		name   string
		limits media.Limits
		want   media.Info
		label  string // subtest name, when not the fixture's
	}{
		{fixtures.Cuts, media.Limits{}, media.Info{DurationSeconds: fixtures.CutsSeconds, FormatName: mp4Format,
			Video: h264(fixtures.CutsSeconds), Audio: aac(48000, 1, "mono")}, ""},
		{fixtures.Fade, media.Limits{}, media.Info{DurationSeconds: fixtures.FadeSeconds, FormatName: mp4Format,
			Video: h264(fixtures.FadeSeconds), Audio: aac(48000, 1, "mono")}, ""},
		{fixtures.Still, media.Limits{}, media.Info{DurationSeconds: fixtures.StillSeconds, FormatName: mp4Format,
			Video: h264(fixtures.StillSeconds), Audio: aac(48000, 2, "stereo")}, ""},
		{fixtures.NoAudio, media.Limits{}, media.Info{DurationSeconds: fixtures.NoAudioSeconds, FormatName: mp4Format,
			Video: h264(fixtures.NoAudioSeconds)}, ""},
		{fixtures.MovingSquare, media.Limits{}, media.Info{DurationSeconds: fixtures.SquareSeconds, FormatName: mp4Format,
			Video: h264(fixtures.SquareSeconds)}, ""},
		{fixtures.SpeechMP4, media.Limits{}, media.Info{DurationSeconds: fixtures.SpeechSeconds, FormatName: mp4Format,
			Video: h264(fixtures.SpeechSeconds), Audio: aac(fixtures.SpeechSampleRate, 1, "mono")}, ""},
		{fixtures.AudioOnly, media.Limits{}, media.Info{DurationSeconds: fixtures.SpeechSeconds, FormatName: mp4Format,
			Audio: aac(fixtures.SpeechSampleRate, 1, "mono")}, ""},
		{fixtures.SpeechWAV, media.Limits{}, media.Info{DurationSeconds: fixtures.SpeechSeconds, FormatName: "wav",
			Audio: pcm(fixtures.SpeechSampleRate)}, ""},
		{fixtures.Tone440, media.Limits{}, media.Info{DurationSeconds: fixtures.ToneSeconds, FormatName: "wav",
			Audio: pcm(fixtures.ToneSampleRate)}, ""},
		{fixtures.ClickName(120), media.Limits{}, media.Info{DurationSeconds: fixtures.ClickSeconds, FormatName: "wav",
			Audio: pcm(fixtures.ClickSampleRate)}, ""},
		// Exactly at the limits is accepted.
		{fixtures.Cuts, media.Limits{MaxDurationSeconds: fixtures.CutsSeconds, MaxPixels: fixtures.Width * fixtures.Height},
			media.Info{DurationSeconds: fixtures.CutsSeconds, FormatName: mp4Format, Video: h264(fixtures.CutsSeconds), Audio: aac(48000, 1, "mono")},
			"at the limits"},
		// A pixel limit does not apply to sound.
		{fixtures.SpeechWAV, media.Limits{MaxPixels: 1}, media.Info{DurationSeconds: fixtures.SpeechSeconds, FormatName: "wav",
			Audio: pcm(fixtures.SpeechSampleRate)}, "audio under a pixel limit"},
	} {
		label := tt.label
		if label == "" {
			label = tt.name
		}
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			got, err := media.Prober{Limits: tt.limits}.Probe(t.Context(), fixtures.MustPath(t, tt.name))
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			tt.want.Engine = "ffprobe"
			if diff := cmp.Diff(tt.want, got, infoOpts); diff != "" {
				t.Errorf("Probe (-want +got):\n%s", diff)
			}
			if got.BitRate <= 0 {
				t.Errorf("BitRate = %d, want > 0", got.BitRate)
			}
		})
	}
}

func TestProbeRefusesBadMedia(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		path   func(t *testing.T) string
		limits media.Limits
		// want are parts of the error message, after "invalid media: ".
		want []string
	}{
		{name: fixtures.Empty, path: fixture(fixtures.Empty), want: []string{"the file is empty"}},
		{name: fixtures.Garbage, path: fixture(fixtures.Garbage),
			want: []string{"not a readable media file", "Invalid data found when processing input"}},
		{name: fixtures.Truncated, path: fixture(fixtures.Truncated),
			want: []string{"not a readable media file", "Invalid data found when processing input"}},
		{name: fixtures.Text, path: fixture(fixtures.Text),
			want: []string{"not a readable media file", "Invalid data found when processing input"}},
		{name: "index first, cut in half", path: func(t *testing.T) string { return cutFaststart(t, dir) },
			want: []string{"the file ends early: no video data in its last seconds (truncated?)"}},
		{name: "index intact, data noise", path: func(t *testing.T) string { return noisyData(t, dir) },
			want: []string{"the streams do not decode"}},
		{name: "over the duration limit", path: fixture(fixtures.Cuts), limits: media.Limits{MaxDurationSeconds: 11.5},
			want: []string{"duration 12 s is over the limit of 11.5 s"}},
		{name: "audio over the duration limit", path: fixture(fixtures.SpeechWAV), limits: media.Limits{MaxDurationSeconds: 10},
			want: []string{"duration 15.28 s is over the limit of 10 s"}},
		{name: "over the pixel limit", path: fixture(fixtures.NoAudio), limits: media.Limits{MaxPixels: 640 * 100},
			want: []string{"frame 320x240 is over the limit of 64000 pixels"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.path(t)
			_, err := media.Prober{Limits: tt.limits}.Probe(t.Context(), path)
			if !errors.Is(err, media.ErrInvalid) {
				t.Fatalf("Probe = %v, want an error wrapping ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "invalid media: ") {
				t.Errorf("error %q does not start with %q", msg, "invalid media: ")
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, path) || strings.Contains(msg, filepath.Dir(path)) {
				t.Errorf("error %q shows where the file is (%s)", msg, path)
			}
		})
	}
}

func TestProbeOtherFailures(t *testing.T) {
	t.Parallel()
	cuts := fixtures.MustPath(t, fixtures.Cuts)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tt := range []struct {
		name   string
		prober media.Prober
		ctx    context.Context
		path   string
		is     error
		want   string
	}{
		{"missing file", media.Prober{}, t.Context(), filepath.Join(t.TempDir(), "nope.mp4"), os.ErrNotExist, "media: stat"},
		{"no ffprobe", media.Prober{Bin: filepath.Join(t.TempDir(), "ffprobe")}, t.Context(), cuts, os.ErrNotExist, "media: run"},
		{"cancelled", media.Prober{}, cancelled, cuts, context.Canceled, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.prober.Probe(tt.ctx, tt.path)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Probe = %v, want an error wrapping %v saying %q", err, tt.is, tt.want)
			}
			if errors.Is(err, media.ErrInvalid) {
				t.Errorf("Probe = %v: a failure of the server blamed on the file", err)
			}
		})
	}
}

// fixture returns a path func of a fixture.
func fixture(name string) func(t *testing.T) string {
	return func(t *testing.T) string { return fixtures.MustPath(t, name) }
}

// faststart remuxes cuts.mp4 with its index (moov) before the data, into
// dir, and returns the new file's bytes.
func faststart(t *testing.T, dir, name string) []byte {
	t.Helper()
	out := filepath.Join(dir, name+".faststart.mp4")
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", fixtures.MustPath(t, fixtures.Cuts),
		"-c", "copy", "-movflags", "+faststart", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg faststart: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cutFaststart writes the first half of a faststart cuts.mp4: its index
// and first seconds are whole, its end is missing.
func cutFaststart(t *testing.T, dir string) string {
	t.Helper()
	b := faststart(t, dir, "cut")
	p := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(p, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noisyData writes a faststart cuts.mp4 whose media data (after the mdat
// box header) is replaced by seeded noise: it parses, but does not decode.
func noisyData(t *testing.T, dir string) string {
	t.Helper()
	b := faststart(t, dir, "noise")
	i := bytes.Index(b, []byte("mdat"))
	if i < 0 {
		t.Fatal("no mdat box in the remuxed file")
	}
	rng := rand.NewChaCha8([32]byte{'c', 'l', 'i', 'p'})
	if _, err := rng.Read(b[i+4:]); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "noise.mp4")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

package render

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

func TestEDL(t *testing.T) {
	t.Parallel()
	src := fixtures.MustPath(t, fixtures.Cuts)
	info, err := Probe(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	// Clip [2.0, 4.4): exactly the smptebars shot, frames 50..110 at 25 fps.
	e := NewEdit("bars", src, fixtures.CutTimes[0], fixtures.CutTimes[1], info)
	var buf bytes.Buffer
	if err := WriteEDL(&buf, e); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if lines[0] != "TITLE: BARS" || lines[1] != "FCM: NON-DROP FRAME" {
		t.Fatalf("header %q", lines[:2])
	}
	f := strings.Fields(lines[3])
	if len(f) != 8 || f[0] != "001" || f[2] != "AA/V" || f[3] != "C" {
		t.Fatalf("event line %q", lines[3])
	}
	if want := []string{"00:00:02:00", "00:00:04:10", "01:00:00:00", "01:00:02:10"}; strings.Join(f[4:], " ") != strings.Join(want, " ") {
		t.Fatalf("timecodes %q, want %q", f[4:], want)
	}
	if lines[4] != "* FROM CLIP NAME: "+filepath.Base(src) {
		t.Fatalf("clip name line %q", lines[4])
	}
}

func TestFCPXML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		num, den       int
		in, out        float64
		start, dur, fd string
	}{
		{"25 fps", 25, 1, 2.0, 4.4, "50/25s", "60/25s", "1/25s"},
		{"29.97 fps", 30000, 1001, 10.01, 20.02, "300300/30000s", "300300/30000s", "1001/30000s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Edit{Title: "clip", Source: "/media/talk.mp4", In: tc.in, Out: tc.out, FPSNum: tc.num, FPSDen: tc.den,
				Width: 1280, Height: 720, SourceDuration: 60, HasAudio: true}
			var buf bytes.Buffer
			if err := WriteFCPXML(&buf, e); err != nil {
				t.Fatal(err)
			}
			var doc FCPXML
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("FCPXML does not parse: %v\n%s", err, buf.String())
			}
			if doc.Version != "1.9" || len(doc.Resources.Assets) != 1 || len(doc.Resources.Formats) != 1 {
				t.Fatalf("document %+v", doc)
			}
			a := doc.Resources.Assets[0]
			if a.Src != "file:///media/talk.mp4" || a.Format != doc.Resources.Formats[0].ID {
				t.Errorf("asset %+v", a)
			}
			if fd := doc.Resources.Formats[0].FrameDuration; fd != tc.fd {
				t.Errorf("frameDuration %s, want %s", fd, tc.fd)
			}
			clips := doc.Library.Event.Project.Sequence.Spine.Clips
			if len(clips) != 1 || clips[0].Ref != a.ID || clips[0].Start != tc.start || clips[0].Duration != tc.dur {
				t.Fatalf("spine %+v, want start %s duration %s", clips, tc.start, tc.dur)
			}
			if d := doc.Library.Event.Project.Sequence.Duration; d != tc.dur {
				t.Errorf("sequence duration %s", d)
			}
		})
	}
}

func TestEditBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		e     Edit
		field string
	}{
		{"zero length", Edit{Source: "a.mp4", In: 2, Out: 2, FPSNum: 25, FPSDen: 1}, "end"},
		{"no fps", Edit{Source: "a.mp4", In: 1, Out: 2}, "fps"},
		{"negative", Edit{Source: "a.mp4", In: -1, Out: 2, FPSNum: 25, FPSDen: 1}, "start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteEDL(&bytes.Buffer{}, tc.e); inputerr.Field(err) != tc.field {
				t.Errorf("EDL: %v, want invalid %s", err, tc.field)
			}
			if err := WriteFCPXML(&bytes.Buffer{}, tc.e); inputerr.Field(err) != tc.field {
				t.Errorf("FCPXML: %v, want invalid %s", err, tc.field)
			}
		})
	}
}

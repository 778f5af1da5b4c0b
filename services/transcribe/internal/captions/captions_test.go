package captions

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

func TestParse(t *testing.T) {
	t.Parallel()
	srt := "\uFEFF1\r\n00:00:01,500 --> 00:00:04,000\r\n<i>Hello</i> there,\r\n{\\an8}general\r\n\r\n2\r\n01:00:05,250 --> 01:00:06,000\r\nKenobi.\r\n"
	vtt := "WEBVTT - title\n\nNOTE a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\nintro\n00:01.500 --> 00:04.000 align:start line:0\n<v Obi>Hello</v> there,\ngeneral\n\n01:00:05.250 --> 01:00:06.000\n<00:00:05.500>Kenobi.\n"
	want := []Cue{{1.5, 4, "Hello there, general"}, {3605.25, 3606, "Kenobi."}}
	for _, tt := range []struct {
		name, content string
		format        Format
	}{{"srt", srt, SRT}, {"vtt", vtt, VTT}} {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := Parse(tt.content, "")
			if err != nil {
				t.Fatal(err)
			}
			if f != tt.format || len(got) != len(want) {
				t.Fatalf("format %q cues %+v", f, got)
			}
			for i := range want {
				if math.Abs(got[i].Start-want[i].Start) > 1e-9 || math.Abs(got[i].End-want[i].End) > 1e-9 || got[i].Text != want[i].Text {
					t.Errorf("cue %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]string{
		"empty":        "",
		"no cues":      "hello\nworld\n",
		"backwards":    "1\n00:00:05,000 --> 00:00:04,000\nx\n",
		"bad minutes":  "1\n00:75:05,000 --> 00:80:04,000\nx\n",
		"vtt header":   "1\n00:00:01.000 --> 00:00:02.000\nx\n",
		"not utf8":     "1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe\n",
		"no text cues": "1\n00:00:01,000 --> 00:00:02,000\n\n",
	} {
		f := Format("")
		if name == "vtt header" {
			f = VTT
		}
		if _, _, err := Parse(c, f); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

// TestRoundTrip: a transcript written as SRT and WebVTT reads back as the
// same cues; long segments are split at words within the limits.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tr := &engine.Transcript{Language: "en"}
	var words []engine.Word
	var texts []string
	for i := range 40 {
		w := engine.Word{Start: 10 + float64(i)*0.4, End: 10 + float64(i)*0.4 + 0.3, Text: strings.Repeat("w", 1+i%7)}
		words, texts = append(words, w), append(texts, w.Text)
	}
	tr.Segments = []engine.Segment{
		{Start: 1.2345, End: 2.5, Text: "a & b <c>", Words: []engine.Word{{Start: 1.2345, End: 1.8, Text: "a"}, {Start: 1.9, End: 2.1, Text: "&"}, {Start: 2.1, End: 2.5, Text: "b <c>"}}},
		{Start: 10, End: words[39].End, Text: strings.Join(texts, " "), Words: words},
		{Start: 30, End: 31, Text: "no words"},
	}
	cues := Cues(tr)
	if len(cues) < 5 {
		t.Fatalf("%d cues, want the long segment split", len(cues))
	}
	for _, c := range cues {
		if len(c.Text) > maxCueChars || c.End-c.Start > maxCueSeconds+1e-9 {
			t.Errorf("cue %+v over the limits", c)
		}
	}
	for _, f := range []Format{SRT, VTT} {
		out := WriteSRT(tr)
		if f == VTT {
			out = WriteVTT(tr)
			if !strings.Contains(out, "a &amp; b &lt;c&gt;") {
				t.Errorf("vtt not escaped:\n%s", out)
			}
		}
		got, gf, err := Parse(out, "")
		if err != nil || gf != f {
			t.Fatalf("%s: %v (%q)\n%s", f, err, gf, out)
		}
		if len(got) != len(cues) {
			t.Fatalf("%s: %d cues back, want %d", f, len(got), len(cues))
		}
		for i := range cues {
			wantText := cues[i].Text
			if f == SRT {
				wantText = strings.TrimSpace(strings.ReplaceAll(wantText, "<c>", "")) // SRT has no escapes: tags are markup
			}
			if math.Abs(got[i].Start-cues[i].Start) > 0.00051 || math.Abs(got[i].End-cues[i].End) > 0.00051 || got[i].Text != wantText {
				t.Errorf("%s cue %d = %+v, want %+v", f, i, got[i], cues[i])
			}
		}
	}
	if txt := WriteText(tr); strings.Count(txt, "\n") != 3 || !strings.HasPrefix(txt, "a & b <c>\n") {
		t.Errorf("text %q", txt)
	}
}

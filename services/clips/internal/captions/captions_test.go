package captions

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/fixtures"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// speechWords spreads each fixture sentence's words evenly over its segment.
func speechWords() []Word {
	var words []Word
	for i, s := range fixtures.SpeechText {
		seg := fixtures.SpeechSegments[i]
		ws := strings.Fields(s)
		d := (seg[1] - seg[0]) / float64(len(ws))
		for j, w := range ws {
			words = append(words, Word{Start: seg[0] + float64(j)*d, End: seg[0] + float64(j+1)*d - 0.02, Text: w})
		}
	}
	return words
}

type srtCue struct {
	start, end float64
	text       string
}

func parseSRTTime(t *testing.T, s string) float64 {
	t.Helper()
	var h, m, sec, ms int
	if _, err := fmt.Sscanf(s, "%d:%d:%d,%d", &h, &m, &sec, &ms); err != nil {
		t.Fatalf("bad SRT time %q: %v", s, err)
	}
	return float64(h*3600+m*60+sec) + float64(ms)/1000
}

func parseSRT(t *testing.T, b []byte) []srtCue {
	t.Helper()
	var cues []srtCue
	for block := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n\n") {
		lines := strings.Split(block, "\n")
		if len(lines) < 3 {
			t.Fatalf("short SRT block %q", block)
		}
		a, z, ok := strings.Cut(lines[1], " --> ")
		if !ok {
			t.Fatalf("bad SRT timing %q", lines[1])
		}
		cues = append(cues, srtCue{parseSRTTime(t, a), parseSRTTime(t, z), strings.Join(lines[2:], " ")})
	}
	return cues
}

func TestSRTCarriesClipWords(t *testing.T) {
	t.Parallel()
	words := speechWords()
	start := (fixtures.SpeechSegments[0][0] + fixtures.SpeechSegments[0][1]) / 2
	end := (fixtures.SpeechSegments[2][0] + fixtures.SpeechSegments[2][1]) / 2
	var want []Word
	for _, w := range words {
		if w.Start >= start && w.End <= end {
			want = append(want, w)
		}
	}
	cues, err := Cues(words, start, end, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSRT(&buf, cues); err != nil {
		t.Fatal(err)
	}
	got := parseSRT(t, buf.Bytes())
	var gotWords []string
	wi := 0
	for _, c := range got {
		ws := strings.Fields(c.text)
		gotWords = append(gotWords, ws...)
		first, last := want[wi], want[wi+len(ws)-1]
		if math.Abs(c.start-(first.Start-start)) > 0.0015 || math.Abs(c.end-(last.End-start)) > 0.0015 {
			t.Errorf("cue %q at [%v,%v], want [%v,%v]", c.text, c.start, c.end, first.Start-start, last.End-start)
		}
		wi += len(ws)
	}
	var wantWords []string
	for _, w := range want {
		wantWords = append(wantWords, w.Text)
	}
	if strings.Join(gotWords, " ") != strings.Join(wantWords, " ") {
		t.Fatalf("SRT words\n got %q\nwant %q", gotWords, wantWords)
	}
	for _, c := range cues {
		if len(c.Lines) > 2 {
			t.Errorf("cue has %d lines", len(c.Lines))
		}
		for _, l := range c.Lines {
			if len(l) > 32 {
				t.Errorf("line %q longer than 32", l)
			}
		}
	}
}

func TestVTTAndASS(t *testing.T) {
	t.Parallel()
	cues, err := Cues([]Word{{1, 1.5, "Hello"}, {1.6, 2, "{world}"}}, 0.5, 3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var vtt bytes.Buffer
	if err := WriteVTT(&vtt, cues); err != nil {
		t.Fatal(err)
	}
	if want := "WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.500\nHello {world}\n\n"; vtt.String() != want {
		t.Fatalf("VTT = %q, want %q", vtt.String(), want)
	}
	for _, st := range Styles {
		t.Run(string(st), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteASS(&buf, cues, st, ASSOptions{Width: 1080, Height: 1920}); err != nil {
				t.Fatal(err)
			}
			var events []string
			sc := bufio.NewScanner(&buf)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "Dialogue:") {
					events = append(events, sc.Text())
				}
			}
			want := map[Style]int{StyleWord: 2, StyleBlock: 1, StyleKaraoke: 1}[st]
			if len(events) != want {
				t.Fatalf("%d events, want %d: %q", len(events), want, events)
			}
			if !strings.Contains(events[0], "0:00:00.50") || !strings.Contains(events[0], "(world)") {
				t.Errorf("event %q", events[0])
			}
			if st == StyleKaraoke && !strings.Contains(events[0], `{\kf60}Hello {\kf40}(world)`) {
				t.Errorf("karaoke event %q", events[0])
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		start, end float64
		field      string
	}{
		{"negative", -1, 2, "start"},
		{"zero length", 2, 2, "end"},
		{"reversed", 3, 2, "end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cues(nil, tc.start, tc.end, Options{})
			if !errors.Is(err, inputerr.ErrInvalid) || inputerr.Field(err) != tc.field {
				t.Fatalf("err = %v, want invalid %s", err, tc.field)
			}
		})
	}
	if _, err := ParseStyle("comic-sans"); inputerr.Field(err) != "caption_style" {
		t.Fatalf("ParseStyle: %v", err)
	}
	if err := WriteASS(&bytes.Buffer{}, nil, "fancy", ASSOptions{Width: 1, Height: 1}); inputerr.Field(err) != "caption_style" {
		t.Fatalf("WriteASS: %v", err)
	}
}

// Package captions reads SubRip (SRT) and WebVTT subtitle files into timed
// cues and writes transcripts as SRT, WebVTT and plain text.
package captions

import (
	"errors"
	"fmt"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// Format is a subtitle file format.
type Format string

// Formats Parse reads.
const (
	SRT Format = "srt"
	VTT Format = "vtt"
)

// ErrInvalid is wrapped by every error about a malformed file; the message
// says where.
var ErrInvalid = errors.New("invalid subtitles")

// Cue is one subtitle: a time range and its text (markup removed, lines
// joined by spaces).
type Cue struct {
	Start, End float64
	Text       string
}

// Detect tells WebVTT (a "WEBVTT" header) from SRT.
func Detect(content string) Format {
	c := strings.TrimPrefix(content, "\uFEFF")
	if strings.HasPrefix(c, "WEBVTT") {
		return VTT
	}
	return SRT
}

// timing matches a cue timing line: "00:00:01,000 --> 00:00:04,000" (SRT)
// or "01.000 --> 00:04.000 align:start" (WebVTT: hours optional, settings
// after).
var timing = regexp.MustCompile(`^\s*((?:\d+:)?\d{1,2}:\d{1,2}[,.]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{1,2}[,.]\d{1,3})(?:\s.*)?$`)

// markup matches tags (<i>, </b>, <v Speaker>, <00:00:01.000>) and SSA
// override blocks ({\an8}).
var markup = regexp.MustCompile(`<[^>]*>|\{\\[^}]*\}`)

// Parse reads a subtitle file in format f ("" detects it). Cues come back
// in time order; cues with no text are dropped. A file without any cue, a
// bad timestamp or an end before a start is ErrInvalid naming the line.
func Parse(content string, f Format) ([]Cue, Format, error) {
	if !utf8.ValidString(content) {
		return nil, "", fmt.Errorf("%w: not UTF-8 text", ErrInvalid)
	}
	if f == "" {
		f = Detect(content)
	}
	content = strings.TrimPrefix(content, "\uFEFF")
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(content, "\r\n", "\n"), "\r", "\n"), "\n")
	if f == VTT {
		if !strings.HasPrefix(lines[0], "WEBVTT") {
			return nil, f, fmt.Errorf("%w: line 1: a WebVTT file starts with WEBVTT", ErrInvalid)
		}
	}
	var cues []Cue
	for i := 0; i < len(lines); i++ {
		m := timing.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start, err1 := parseTime(m[1])
		end, err2 := parseTime(m[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, f, fmt.Errorf("%w: line %d: %v", ErrInvalid, i+1, err)
		}
		if end < start {
			return nil, f, fmt.Errorf("%w: line %d: cue ends (%s) before it starts (%s)", ErrInvalid, i+1, m[2], m[1])
		}
		var text []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !timing.MatchString(lines[i+1]) {
			i++
			t := strings.TrimSpace(markup.ReplaceAllString(lines[i], ""))
			if f == VTT {
				t = html.UnescapeString(t) // &amp; &lt; &gt; &nbsp; …
			}
			if t != "" {
				text = append(text, t)
			}
		}
		// An SRT cue number on the last text line belongs to the next cue
		// when a blank line is missing; it is rare enough to leave in.
		if len(text) > 0 {
			cues = append(cues, Cue{Start: start, End: end, Text: strings.Join(strings.Fields(strings.Join(text, " ")), " ")})
		}
	}
	if len(cues) == 0 {
		return nil, f, fmt.Errorf("%w: no cue with a timing line and text", ErrInvalid)
	}
	// Stable: cues at the same time keep their file order.
	sortCues(cues)
	return cues, f, nil
}

func sortCues(c []Cue) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].Start < c[j-1].Start; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// parseTime reads [hh:]mm:ss[,.]mmm.
func parseTime(s string) (float64, error) {
	s = strings.Replace(s, ",", ".", 1)
	parts := strings.Split(s, ":")
	var h, m int
	var err error
	if len(parts) == 3 {
		if h, err = strconv.Atoi(parts[0]); err != nil {
			return 0, fmt.Errorf("bad hours in %q", s)
		}
		parts = parts[1:]
	}
	if m, err = strconv.Atoi(parts[0]); err != nil || m > 59 {
		return 0, fmt.Errorf("bad minutes in %q", s)
	}
	sec, err := strconv.ParseFloat(parts[1], 64)
	if err != nil || sec >= 60 {
		return 0, fmt.Errorf("bad seconds in %q", s)
	}
	return float64(h*3600+m*60) + sec, nil
}

// Cue length limits of written captions: at most two lines of 42
// characters (the common broadcast rule) and 7 seconds.
const (
	maxCueChars   = 84
	maxCueSeconds = 7.0
)

// Cues splits a transcript into caption cues: never across segments, and
// within a segment at word boundaries so that no cue passes maxCueChars
// characters or maxCueSeconds seconds. A segment without words is one cue.
func Cues(t *engine.Transcript) []Cue {
	var out []Cue
	for _, s := range t.Segments {
		if len(s.Words) == 0 {
			if s.Text != "" {
				out = append(out, Cue{Start: s.Start, End: s.End, Text: s.Text})
			}
			continue
		}
		var cur []engine.Word
		n := 0
		flush := func() {
			if len(cur) == 0 {
				return
			}
			texts := make([]string, len(cur))
			for i, w := range cur {
				texts[i] = w.Text
			}
			out = append(out, Cue{Start: cur[0].Start, End: cur[len(cur)-1].End, Text: strings.Join(texts, " ")})
			cur, n = cur[:0], 0
		}
		for _, w := range s.Words {
			l := utf8.RuneCountInString(w.Text)
			if len(cur) > 0 && (n+1+l > maxCueChars || w.End-cur[0].Start > maxCueSeconds) {
				flush()
			}
			if len(cur) > 0 {
				n++
			}
			cur = append(cur, w)
			n += l
		}
		flush()
	}
	return out
}

// stamp formats seconds as hh:mm:ss<sep>mmm.
func stamp(sec float64, sep string) string {
	ms := int64(math.Round(max(0, sec) * 1000))
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}

// WriteSRT renders the transcript as SubRip subtitles.
func WriteSRT(t *engine.Transcript) string {
	var b strings.Builder
	for i, c := range Cues(t) {
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", i+1, stamp(c.Start, ","), stamp(c.End, ","), wrap(c.Text))
	}
	return b.String()
}

// WriteVTT renders the transcript as WebVTT subtitles.
func WriteVTT(t *engine.Transcript) string {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	if t.Language != "" && t.Language != "und" {
		// The header's free text; players ignore it, people read it.
		fmt.Fprintf(&b, "Language: %s\n", t.Language)
	}
	b.WriteString("\n")
	for _, c := range Cues(t) {
		// "-->" may not appear in a cue's text; "&" and "<" are escaped.
		text := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(wrap(c.Text))
		fmt.Fprintf(&b, "%s --> %s\n%s\n\n", stamp(c.Start, "."), stamp(c.End, "."), text)
	}
	return b.String()
}

// WriteText renders the transcript as plain text, one segment a line.
func WriteText(t *engine.Transcript) string {
	var b strings.Builder
	for _, s := range t.Segments {
		if s.Text != "" {
			b.WriteString(s.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// wrap breaks a cue's text into two lines near its middle when it is
// longer than one 42-character line.
func wrap(s string) string {
	if utf8.RuneCountInString(s) <= maxCueChars/2 {
		return s
	}
	mid := len(s) / 2
	best := -1
	for i := range len(s) {
		if s[i] == ' ' && (best < 0 || abs(i-mid) < abs(best-mid)) {
			best = i
		}
	}
	if best < 0 {
		return s
	}
	return s[:best] + "\n" + s[best+1:]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

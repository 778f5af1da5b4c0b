// Package captions turns word timings into caption cues for one clip and
// writes them as SRT, WebVTT, or ASS subtitles (in a few named styles) for
// burning in with ffmpeg's subtitles filter.
package captions

import (
	"fmt"
	"math"
	"strings"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// Word is one transcribed word with its times in seconds of the source video.
type Word struct {
	Start, End float64
	Text       string
}

// Cue is one caption: times in seconds from the start of the clip, the text
// broken into lines, and the words it shows (clip-relative times).
type Cue struct {
	Start, End float64
	Lines      []string
	Words      []Word
}

// Text returns the cue's lines joined by newlines.
func (c Cue) Text() string { return strings.Join(c.Lines, "\n") }

// Options control how words are grouped into cues. Zero fields take defaults.
type Options struct {
	// MaxLineChars is the longest line (default 32 characters).
	MaxLineChars int
	// MaxLines is the most lines per cue (default 2).
	MaxLines int
	// MaxGap starts a new cue when the silence between words exceeds it
	// (default 1 s).
	MaxGap float64
}

func (o Options) withDefaults() Options {
	if o.MaxLineChars <= 0 {
		o.MaxLineChars = 32
	}
	if o.MaxLines <= 0 {
		o.MaxLines = 2
	}
	if o.MaxGap <= 0 {
		o.MaxGap = 1
	}
	return o
}

// Cues builds the cues of the clip [start, end) (source seconds) from words.
// Only words lying wholly inside the clip are kept (a clip's boundaries are
// snapped to word boundaries, so a straddling word is not spoken in it);
// their times become clip-relative. Words are packed into lines of at most
// MaxLineChars and cues of at most MaxLines lines; a sentence end
// (. ! ?) or a pause longer than MaxGap also closes a cue.
func Cues(words []Word, start, end float64, opt Options) ([]Cue, error) {
	if math.IsNaN(start) || start < 0 {
		return nil, inputerr.New("start", fmt.Sprint(start), "must be >= 0")
	}
	if math.IsNaN(end) || end <= start {
		return nil, inputerr.New("end", fmt.Sprint(end), "must be after start")
	}
	opt = opt.withDefaults()
	var (
		cues []Cue
		cur  *Cue
		line string
	)
	flush := func() {
		if cur == nil {
			return
		}
		if line != "" {
			cur.Lines = append(cur.Lines, line)
		}
		cues = append(cues, *cur)
		cur, line = nil, ""
	}
	for _, w := range words {
		// A multi-word Word (e.g. "New York") stays one unit: its inner
		// spaces become no-break spaces.
		text := strings.Join(strings.Fields(w.Text), "\u00a0")
		if text == "" || w.Start < start || w.End > end || w.End < w.Start {
			continue
		}
		rel := Word{Start: w.Start - start, End: w.End - start, Text: text}
		if cur != nil && rel.Start-cur.End > opt.MaxGap {
			flush()
		}
		if cur != nil && line != "" && len(line)+1+len(text) > opt.MaxLineChars {
			if len(cur.Lines)+1 >= opt.MaxLines {
				flush()
			} else {
				cur.Lines = append(cur.Lines, line)
				line = ""
			}
		}
		if cur == nil {
			cur = &Cue{Start: rel.Start}
		}
		if line == "" {
			line = text
		} else {
			line += " " + text
		}
		cur.Words = append(cur.Words, rel)
		cur.End = rel.End
		if strings.ContainsAny(text[len(text)-1:], ".!?") {
			flush()
		}
	}
	flush()
	return cues, nil
}

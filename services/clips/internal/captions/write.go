package captions

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// splitTime splits seconds into h, m, s, ms (rounded to the millisecond).
func splitTime(t float64) (h, m, s, ms int64) {
	total := int64(math.Round(max(t, 0) * 1000))
	return total / 3600000, total / 60000 % 60, total / 1000 % 60, total % 1000
}

// SRTTime formats t as "HH:MM:SS,mmm".
func SRTTime(t float64) string {
	h, m, s, ms := splitTime(t)
	return fmt.Sprintf("%02d:%02d:%02d,%03d", h, m, s, ms)
}

// VTTTime formats t as "HH:MM:SS.mmm".
func VTTTime(t float64) string {
	h, m, s, ms := splitTime(t)
	return fmt.Sprintf("%02d:%02d:%02d.%03d", h, m, s, ms)
}

// WriteSRT writes cues as a SubRip file.
func WriteSRT(w io.Writer, cues []Cue) error {
	bw := bufio.NewWriter(w)
	for i, c := range cues {
		fmt.Fprintf(bw, "%d\n%s --> %s\n%s\n\n", i+1, SRTTime(c.Start), SRTTime(c.End), c.Text())
	}
	return bw.Flush()
}

// WriteVTT writes cues as a WebVTT file.
func WriteVTT(w io.Writer, cues []Cue) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("WEBVTT\n\n")
	for i, c := range cues {
		text := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(c.Text())
		fmt.Fprintf(bw, "%d\n%s --> %s\n%s\n\n", i+1, VTTTime(c.Start), VTTTime(c.End), text)
	}
	return bw.Flush()
}

// Style is a burn-in caption style.
type Style string

// The caption styles.
const (
	// StyleWord shows the cue with the word being spoken highlighted.
	StyleWord Style = "word"
	// StyleBlock shows the cue as a plain block of up to two lines.
	StyleBlock Style = "block"
	// StyleKaraoke fills each word as it is spoken (ASS \k tags).
	StyleKaraoke Style = "karaoke"
)

// Styles lists every caption style.
var Styles = []Style{StyleWord, StyleBlock, StyleKaraoke}

// ParseStyle returns the named style; anything else is an *inputerr.Error
// for field "caption_style".
func ParseStyle(s string) (Style, error) {
	for _, st := range Styles {
		if string(st) == strings.ToLower(strings.TrimSpace(s)) {
			return st, nil
		}
	}
	return "", inputerr.New("caption_style", s, "unknown caption style (want word, block or karaoke)")
}

// FontsDir is where Debian's fonts-dejavu-core installs DejaVu Sans; pass it
// as fontsdir to ffmpeg's subtitles filter.
const FontsDir = "/usr/share/fonts/truetype/dejavu"

// Font is the family name the ASS styles use (from fonts-dejavu-core).
const Font = "DejaVu Sans"

// ASSOptions size the subtitles to the output video.
type ASSOptions struct {
	// Width and Height are the output frame size (PlayResX/PlayResY).
	Width, Height int
	// FontSize in pixels; default Height/24 for portrait, Height/16 otherwise.
	FontSize int
}

// assTime formats t as ASS "H:MM:SS.cc".
func assTime(t float64) string {
	cs := int64(math.Round(max(t, 0) * 100))
	return fmt.Sprintf("%d:%02d:%02d.%02d", cs/360000, cs/6000%60, cs/100%60, cs%100)
}

// assEscape keeps text from being read as ASS override tags.
func assEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "{", "(", "}", ")").Replace(s)
}

// WriteASS writes cues as an ASS script in style st: white bold DejaVu Sans
// with a black outline, bottom-centred in the lower third; the word style
// highlights the current word in yellow, karaoke fills words from white to
// yellow as they are spoken.
func WriteASS(w io.Writer, cues []Cue, st Style, opt ASSOptions) error {
	if _, err := ParseStyle(string(st)); err != nil {
		return err
	}
	if opt.Width <= 0 || opt.Height <= 0 {
		return inputerr.New("size", fmt.Sprintf("%dx%d", opt.Width, opt.Height), "must be positive")
	}
	size := opt.FontSize
	if size <= 0 {
		size = opt.Height / 16
		if opt.Height > opt.Width {
			size = opt.Height / 24
		}
		// Shrink so the longest line fits between the side margins: bold
		// DejaVu Sans averages about 0.5 em per character (measured on a rendered
		// frame); 0.56 leaves room for capitals.
		longest := 0
		for _, c := range cues {
			for _, l := range c.Lines {
				longest = max(longest, utf8.RuneCountInString(l))
			}
		}
		if longest > 0 {
			size = max(min(size, int(float64(opt.Width-2*(opt.Width/12))/(0.56*float64(longest)))), 8)
		}
	}
	bw := bufio.NewWriter(w)
	// WrapStyle 0 (smart wrapping) keeps any line still too wide on screen.
	fmt.Fprintf(bw, "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nWrapStyle: 0\nScaledBorderAndShadow: yes\n\n", opt.Width, opt.Height)
	bw.WriteString("[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n")
	// Karaoke fills from SecondaryColour (before) to PrimaryColour (after).
	primary, secondary := "&H00FFFFFF", "&H00FFFFFF"
	if st == StyleKaraoke {
		primary = "&H0000FFFF"
	}
	fmt.Fprintf(bw, "Style: Default,%s,%d,%s,%s,&H00000000,&H80000000,-1,0,0,0,100,100,0,0,1,%d,1,2,%d,%d,%d,1\n\n",
		Font, size, primary, secondary, max(size/12, 2), opt.Width/12, opt.Width/12, opt.Height/5)
	bw.WriteString("[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
	dialogue := func(start, end float64, text string) {
		fmt.Fprintf(bw, "Dialogue: 0,%s,%s,Default,,0,0,0,,%s\n", assTime(start), assTime(end), text)
	}
	for _, c := range cues {
		switch st {
		case StyleBlock:
			lines := make([]string, len(c.Lines))
			for i, l := range c.Lines {
				lines[i] = assEscape(l)
			}
			dialogue(c.Start, c.End, strings.Join(lines, `\N`))
		case StyleWord:
			for i, cw := range c.Words {
				end := c.End
				if i+1 < len(c.Words) {
					end = c.Words[i+1].Start
				}
				dialogue(cw.Start, end, cueText(c, func(j int, s string) string {
					if j == i {
						return `{\c&H00FFFF&}` + s + `{\r}`
					}
					return s
				}))
			}
		case StyleKaraoke:
			dialogue(c.Start, c.End, cueText(c, func(j int, s string) string {
				next := c.End
				if j+1 < len(c.Words) {
					next = c.Words[j+1].Start
				}
				return fmt.Sprintf(`{\kf%d}%s`, int(math.Round((next-c.Words[j].Start)*100)), s)
			}))
		}
	}
	return bw.Flush()
}

// cueText rebuilds a cue's text word by word, through decorate, keeping its
// line breaks.
func cueText(c Cue, decorate func(i int, s string) string) string {
	var b strings.Builder
	i := 0
	for li, l := range c.Lines {
		if li > 0 {
			b.WriteString(`\N`)
		}
		for wi, word := range strings.Split(l, " ") {
			if wi > 0 {
				b.WriteString(" ")
			}
			b.WriteString(decorate(i, assEscape(word)))
			i++
		}
	}
	return b.String()
}

// WriteASSFile writes an ASS script to path.
func WriteASSFile(path string, cues []Cue, st Style, opt ASSOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteASS(f, cues, st, opt); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Package presets describes the platforms clips are exported for (TikTok,
// Instagram Reels, YouTube Shorts, LinkedIn, X) and the aspect ratios a clip
// can be reframed to. Unknown names yield an *inputerr.Error naming the field.
package presets

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// Aspect is a display aspect ratio W:H in lowest terms.
type Aspect struct {
	W, H int
}

// The aspect ratios a clip can be reframed to.
var (
	Vertical  = Aspect{9, 16}
	Square    = Aspect{1, 1}
	Portrait  = Aspect{4, 5}
	Landscape = Aspect{16, 9}
)

// Aspects lists every supported aspect ratio.
var Aspects = []Aspect{Vertical, Square, Portrait, Landscape}

// String returns "W:H".
func (a Aspect) String() string { return fmt.Sprintf("%d:%d", a.W, a.H) }

// Ratio returns W/H.
func (a Aspect) Ratio() float64 { return float64(a.W) / float64(a.H) }

// ParseAspect parses "9:16", "1:1", "4:5" or "16:9" (also with "x" or "/"
// as separator). Anything else is an *inputerr.Error for field "aspect".
func ParseAspect(s string) (Aspect, error) {
	norm := strings.NewReplacer("x", ":", "/", ":", " ", "").Replace(strings.ToLower(s))
	for _, a := range Aspects {
		if a.String() == norm {
			return a, nil
		}
	}
	return Aspect{}, inputerr.New("aspect", s, "unknown aspect ratio (want 9:16, 1:1, 4:5 or 16:9)")
}

// Preset is one platform's export settings.
type Preset struct {
	// Name is the preset's key, e.g. "tiktok".
	Name string
	// Width and Height are the output frame size at Aspect.
	Width, Height int
	// Aspect is the platform's native aspect ratio.
	Aspect Aspect
	// FPS is the output frame rate.
	FPS int
	// VideoBitrate and AudioBitrate are target bitrates in bits per second.
	VideoBitrate, AudioBitrate int
	// MaxLength is the longest clip the platform accepts.
	MaxLength time.Duration
}

var all = map[string]Preset{
	"tiktok":          {Name: "tiktok", Width: 1080, Height: 1920, Aspect: Vertical, FPS: 30, VideoBitrate: 6_000_000, AudioBitrate: 128_000, MaxLength: 10 * time.Minute},
	"instagram_reels": {Name: "instagram_reels", Width: 1080, Height: 1920, Aspect: Vertical, FPS: 30, VideoBitrate: 5_000_000, AudioBitrate: 128_000, MaxLength: 3 * time.Minute},
	"youtube_shorts":  {Name: "youtube_shorts", Width: 1080, Height: 1920, Aspect: Vertical, FPS: 30, VideoBitrate: 8_000_000, AudioBitrate: 192_000, MaxLength: 3 * time.Minute},
	"linkedin":        {Name: "linkedin", Width: 1080, Height: 1080, Aspect: Square, FPS: 30, VideoBitrate: 5_000_000, AudioBitrate: 128_000, MaxLength: 10 * time.Minute},
	"x":               {Name: "x", Width: 1280, Height: 720, Aspect: Landscape, FPS: 30, VideoBitrate: 5_000_000, AudioBitrate: 128_000, MaxLength: 140 * time.Second},
}

// Names lists the preset names, sorted.
func Names() []string {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the named preset; an unknown name is an *inputerr.Error for
// field "preset".
func Lookup(name string) (Preset, error) {
	p, ok := all[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Preset{}, inputerr.New("preset", name, "unknown preset (want one of "+strings.Join(Names(), ", ")+")")
	}
	return p, nil
}

// Size returns the output frame size for aspect a: the preset's short side
// is kept and the long side follows a (both even, as yuv420p requires). A
// zero Aspect means the preset's own.
func (p Preset) Size(a Aspect) (w, h int) {
	if a == (Aspect{}) || a == p.Aspect {
		return p.Width, p.Height
	}
	short := min(p.Width, p.Height)
	if a.W >= a.H {
		return even(float64(short) * a.Ratio()), short
	}
	return short, even(float64(short) / a.Ratio())
}

// even rounds v to the nearest even integer.
func even(v float64) int {
	n := int(v/2+0.5) * 2
	return max(n, 2)
}

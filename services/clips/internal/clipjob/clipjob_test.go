package clipjob

import (
	"errors"
	"testing"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/reframe"
	"github.com/clipmesh/clipmesh/services/clips/internal/render"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec  Spec
		field string
	}{
		{Spec{Preset: "vine", Start: 0, End: 1}, "preset"},
		{Spec{Preset: "x", Aspect: "2:1", Start: 0, End: 1}, "aspect"},
		{Spec{Preset: "x", CaptionStyle: "neon", Start: 0, End: 1}, "caption_style"},
		{Spec{Preset: "x", Start: -1, End: 1}, "start"},
		{Spec{Preset: "x", Start: 2, End: 2}, "end"},
		{Spec{Preset: "x", Start: 0, End: 200}, "end"},
	} {
		err := tc.spec.Validate()
		if !errors.Is(err, inputerr.ErrInvalid) || inputerr.Field(err) != tc.field {
			t.Errorf("%+v: %v, want invalid %s", tc.spec, err, tc.field)
		}
	}
	if err := (Spec{Preset: "tiktok", Aspect: "1:1", CaptionStyle: "karaoke", Start: 1, End: 30}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestPlanScalesNormalisedTracks(t *testing.T) {
	t.Parallel()
	info := render.Info{Width: 1280, Height: 720}
	// No track: a centred still crop.
	p, err := Plan(Spec{Start: 0, End: 10}, info, presets.Vertical)
	if err != nil || p.Mode != reframe.ModeCrop || len(p.Segments) != 1 || p.Segments[0].X0 != p.Segments[0].X1 {
		t.Fatalf("no track: %+v, %v", p, err)
	}
	// A subject at the far right: the window reaches the right edge.
	spec := Spec{Start: 0, End: 4, Tracks: [][]Point{{{T: 0, X: 0.95, Y: 0.5}, {T: 4, X: 0.95, Y: 0.5}}}}
	p, err = Plan(spec, info, presets.Vertical)
	if err != nil || p.Mode != reframe.ModeCrop {
		t.Fatalf("right subject: %+v, %v", p, err)
	}
	if x, _ := p.At(2); x != float64(1280-p.W) {
		t.Errorf("window at x=%v, want the right edge %d", x, 1280-p.W)
	}
	// Two subjects at opposite edges: the blurred pad.
	spec.Tracks = append(spec.Tracks, []Point{{T: 0, X: 0.05, Y: 0.5}, {T: 4, X: 0.05, Y: 0.5}})
	if p, err = Plan(spec, info, presets.Vertical); err != nil || p.Mode != reframe.ModePad {
		t.Errorf("two far subjects: %+v, %v", p, err)
	}
}

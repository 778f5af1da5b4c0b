package presets

import (
	"errors"
	"testing"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

func TestSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		preset string
		aspect Aspect
		w, h   int
	}{
		{"tiktok", Aspect{}, 1080, 1920},
		{"tiktok", Square, 1080, 1080},
		{"tiktok", Portrait, 1080, 1350},
		{"tiktok", Landscape, 1920, 1080},
		{"x", Vertical, 720, 1280},
		{"linkedin", Square, 1080, 1080},
	} {
		t.Run(tc.preset+"/"+tc.aspect.String(), func(t *testing.T) {
			p, err := Lookup(tc.preset)
			if err != nil {
				t.Fatal(err)
			}
			if w, h := p.Size(tc.aspect); w != tc.w || h != tc.h {
				t.Fatalf("Size = %dx%d, want %dx%d", w, h, tc.w, tc.h)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	t.Parallel()
	_, err := Lookup("myspace")
	if !errors.Is(err, inputerr.ErrInvalid) || inputerr.Field(err) != "preset" {
		t.Fatalf("Lookup(myspace) = %v, want invalid preset", err)
	}
	_, err = ParseAspect("3:2")
	if !errors.Is(err, inputerr.ErrInvalid) || inputerr.Field(err) != "aspect" {
		t.Fatalf("ParseAspect(3:2) = %v, want invalid aspect", err)
	}
	for _, s := range []string{"9:16", "1x1", "4/5", "16:9"} {
		if _, err := ParseAspect(s); err != nil {
			t.Errorf("ParseAspect(%q): %v", s, err)
		}
	}
	for _, n := range Names() {
		p, _ := Lookup(n)
		if p.Width*p.Aspect.H != p.Height*p.Aspect.W {
			t.Errorf("%s: %dx%d is not %v", n, p.Width, p.Height, p.Aspect)
		}
	}
}

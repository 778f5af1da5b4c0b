package captions

import (
	"fmt"
	"strings"
	"testing"
)

// TestASSFontFitsWidth checks that the longest caption line fits between
// the side margins of a narrow (9:16) frame.
func TestASSFontFitsWidth(t *testing.T) {
	line := "we brown fox jumped over the lazy dog"
	cues := []Cue{{Start: 0, End: 2, Lines: []string{line}, Words: []Word{{Text: "we", Start: 0, End: 2}}}}
	var b strings.Builder
	if err := WriteASS(&b, cues, StyleBlock, ASSOptions{Width: 1080, Height: 1920}); err != nil {
		t.Fatal(err)
	}
	var size int
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "Style: Default,") {
			if _, err := fmt.Sscanf(strings.Split(l, ",")[2], "%d", &size); err != nil {
				t.Fatal(err)
			}
		}
	}
	if size <= 0 || float64(size)*0.56*float64(len(line)) > 1080-2*90 {
		t.Fatalf("font size %d does not fit %d characters in 1080 px", size, len(line))
	}
	if size < 1920/24/3 {
		t.Fatalf("font size %d shrank too much", size)
	}
}

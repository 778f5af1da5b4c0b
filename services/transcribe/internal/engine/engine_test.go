package engine

import (
	"errors"
	"slices"
	"testing"
)

func TestCheckLanguage(t *testing.T) {
	t.Parallel()
	sup := []string{"en"}
	tests := []struct {
		in, want string
		err      bool
	}{
		{"", "en", false}, {"auto", "en", false}, {"AUTO", "en", false},
		{"en", "en", false}, {"en-US", "en", false}, {"EN_gb", "en", false},
		{"fr", "", true}, {"eng", "", true},
	}
	for _, tt := range tests {
		got, err := CheckLanguage("test", tt.in, sup)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("CheckLanguage(%q) = %q, %v", tt.in, got, err)
		}
		if tt.err {
			var ule *UnsupportedLanguageError
			if !errors.Is(err, ErrUnsupportedLanguage) || !errors.As(err, &ule) || ule.Engine != "test" || !slices.Equal(ule.Supported, sup) {
				t.Errorf("CheckLanguage(%q) error %v", tt.in, err)
			}
		}
	}
}

func TestAudioConversions(t *testing.T) {
	t.Parallel()
	f := Float32Audio([]float32{0, 0.5, -0.5, 1, -1, 2, -2})
	if got, want := f.Int16s(), []int16{0, 16384, -16384, 32767, -32767, 32767, -32768}; !slices.Equal(got, want) {
		t.Errorf("Int16s = %v, want %v", got, want)
	}
	i := Int16Audio([]int16{0, 16384, -32768})
	if got, want := i.Floats(), []float32{0, 0.5, -1}; !slices.Equal(got, want) {
		t.Errorf("Floats = %v, want %v", got, want)
	}
	if d := Int16Audio(make([]int16, 8000)).Duration(); d != 0.5 {
		t.Errorf("Duration = %v", d)
	}
	if (Audio{}).Len() != 0 {
		t.Error("empty audio has samples")
	}
}

func TestTranscriptText(t *testing.T) {
	t.Parallel()
	tr := Transcript{Segments: []Segment{
		{Text: "hello there", Words: []Word{{Text: "hello"}, {Text: "there"}}},
		{Text: ""},
		{Text: "world", Words: []Word{{Text: "world"}}},
	}}
	if tr.Text() != "hello there world" || len(tr.Words()) != 3 {
		t.Errorf("Text %q, %d words", tr.Text(), len(tr.Words()))
	}
	if p := (Producer{Engine: "pocketsphinx", Model: "m", Version: "1"}).String(); p != "pocketsphinx/m@1" {
		t.Error(p)
	}
}

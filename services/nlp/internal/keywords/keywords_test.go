package keywords

import (
	"errors"
	"slices"
	"testing"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang, text string
		top        string
	}{
		{"en", "Compatibility of systems of linear constraints over the set of natural numbers. Criteria of compatibility of a system of linear Diophantine equations are considered.", "linear diophantine equations"},
		{"es", "La inteligencia artificial generativa ya cambia el trabajo. Hoy hablamos de inteligencia artificial generativa y de empleo.", "inteligencia artificial generativa"},
		{"fr", "Le montage vidéo automatique fait gagner du temps. Le montage vidéo automatique est l'avenir.", "montage vidéo automatique"},
		{"de", "Die neue Grafikkarte ist schnell. Wir testen die neue Grafikkarte im Detail.", "neue grafikkarte"},
		{"pt", "A energia solar barata já chegou. Falamos da energia solar barata no Brasil.", "energia solar barata"},
		{"it", "La cucina italiana tradizionale è semplice. Oggi la cucina italiana tradizionale di Bologna.", "cucina italiana tradizionale"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			got, err := Extract(tt.text, tt.lang, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || got[0].Text != tt.top {
				t.Errorf("Extract top = %+v, want %q first", got, tt.top)
			}
		})
	}
	if _, err := Extract("hallo", "nl", 3); !errors.Is(err, ErrUnsupported) {
		t.Errorf("nl: %v, want ErrUnsupported", err)
	}
	if got, err := Extract("", "en", 3); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestNumbersQuestionsNames(t *testing.T) {
	t.Parallel()
	text := "Marie Curie visited New York yesterday. Did she earn 40% more? Then Apple sold 3.5 million phones at 10:30. The end."
	if got, want := Numbers(text), []string{"40%", "3.5", "10:30"}; !slices.Equal(got, want) {
		t.Errorf("Numbers = %q, want %q", got, want)
	}
	if got, want := Questions(text), []string{"Did she earn 40% more?"}; !slices.Equal(got, want) {
		t.Errorf("Questions = %q, want %q", got, want)
	}
	if got, want := Names(text, "en"), []string{"Marie Curie", "New York", "Apple"}; !slices.Equal(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
	if got := Questions("¿Sabías esto. No."); len(got) != 1 {
		t.Errorf("Spanish question: %q", got)
	}
}

func TestHookScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang, text string
		emotion    float64
		cues       []string
		min, max   float64
	}{
		{"en", "The meeting is on Tuesday.", 0, nil, 0, 0},
		{"en", "Why does nobody talk about this?", 0, []string{"question", "claim"}, 0.55, 0.55},
		{"en", "Stop making these 3 mistakes!", 0.6, []string{"number", "claim", "imperative", "emotion"}, 0.79, 0.81},
		{"es", "¿Sabías que nadie lo sabe?", 0, []string{"question", "claim"}, 0.55, 0.55},
		{"de", "Schau dir das an: das ist die Wahrheit.", 1, []string{"claim", "imperative", "emotion"}, 0.75, 0.75},
		{"fr", "Regardez ces 5 erreurs, jamais vu ça ?", 1, []string{"question", "number", "claim", "imperative", "emotion"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.text, func(t *testing.T) {
			t.Parallel()
			h := HookScore(tt.text, tt.lang, tt.emotion)
			if !slices.Equal(h.Cues, tt.cues) || h.Score < tt.min-1e-9 || h.Score > tt.max+1e-9 {
				t.Errorf("HookScore = %+v, want cues %v score in [%v,%v]", h, tt.cues, tt.min, tt.max)
			}
		})
	}
}

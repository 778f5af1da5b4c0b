package langid

import (
	"errors"
	"fmt"
	"strings"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/models/fasttext"
)

// ModelName is the manifest entry of the fastText model New loads.
const ModelName = "lid-176"

// FastText is an Identifier built on fastText's lid.176 model (176
// languages, read by platform/models/fasttext in pure Go). It is safe for
// concurrent use.
type FastText struct {
	model  *fasttext.Model
	prefer map[string]bool
}

// NewFastText loads the lid.176 model at path (a .ftz or .bin file; the
// models cache has it as models.Path(dir, ModelName)). prefer works as in
// NewWhatlang: a short, unsure guess outside it is replaced by the best
// preferred language; nil means Supported.
func NewFastText(path string, prefer []string) (*FastText, error) {
	m, err := fasttext.Load(path)
	if err != nil {
		return nil, fmt.Errorf("langid: %w", err)
	}
	return &FastText{model: m, prefer: preferSet(prefer)}, nil
}

func preferSet(prefer []string) map[string]bool {
	if prefer == nil {
		prefer = Supported
	}
	p := make(map[string]bool, len(prefer))
	for _, code := range prefer {
		p[code] = true
	}
	return p
}

// Engine implements Identifier.
func (f *FastText) Engine() string { return "fastText lid.176.ftz (176 languages)" }

// candidates is how many labels Identify asks the model for when its best
// guess is outside the preferred set and unsure.
const candidates = 10

// minOutsideProb is the probability from which a guess outside the
// preferred set is kept whatever the text's length: above one half no
// other language can be more likely.
const minOutsideProb = 0.5

// minPreferredProb is the probability the best preferred language needs to
// replace an unsure guess outside the set: below it the text is in none of
// them (a short Russian or Dutch line keeps its own language).
const minPreferredProb = 0.1

// Identify implements Identifier. Codes are ISO 639-1 where the language
// has one, else the model's own code (ISO 639-3 such as "ceb", or a
// Wikipedia code such as "als").
func (f *FastText) Identify(text string) (string, float64) {
	if !hasLetter(text) {
		return Und, 0
	}
	// The model was trained on lower-cased lines; it reads newlines as
	// spaces itself.
	text = strings.ToLower(text)
	preds := f.model.Predict(text, 1, 0)
	if len(preds) == 0 {
		return Und, 0
	}
	top := preds[0]
	if f.prefer[top.Label] || top.Probability > minOutsideProb || len(strings.Fields(text)) >= minOutsideWords {
		return top.Label, top.Probability
	}
	// The threshold prunes the model's search to the few candidates that
	// could replace top.
	for _, p := range f.model.Predict(text, candidates, minPreferredProb) {
		if f.prefer[p.Label] {
			return p.Label, p.Probability
		}
	}
	return top.Label, top.Probability
}

// Fallback is the Identifier New returns when the fastText model cannot be
// loaded: Whatlang, whose Engine says it is a fallback, so results show
// which engine ran.
type Fallback struct {
	*Whatlang
	// Err says why fastText is not used (a *models.Error naming the
	// command that installs the model, or a load error).
	Err error
}

// Engine implements Identifier.
func (f *Fallback) Engine() string {
	why := "not loadable"
	switch {
	case errors.Is(f.Err, models.ErrMissing):
		why = "not installed"
	case errors.Is(f.Err, models.ErrChecksum):
		why = "checksum mismatch"
	}
	return f.Whatlang.Engine() + "; fallback: " + ModelName + " " + why
}

// New returns the default Identifier: FastText on the lid-176 model of the
// models cache dir (models.Dir's default when dir is empty), or, when the
// model is missing, corrupt or unreadable, a *Fallback on Whatlang whose
// Err says why. prefer is as in NewWhatlang (nil means Supported).
func New(dir string, prefer []string) Identifier {
	id, err := newFastText(dir, prefer)
	if err != nil {
		return &Fallback{Whatlang: NewWhatlang(prefer), Err: err}
	}
	return id
}

func newFastText(dir string, prefer []string) (*FastText, error) {
	if dir == "" {
		d, err := models.Dir("")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	p, err := models.Path(dir, ModelName)
	if err != nil {
		return nil, err
	}
	return NewFastText(p, prefer)
}

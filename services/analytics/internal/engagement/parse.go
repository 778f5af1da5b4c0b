package engagement

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseWeights returns the default weights overridden by spec, either
// "key=value" pairs separated by commas ("motion=1.2,hooks=0") or a JSON
// object ({"motion": 1.2}). The keys are factor names. An unknown key, a
// value that is not a number, or weights that do not validate give a
// *WeightError naming the key. An empty spec is the defaults.
func ParseWeights(spec string) (Weights, error) {
	w := DefaultWeights()
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return w, nil
	}
	vals := map[string]float64{}
	if strings.HasPrefix(spec, "{") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(spec), &raw); err != nil {
			return Weights{}, &WeightError{Key: AllWeightsKey, Reason: "not a JSON object: " + err.Error()}
		}
		for k, v := range raw {
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				return Weights{}, &WeightError{Key: k, Value: math.NaN(), Reason: "not a number: " + string(v)}
			}
			vals[k] = f
		}
	} else {
		for _, pair := range strings.Split(spec, ",") {
			k, v, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			if !ok {
				return Weights{}, &WeightError{Key: k, Value: math.NaN(), Reason: "want key=value"}
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return Weights{}, &WeightError{Key: k, Value: math.NaN(), Reason: "not a number: " + strings.TrimSpace(v)}
			}
			vals[k] = f
		}
	}
	for _, f := range AllFactors { // canonical order, so the first bad key is reported
		if v, ok := vals[string(f)]; ok {
			w.set(f, v)
			delete(vals, string(f))
		}
	}
	for k := range vals {
		return Weights{}, &WeightError{Key: k, Value: vals[k], Reason: fmt.Sprintf("unknown factor (known: %s)", factorList())}
	}
	if err := w.Validate(); err != nil {
		return Weights{}, err
	}
	return w, nil
}

func factorList() string {
	names := make([]string, len(AllFactors))
	for i, f := range AllFactors {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

func (w *Weights) set(f Factor, v float64) {
	switch f {
	case SpeechPresence:
		w.SpeechPresence = v
	case SpeechRate:
		w.SpeechRate = v
	case Loudness:
		w.Loudness = v
	case LoudnessChange:
		w.LoudnessChange = v
	case Excitement:
		w.Excitement = v
	case AudioEvents:
		w.AudioEvents = v
	case Faces:
		w.Faces = v
	case FaceSize:
		w.FaceSize = v
	case EyeContact:
		w.EyeContact = v
	case FaceEmotion:
		w.FaceEmotion = v
	case Motion:
		w.Motion = v
	case CutRhythm:
		w.CutRhythm = v
	case Sentiment:
		w.Sentiment = v
	case Hooks:
		w.Hooks = v
	case VisualQuality:
		w.VisualQuality = v
	}
}

// Hash identifies the weights: the first 12 hex digits of the SHA-256 of
// "factor=value" lines in canonical order, stored with every result.
func (w Weights) Hash() string {
	var b strings.Builder
	for _, f := range AllFactors {
		fmt.Fprintf(&b, "%s=%s\n", f, strconv.FormatFloat(w.Get(f), 'g', -1, 64))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:12]
}

package analytics

import (
	"strings"
	"testing"
)

// An invalid weight stops the service before it touches anything, with an
// error naming the variable and the key.
func TestNewRejectsInvalidWeights(t *testing.T) {
	t.Parallel()
	for spec, key := range map[string]string{"motion=-1": `"motion"`, "excitment=1": `"excitment"`, "hooks=x": `"hooks"`} {
		_, err := NewWithConfig(t.Context(), nil, Config{Weights: spec})
		if err == nil || !strings.Contains(err.Error(), EnvWeights) || !strings.Contains(err.Error(), key) {
			t.Errorf("NewWithConfig(%q) = %v, want an error naming %s and %s", spec, err, EnvWeights, key)
		}
	}
}

package vision

import (
	"testing"

	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
)

func TestLimitsFromEnv(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want analysis.Limits
		bad  bool
	}{
		{"defaults", nil, analysis.Limits{MaxWidth: DefaultMaxWidth, MaxHeight: DefaultMaxHeight, MaxSeconds: DefaultMaxSeconds}, false},
		{"set", map[string]string{"CLIPMESH_VISION_MAX_WIDTH": "1920", "CLIPMESH_VISION_MAX_HEIGHT": "0", "CLIPMESH_VISION_MAX_SECONDS": "90.5"},
			analysis.Limits{MaxWidth: 1920, MaxHeight: 0, MaxSeconds: 90.5}, false},
		{"bad", map[string]string{"CLIPMESH_VISION_MAX_WIDTH": "wide"}, analysis.Limits{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LimitsFromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.bad {
				t.Fatalf("err %v", err)
			}
			if !tt.bad && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

package cache_test

import (
	"testing"
	"time"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/jobs/internal/cache"
)

func TestKey(t *testing.T) {
	t.Parallel()
	v, err := cache.Versions("v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	other, err := cache.Versions("v1.2.4")
	if err != nil || other == v {
		t.Fatalf("versions of two builds: %q and %q (%v)", v, other, err)
	}
	opts := &jobsv1.AnalyzeOptions{Language: "auto", Clips: &clipsv1.ClipOptions{Count: 3, AspectRatios: []string{"9:16"}}}
	key := func(sum string, o *jobsv1.AnalyzeOptions, ver string) string {
		k, err := cache.Key("acme", sum, o, ver)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key("aa", opts, v)
	if again := key("aa", &jobsv1.AnalyzeOptions{Language: "auto", Clips: &clipsv1.ClipOptions{Count: 3, AspectRatios: []string{"9:16"}}}, v); again != base {
		t.Error("equal options give different keys")
	}
	otherTenant, err := cache.Key("other", "aa", opts, v)
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]string{
		"tenant":   otherTenant,
		"content":  key("ab", opts, v),
		"options":  key("aa", &jobsv1.AnalyzeOptions{Language: "en", Clips: opts.Clips}, v),
		"clips":    key("aa", &jobsv1.AnalyzeOptions{Language: "auto"}, v),
		"versions": key("aa", opts, other),
	} {
		if k == base {
			t.Errorf("another %s gives the same key", name)
		}
	}
}

func TestSQLExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		c := &cache.SQL{DB: db.DB}
		res := &jobsv1.AnalysisResult{Cached: false, Clips: []*clipsv1.Clip{{Id: "c1"}}}
		if err := c.Put(t.Context(), "k", res, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(t.Context(), "gone", res, -time.Second); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(t.Context(), "k")
		if err != nil || !ok || got.GetClips()[0].GetId() != "c1" {
			t.Errorf("Get(k) = %v, %v, %v", got, ok, err)
		}
		if _, ok, err := c.Get(t.Context(), "gone"); ok || err != nil {
			t.Errorf("Get of an expired entry = %v, %v; want a miss", ok, err)
		}
		// Replacing an entry works on both engines.
		if err := c.Put(t.Context(), "k", &jobsv1.AnalysisResult{}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := c.Get(t.Context(), "k"); len(got.GetClips()) != 0 {
			t.Errorf("Get after replace = %v", got)
		}
	})
}

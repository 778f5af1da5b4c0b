package resultstore_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/analytics/internal/resultstore"
)

func record(tenant, video string, dur, avg float64, emotion string, topics map[string]int32) resultstore.Record {
	var ts []*analyticsv1.TopicShare
	for t, n := range topics {
		ts = append(ts, &analyticsv1.TopicShare{Topic: t, Mentions: n})
	}
	prod := &commonv1.Producer{Engine: "clipmesh-vision", Model: "blazeface", Version: "v1"}
	return resultstore.Record{
		Tenant: tenant, VideoID: video, JobID: "job_1", FusionVersion: "fusion-1", WeightsHash: "abc",
		Producers: []*commonv1.Producer{prod}, DurationSeconds: dur, AvgEngagement: avg, DominantEmotion: emotion, Topics: ts,
		Fused: &analyticsv1.FuseResponse{VideoId: video, Engagement: []float64{avg, avg}, Factors: []string{"motion"},
			Inputs: []*commonv1.ModalityStatus{{Modality: "vision", State: commonv1.ModalityState_MODALITY_STATE_OK, Producer: prod}}},
		Detailed: &analyticsv1.GetDetailedResponse{VideoId: video, Engagement: &analyticsv1.EngagementSummary{Avg: avg}, Topics: ts},
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := t.Context()
		s := resultstore.New(db)
		if _, err := s.Get(ctx, "acme", "vid_1"); !errors.Is(err, resultstore.ErrNotFound) {
			t.Fatalf("Get before Put: %v, want ErrNotFound", err)
		}
		r1 := record("acme", "vid_1", 60, 0.4, "joy", map[string]int32{"sports": 3, "music": 1})
		if err := s.Put(ctx, r1); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "acme", "vid_1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r1.Fused, got.Fused, protocmp.Transform()); diff != "" {
			t.Errorf("fused (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(r1.Detailed, got.Detailed, protocmp.Transform()); diff != "" {
			t.Errorf("detailed (-want +got):\n%s", diff)
		}
		if got.FusionVersion != "fusion-1" || got.WeightsHash != "abc" || got.JobID != "job_1" || len(got.Producers) != 1 || got.CreatedAt.IsZero() {
			t.Errorf("versions not kept: %+v", got)
		}
		// Another tenant sees nothing.
		if _, err := s.Get(ctx, "other", "vid_1"); !errors.Is(err, resultstore.ErrNotFound) {
			t.Errorf("other tenant: %v, want ErrNotFound", err)
		}
		// A second video, and the first fused again (replacing, not adding).
		if err := s.Put(ctx, record("acme", "vid_2", 120, 0.8, "joy", map[string]int32{"music": 2})); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, record("acme", "vid_1", 60, 0.6, "fear", map[string]int32{"sports": 1})); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, record("other", "vid_9", 30, 0.1, "calm", nil)); err != nil {
			t.Fatal(err)
		}
		st, err := s.TenantStats(ctx, "acme", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := resultstore.Stats{
			Videos: 2, Seconds: 180, AvgEngagement: 0.7, Fusions: 3,
			TopTopics:   []resultstore.Label{{Label: "music", Count: 2}, {Label: "sports", Count: 1}},
			TopEmotions: []resultstore.Label{{Label: "fear", Count: 1}, {Label: "joy", Count: 1}},
		}
		if diff := cmp.Diff(want, st, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		st, err = s.TenantStats(ctx, "acme", 1)
		if err != nil || len(st.TopTopics) != 1 || len(st.TopEmotions) != 1 {
			t.Errorf("top 1: %+v, %v", st, err)
		}
		empty, err := s.TenantStats(ctx, "nobody", 10)
		if err != nil || empty.Videos != 0 || empty.Fusions != 0 || empty.TopTopics != nil {
			t.Errorf("empty tenant: %+v, %v", empty, err)
		}
		tenants, err := s.Tenants(ctx)
		if err != nil || !cmp.Equal(tenants, []string{"acme", "other"}) {
			t.Errorf("Tenants() = %v, %v", tenants, err)
		}
	})
}

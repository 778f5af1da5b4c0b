package store_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	pstore "github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/store"
)

func transcript(video string, src transcribev1.TranscriptSource, text string) *transcribev1.Transcript {
	return &transcribev1.Transcript{
		VideoId: video, Source: src, Language: "en", LanguageProbability: 0.9,
		Producer: &commonv1.Producer{Engine: "pocketsphinx", Model: "m"},
		Segments: []*transcribev1.Segment{{Range: &commonv1.TimeRange{StartSeconds: 1, EndSeconds: 2}, Text: text,
			Words: []*transcribev1.Word{{Range: &commonv1.TimeRange{StartSeconds: 1, EndSeconds: 2}, Text: text, Confidence: 0.5, Approximate: true}}}},
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := t.Context()
		s := store.New(db)
		rec := transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED
		up := transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED
		any := transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UNSPECIFIED
		if _, err := s.Get(ctx, "t1", "vid_a", any); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("empty store: %v", err)
		}
		r1 := transcript("vid_a", rec, "first")
		if err := s.Put(ctx, "t1", r1); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "t1", "vid_a", any)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(r1, got, protocmp.Transform()); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
		// Another tenant does not see it.
		if _, err := s.Get(ctx, "t2", "vid_a", any); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("other tenant: %v", err)
		}
		// A new run replaces; an upload is preferred, the recognized one
		// stays reachable.
		r2 := transcript("vid_a", rec, "second")
		u := transcript("vid_a", up, "uploaded")
		for _, tr := range []*transcribev1.Transcript{r2, u} {
			if err := s.Put(ctx, "t1", tr); err != nil {
				t.Fatal(err)
			}
		}
		for src, want := range map[transcribev1.TranscriptSource]*transcribev1.Transcript{any: u, up: u, rec: r2} {
			got, err := s.Get(ctx, "t1", "vid_a", src)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
				t.Errorf("source %v (-want +got):\n%s", src, d)
			}
		}
		if err := s.Put(ctx, "t1", transcript("vid_a", any, "x")); err == nil {
			t.Error("stored a transcript without a source")
		}
	})
}

package server

import (
	"slices"
	"testing"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
)

func rng(a, b float64) *commonv1.TimeRange {
	return &commonv1.TimeRange{StartSeconds: a, EndSeconds: b}
}

func TestInputFrom(t *testing.T) {
	t.Parallel()
	req := &clipsv1.RenderRequest{
		Moments: []*analyticsv1.Moment{{Range: rng(10, 30), Score: 0.7, Hook: 0.4, Reasons: []string{"hooks", "motion"}}},
		Transcript: &transcribev1.Transcript{Segments: []*transcribev1.Segment{
			{Words: []*transcribev1.Word{{Range: rng(1, 1.5), Text: "Hi"}}},
			{Words: []*transcribev1.Word{{Range: rng(2, 2.4), Text: "there."}}},
		}},
		Vision: &visionv1.VisionResult{Scenes: []*visionv1.Scene{{Range: rng(0, 5)}, {Range: rng(5, 9)}, {Range: rng(9, 20)}}},
		Text: &nlpv1.AnalyzeTextResponse{
			Keywords: []*nlpv1.Keyword{{Text: "whole", Score: 3}},
			Topics:   []*nlpv1.TopicScore{{Label: "sports", Score: 0.5}},
			Segments: []*nlpv1.SegmentAnalysis{
				{Range: rng(1, 2.4), Keywords: []*nlpv1.Keyword{{Text: "timed", Score: 2}}, Topics: []*nlpv1.TopicScore{{Label: "greetings", Score: 0.9}}},
				{Keywords: []*nlpv1.Keyword{{Text: "untimed"}}}, // no range: skipped
			},
		},
	}
	in := inputFrom(req, 20)
	if len(in.Moments) != 1 || in.Moments[0].Score != 0.7 || len(in.Moments[0].Factors) != 2 || in.Moments[0].Factors[1].Detail != "hooks, motion" {
		t.Errorf("moments %+v", in.Moments)
	}
	if len(in.Words) != 2 || in.Words[1].Text != "there." || in.Words[1].Start != 2 {
		t.Errorf("words %+v", in.Words)
	}
	if !slices.Equal(in.Cuts, []float64{5, 9}) {
		t.Errorf("cuts %v, want [5 9]", in.Cuts)
	}
	if len(in.Keywords) != 2 || in.Keywords[1].Text != "timed" || in.Keywords[1].End != 2.4 {
		t.Errorf("keywords %+v", in.Keywords)
	}
	if len(in.Topics) != 2 || in.Topics[1].Label != "greetings" || in.Topics[1].Start != 1 {
		t.Errorf("topics %+v", in.Topics)
	}
}

func TestTracks(t *testing.T) {
	t.Parallel()
	v := &visionv1.VisionResult{
		SubjectPoints: []*visionv1.SubjectPoint{{Seconds: 0, X: 0.2, Y: 0.5}, {Seconds: 5, X: 0.25, Y: 0.5}, {Seconds: 50, X: 0.9, Y: 0.5}},
		FaceTracks: []*visionv1.FaceTrack{
			{Range: rng(0, 8), CenterX: 0.22, CenterY: 0.4},  // the subject itself
			{Range: rng(1, 7), CenterX: 0.85, CenterY: 0.45}, // another person
			{Range: rng(20, 30), CenterX: 0.1, CenterY: 0.5}, // not in the clip
		},
	}
	got := tracks(v, 0, 6)
	if len(got) != 2 || len(got[0]) != 2 {
		t.Fatalf("tracks %+v, want the subject's 2 points and one face", got)
	}
	if f := got[1]; f[0].X != 0.85 || f[0].T != 1 || f[1].T != 6 {
		t.Errorf("second track %+v, want the face at 0.85 over [1, 6]", f)
	}
	if got := tracks(&visionv1.VisionResult{}, 0, 6); got != nil {
		t.Errorf("no subject points: %+v", got)
	}
}

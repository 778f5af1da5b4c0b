package adapter

import (
	"fmt"
	"testing"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/moments"
	"github.com/clipmesh/clipmesh/services/analytics/internal/mood"
	"github.com/clipmesh/clipmesh/services/analytics/internal/summary"
)

// hourRequest is a 1 h talk: a scene every 20 s, a 3 s sentence every 4 s
// with 8 words each, every modality present.
func hourRequest() *analyticsv1.FuseRequest {
	const n = 3600
	a := &audiov1.AudioResult{HasAudio: true, Summary: &audiov1.AudioSummary{SnrDb: 30}}
	v := &visionv1.VisionResult{}
	t := &transcribev1.Transcript{}
	tx := &nlpv1.AnalyzeTextResponse{}
	for i := range n {
		a.Series = append(a.Series, &audiov1.AudioSecond{TimeSeconds: float64(i), RmsDbfs: -20 - float64(i%7), SpeechProbability: float64(i%4) / 4, PitchHz: 120 + float64(i%13), OnsetStrength: float64(i % 5)})
		v.Seconds = append(v.Seconds, &visionv1.SecondStats{Second: int32(i), MotionEnergy: float64(i%11) / 100, Brightness: 0.5, Sharpness: 100, Colorfulness: 30, Contrast: 0.2})
		if i%20 == 0 {
			v.Scenes = append(v.Scenes, &visionv1.Scene{Index: int32(i / 20), Range: tr(float64(i), float64(i+20))})
		}
		if i%4 == 0 {
			seg := &transcribev1.Segment{Range: tr(float64(i), float64(i)+3), Text: fmt.Sprintf("sentence %d says eight words about topic %d", i, i%9)}
			t.Segments = append(t.Segments, seg)
			tx.Segments = append(tx.Segments, &nlpv1.SegmentAnalysis{Range: seg.Range, Sentiment: &nlpv1.Sentiment{Compound: float64(i%5) / 5},
				Hook: &nlpv1.Hook{Score: float64(i%3) / 3}, Topics: []*nlpv1.TopicScore{{Label: fmt.Sprintf("topic %d", i%9), Score: 0.5}}})
		}
	}
	return &analyticsv1.FuseRequest{VideoId: "vid_1", Video: &videosv1.Video{Probe: &videosv1.Probe{DurationSeconds: n}},
		Vision: v, Audio: a, Transcript: t, Text: tx}
}

// BenchmarkFuseHour measures the whole fusion of a 1 h video, without
// storage: `go test -run - -bench FuseHour ./internal/adapter/`.
func BenchmarkFuseHour(b *testing.B) {
	req := hourRequest()
	for b.Loop() {
		f := FromRequest(req)
		tl, err := engagement.Score(f.Engagement, engagement.DefaultWeights())
		if err != nil {
			b.Fatal(err)
		}
		mi := f.Moments
		mi.Engagement = tl.Scores()
		ms, err := moments.Find(mi, moments.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		vs := mood.InferAll(f.Scenes)
		si := f.Summary
		si.Engagement = tl.Scores()
		_ = summary.Compute(si)
		_ = Timeline(tl)
		_ = Moments(ms, tl, f.Engagement.Words)
		_ = Moods(vs)
	}
}

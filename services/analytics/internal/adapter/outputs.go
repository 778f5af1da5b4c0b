package adapter

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/moments"
	"github.com/clipmesh/clipmesh/services/analytics/internal/mood"
	"github.com/clipmesh/clipmesh/services/analytics/internal/summary"
)

// MaxReasons is the number of factors a moment's reasons name at most.
const MaxReasons = 3

// titleWords is the number of words of a moment's title hint.
const titleWords = 8

// Factors returns the factor names.
func Factors(fs []engagement.Factor) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

// Timeline converts the engagement timeline.
func Timeline(t engagement.Timeline) []*analyticsv1.EngagementSecond {
	out := make([]*analyticsv1.EngagementSecond, len(t.Seconds))
	for i, s := range t.Seconds {
		c := make(map[string]float64, len(s.Contributions))
		for _, x := range s.Contributions {
			c[string(x.Factor)] = x.Contribution
		}
		out[i] = &analyticsv1.EngagementSecond{Second: int32(s.Time), Score: s.Score, Contributions: c}
	}
	return out
}

// Weights returns the renormalised weights keyed by factor.
func Weights(t engagement.Timeline) map[string]float64 {
	out := make(map[string]float64, len(t.Factors))
	for k, f := range t.Factors {
		out[string(f)] = t.Weights[k]
	}
	return out
}

// Moments converts the ranked moments. Each moment's reasons are the
// factors whose mean contribution inside it most exceeds their mean over
// the video; its title hint the first words spoken inside it.
func Moments(ms []moments.Moment, t engagement.Timeline, words []engagement.Word) []*analyticsv1.Moment {
	avg := make([]float64, len(t.Factors))
	for _, s := range t.Seconds {
		for k, c := range s.Contributions {
			avg[k] += c.Contribution / float64(len(t.Seconds))
		}
	}
	out := make([]*analyticsv1.Moment, 0, len(ms))
	for _, m := range ms {
		pm := &analyticsv1.Moment{
			Range: &commonv1.TimeRange{StartSeconds: m.Start, EndSeconds: m.End},
			Score: m.Score, Hook: m.Hook, Completeness: m.Completeness, Peak: m.Peak, Mean: m.Mean, Pacing: m.Pacing,
		}
		type lift struct {
			f string
			d float64
		}
		lifts := make([]lift, len(t.Factors))
		for k, f := range t.Factors {
			lifts[k].f = string(f)
		}
		n := 0
		for _, s := range t.Seconds {
			if float64(s.Time)+1 > m.Start && float64(s.Time) < m.End {
				n++
				for k, c := range s.Contributions {
					lifts[k].d += c.Contribution
				}
			}
		}
		if n > 0 {
			for k := range lifts {
				lifts[k].d = lifts[k].d/float64(n) - avg[k]
			}
			slices.SortStableFunc(lifts, func(a, b lift) int { return cmp.Compare(b.d, a.d) })
			for _, l := range lifts {
				if l.d <= 1e-9 || len(pm.Reasons) == MaxReasons {
					break
				}
				pm.Reasons = append(pm.Reasons, l.f)
			}
		}
		var title []string
		for _, w := range words {
			if w.Start >= m.Start-0.05 && w.End <= m.End+0.05 && len(title) < titleWords {
				title = append(title, w.Text)
			}
		}
		pm.TitleHint = strings.Join(title, " ")
		out = append(out, pm)
	}
	return out
}

// Moods converts the scene moods.
func Moods(vs []mood.Verdict) []*analyticsv1.SceneMood {
	out := make([]*analyticsv1.SceneMood, 0, len(vs))
	for _, v := range vs {
		sm := &analyticsv1.SceneMood{
			Range: &commonv1.TimeRange{StartSeconds: v.Start, EndSeconds: v.End},
			Mood:  string(v.Mood), Confidence: v.Confidence, Scores: moodMap(v.Scores),
		}
		for _, e := range v.Evidence {
			sm.Evidence = append(sm.Evidence, &analyticsv1.MoodEvidence{
				Feature: string(e.Feature), Value: e.Value, Signal: e.Signal, Contributions: moodMap(e.Contributions),
			})
		}
		out = append(out, sm)
	}
	return out
}

func moodMap(xs [5]float64) map[string]float64 {
	out := make(map[string]float64, len(mood.Moods))
	for k, m := range mood.Moods {
		out[string(m)] = xs[k]
	}
	return out
}

// DetailedInput is what the detailed analytics are built from.
type DetailedInput struct {
	Video   *videosv1.Video
	Request *analyticsv1.FuseRequest
	Fused   *analyticsv1.FuseResponse
	Summary summary.Summary
	Fusion  Fusion
}

// Detailed builds the detailed analytics of a fusion.
func Detailed(in DetailedInput) *analyticsv1.GetDetailedResponse {
	res := in.Fused
	sum := in.Summary
	d := &analyticsv1.GetDetailedResponse{
		VideoId:    res.GetVideoId(),
		Modalities: res.GetInputs(),
		Producer:   res.GetProducer(),
		JobId:      res.GetJobId(),
		Moods:      res.GetMoods(),
		Missing:    slices.Clone(sum.Missing),
		Engagement: &analyticsv1.EngagementSummary{
			Avg: sum.Engagement.Avg, Max: sum.Engagement.Max, Series: res.GetEngagement(), Factors: res.GetFactors(),
		},
		Content: &analyticsv1.ContentDetails{
			Density: &analyticsv1.InformationDensity{
				WordsPerMinute: sum.Density.WordsPerMinute, TopicsPerMinute: sum.Density.TopicsPerMinute,
			},
			Complexity: &analyticsv1.Complexity{
				SceneRate: sum.Complexity.SceneRate, MotionEntropy: sum.Complexity.MotionEntropy,
				VocabularyRichness: sum.Complexity.VocabularyRichness,
			},
		},
	}
	for _, p := range sum.Engagement.Peaks {
		d.Engagement.Peaks = append(d.Engagement.Peaks, &analyticsv1.EngagementPeak{Second: int32(p.Second), Score: p.Score})
	}
	if p := in.Video.GetProbe(); p != nil {
		d.Video = &analyticsv1.VideoDetails{
			DurationSeconds: p.GetDurationSeconds(), Fps: p.GetVideo().GetFps(),
			Width: p.GetVideo().GetWidth(), Height: p.GetVideo().GetHeight(),
			BitRate: p.GetBitRate(), Codec: p.GetVideo().GetCodec(), AudioCodec: p.GetAudio().GetCodec(),
			FormatName: p.GetFormatName(),
		}
		if p.GetVideo() != nil {
			d.Video.Resolution = fmt.Sprintf("%dx%d", p.GetVideo().GetWidth(), p.GetVideo().GetHeight())
		}
	} else {
		d.Missing = append(d.Missing, "video")
	}
	if in.Fusion.Summary.Audio != nil {
		a := in.Request.GetAudio().GetSummary()
		d.Audio = &analyticsv1.AudioDetails{
			SnrDb: a.GetSnrDb(), DynamicRangeLu: a.GetDynamicRangeLu(), IntegratedLufs: a.GetIntegratedLufs(),
			LoudnessRangeLu: a.GetLoudnessRangeLu(), TruePeakDbtp: a.GetTruePeakDbtp(),
			VocalActivityRatio: a.GetVocalActivityRatio(), TempoBpm: a.GetTempoBpm(),
			QualityScore: sum.Audio.Score, SnrScore: sum.Audio.SNR, DynamicRangeScore: sum.Audio.DynamicRange,
			LoudnessScore: sum.Audio.Loudness,
		}
	}
	if in.Fusion.Engagement.Vision != nil {
		d.Quality = quality(in.Request.GetVision())
	} else {
		d.Missing = append(d.Missing, "quality")
	}
	d.Emotions = emotions(in.Request.GetVision(), in.Request.GetText(), res.GetMoods())
	d.Topics = Topics(in.Fusion.Summary.Topics)
	if in.Fusion.Summary.Topics == nil {
		d.Missing = append(d.Missing, "topics")
	}
	return d
}

// quality is the mean picture quality: the vision summary's when it has
// one, else the mean of the per-second figures.
func quality(v *visionv1.VisionResult) *analyticsv1.QualityDetails {
	if m := v.GetQuality().GetMean(); m != nil && v.GetQuality().GetFrames() > 0 {
		return &analyticsv1.QualityDetails{Sharpness: m.GetSharpness(), Colorfulness: m.GetColorfulness(),
			Contrast: m.GetContrast(), Brightness: m.GetBrightness(), Noise: m.GetNoise()}
	}
	q := &analyticsv1.QualityDetails{}
	n := float64(len(v.GetSeconds()))
	for _, s := range v.GetSeconds() {
		q.Sharpness += s.GetSharpness() / n
		q.Colorfulness += s.GetColorfulness() / n
		q.Contrast += s.GetContrast() / n
		q.Brightness += s.GetBrightness() / n
	}
	return q
}

// EmotionName is the lower-case name of an nlp emotion ("joy").
func EmotionName(e nlpv1.Emotion) string {
	return strings.ToLower(strings.TrimPrefix(e.String(), "EMOTION_"))
}

// emotions builds the emotion details: faces (the tracks' mean expression
// probabilities, weighted by detections), text (the nlp distribution) and
// the visual mood (scene moods weighted by length); dominant is the first
// available.
func emotions(v *visionv1.VisionResult, tx *nlpv1.AnalyzeTextResponse, moods []*analyticsv1.SceneMood) *analyticsv1.EmotionDetails {
	e := &analyticsv1.EmotionDetails{
		Faces: &analyticsv1.EmotionSource{Reason: "no face with an expression was seen (or the expression model did not run)"},
		Text:  &analyticsv1.EmotionSource{Reason: "no text analysis"},
		Mood:  &analyticsv1.EmotionSource{Reason: "no scene mood"},
	}
	if v == nil {
		e.Faces.Reason = "no vision result"
	} else if dist, ok := FaceEmotions(v.GetFaceTracks()); ok {
		total := 0.0
		for _, p := range dist {
			total += p
		}
		if total > 0 {
			e.Faces = &analyticsv1.EmotionSource{Available: true, Distribution: normalise(dist, total), Dominant: dominant(dist)}
		}
	}
	if tx != nil {
		dist := map[string]float64{}
		total := 0.0
		for _, s := range tx.GetEmotions().GetScores() {
			if s.GetEmotion() != nlpv1.Emotion_EMOTION_UNSPECIFIED && s.GetScore() > 0 {
				dist[EmotionName(s.GetEmotion())] += s.GetScore()
				total += s.GetScore()
			}
		}
		if total > 0 {
			e.Text = &analyticsv1.EmotionSource{Available: true, Distribution: normalise(dist, total), Dominant: dominant(dist)}
		} else {
			e.Text.Reason = "the words express no emotion the nlp service recognises"
		}
	}
	if len(moods) > 0 {
		dist := map[string]float64{}
		total := 0.0
		for _, m := range moods {
			l := m.GetRange().GetEndSeconds() - m.GetRange().GetStartSeconds()
			dist[m.GetMood()] += l
			total += l
		}
		if total > 0 {
			e.Mood = &analyticsv1.EmotionSource{Available: true, Distribution: normalise(dist, total), Dominant: dominant(dist)}
		}
	}
	for _, s := range []struct {
		name string
		src  *analyticsv1.EmotionSource
	}{{"faces", e.Faces}, {"text", e.Text}, {"mood", e.Mood}} {
		if s.src.GetAvailable() {
			e.Dominant, e.Distribution, e.Source = s.src.GetDominant(), s.src.GetDistribution(), s.name
			break
		}
	}
	return e
}

func normalise(m map[string]float64, total float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v / total
	}
	return out
}

// dominant is the key with the highest value (ties: the first in name
// order, so the answer does not depend on map order).
func dominant(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	best := ""
	for _, k := range keys {
		if best == "" || m[k] > m[best] {
			best = k
		}
	}
	return best
}

// Topics counts the topic mentions (case and surrounding spaces ignored),
// most mentioned first, ties by name.
func Topics(mentions []string) []*analyticsv1.TopicShare {
	count := map[string]int{}
	total := 0
	for _, t := range mentions {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			count[t]++
			total++
		}
	}
	out := make([]*analyticsv1.TopicShare, 0, len(count))
	for t, c := range count {
		out = append(out, &analyticsv1.TopicShare{Topic: t, Mentions: int32(c), Share: float64(c) / float64(total)})
	}
	slices.SortFunc(out, func(a, b *analyticsv1.TopicShare) int {
		return cmp.Or(cmp.Compare(b.GetMentions(), a.GetMentions()), cmp.Compare(a.GetTopic(), b.GetTopic()))
	})
	return out
}

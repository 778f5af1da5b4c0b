package adapter

import (
	"math"
	"slices"
	"testing"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/mood"
	"github.com/clipmesh/clipmesh/services/analytics/internal/summary"
)

func tr(a, b float64) *commonv1.TimeRange { return &commonv1.TimeRange{StartSeconds: a, EndSeconds: b} }

// request is a 30 s video: [10, 20) is a loud, moving, talking scene; the
// rest a still, silent one.
func request() *analyticsv1.FuseRequest {
	const n = 30
	a := &audiov1.AudioResult{HasAudio: true, DurationSeconds: n, Summary: &audiov1.AudioSummary{SnrDb: 35, DynamicRangeLu: 8, IntegratedLufs: -16},
		Producer: &commonv1.Producer{Engine: "clipmesh-audio", Version: "a1"},
		Events: []*audiov1.AudioEvent{
			{Kind: audiov1.AudioEventKind_AUDIO_EVENT_KIND_SILENCE, StartSeconds: 0, DurationSeconds: 10, Strength: 1},
			{Kind: audiov1.AudioEventKind_AUDIO_EVENT_KIND_LOUD_BURST, StartSeconds: 12, DurationSeconds: 1, Strength: 0.9},
		}}
	v := &visionv1.VisionResult{Producer: &commonv1.Producer{Engine: "clipmesh-vision", Version: "v1"},
		Producers:  []*commonv1.Producer{{Engine: "blazeface"}},
		Scenes:     []*visionv1.Scene{{Range: tr(0, 10)}, {Index: 1, Range: tr(10, 20)}, {Index: 2, Range: tr(20, n)}},
		FaceTracks: []*visionv1.FaceTrack{{Range: tr(11, 14), EyesVisibleFraction: 0.8}},
		Quality:    &visionv1.QualitySummary{Frames: 30, Mean: &visionv1.QualityMetrics{Sharpness: 200, Colorfulness: 40, Contrast: 0.2, Brightness: 0.5, Noise: 2}}}
	tx := &nlpv1.AnalyzeTextResponse{Producer: &commonv1.Producer{Engine: "clipmesh-nlp"},
		Emotions: &nlpv1.Emotions{Dominant: nlpv1.Emotion_EMOTION_JOY, Scores: []*nlpv1.EmotionScore{
			{Emotion: nlpv1.Emotion_EMOTION_JOY, Score: 0.75}, {Emotion: nlpv1.Emotion_EMOTION_SURPRISE, Score: 0.25}}}}
	t := &transcribev1.Transcript{Producer: &commonv1.Producer{Engine: "pocketsphinx"}}
	for i := range n {
		s := &audiov1.AudioSecond{TimeSeconds: float64(i), RmsDbfs: -120}
		vs := &visionv1.SecondStats{Second: int32(i), Brightness: 0.2, Sharpness: 50, Contrast: 0.1, Colorfulness: 5}
		if i >= 10 && i < 20 {
			s.RmsDbfs, s.SpeechProbability, s.PitchHz, s.OnsetStrength = -14-float64(i%3), 0.95, 180+10*float64(i%4), 3
			vs.MotionEnergy, vs.Faces, vs.LargestFaceFraction = 0.05+0.01*float64(i%3), 1, 0.1
			vs.Brightness, vs.Colorfulness = 0.8, 90
		}
		a.Series = append(a.Series, s)
		v.Seconds = append(v.Seconds, vs)
	}
	for k := range 3 {
		lo := 10 + 3*float64(k)
		seg := &transcribev1.Segment{Range: tr(lo, lo+2.5), Text: "what a great goal this is"}
		if k == 0 {
			for j, w := range []string{"what", "a", "great", "goal"} {
				seg.Words = append(seg.Words, &transcribev1.Word{Range: tr(lo+0.5*float64(j), lo+0.5*float64(j)+0.4), Text: w})
			}
		}
		t.Segments = append(t.Segments, seg)
		tx.Segments = append(tx.Segments, &nlpv1.SegmentAnalysis{Range: tr(lo, lo+2.5),
			Sentiment: &nlpv1.Sentiment{Compound: 0.6}, Emotions: &nlpv1.Emotions{Intensity: 0.8},
			Hook: &nlpv1.Hook{Score: 0.9 - 0.3*float64(k)}, Topics: []*nlpv1.TopicScore{{Label: []string{"Sports", "sports ", "music"}[k], Score: 0.5}}})
	}
	video := &videosv1.Video{Id: "vid_1", Probe: &videosv1.Probe{DurationSeconds: n, BitRate: 500000, FormatName: "mov,mp4",
		Video: &videosv1.VideoStream{Codec: "h264", Width: 320, Height: 240, Fps: 25}, Audio: &videosv1.AudioStream{Codec: "aac"}}}
	return &analyticsv1.FuseRequest{VideoId: "vid_1", Video: video, Vision: v, Audio: a, Transcript: t, Text: tx}
}

func TestFromRequest(t *testing.T) {
	t.Parallel()
	f := FromRequest(request())
	if f.Duration != 30 || f.Engagement.Seconds != 30 {
		t.Fatalf("duration %v, seconds %d", f.Duration, f.Engagement.Seconds)
	}
	for _, m := range f.Inputs {
		if m.GetState() != commonv1.ModalityState_MODALITY_STATE_OK || m.GetProducer() == nil {
			t.Errorf("input %s: %v (%s)", m.GetModality(), m.GetState(), m.GetReason())
		}
	}
	a := f.Engagement.Audio
	if a.RMSDBFS[5] != -120 || a.RMSDBFS[12] != -14 || a.SpeechProbability[15] != 0.95 {
		t.Errorf("audio series not mapped: %v", a.RMSDBFS)
	}
	if len(a.Events) != 2 || a.Events[0].Kind != engagement.OtherEvent || a.Events[1].Kind != engagement.LoudBurst {
		t.Errorf("events = %+v", a.Events)
	}
	v := f.Engagement.Vision
	if !slices.Equal(v.Cuts, []float64{10, 20}) || !slices.Equal(f.Moments.Cuts, v.Cuts) {
		t.Errorf("cuts = %v", v.Cuts)
	}
	if v.FaceCount == nil || v.FaceCount[15] != 1 || v.EyeContact[12] != 0.8 || v.EyeContact[16] != 0 {
		t.Errorf("faces = %v, eye contact = %v", v.FaceCount, v.EyeContact)
	}
	if v.EmotionIntensity != nil {
		t.Error("face emotion should be missing: vision reports none")
	}
	if !(v.Quality[15] > v.Quality[5]) {
		t.Errorf("quality of the sharp, colourful seconds %v not above the dull ones %v", v.Quality[15], v.Quality[5])
	}
	if len(f.Engagement.Words) != 4+6+6 {
		t.Errorf("words = %d, want 4 timed + 2 segments of 6 spread", len(f.Engagement.Words))
	}
	if w := f.Engagement.Words[4]; w.Start != 13 || math.Abs(w.End-13-2.5/6) > 1e-9 {
		t.Errorf("spread word = %+v", w)
	}
	if len(f.Moments.Sentences) != 3 || len(f.Moments.Hooks) != 3 || f.Moments.Hooks[0].Strength != 0.9 {
		t.Errorf("sentences %v hooks %v", f.Moments.Sentences, f.Moments.Hooks)
	}
	if s := f.Engagement.Text.Sentiment[0].Strength; s != 0.8 {
		t.Errorf("sentiment strength = %v, want max(|0.6|, 0.8)", s)
	}
	if len(f.Scenes) != 3 || *f.Summary.SceneCount != 3 || f.Summary.Audio.SNRDB != 35 {
		t.Errorf("scenes %d, summary %+v", len(f.Scenes), f.Summary)
	}
	tl, err := engagement.Score(f.Engagement, engagement.DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(Factors(tl.Missing), []string{"face_emotion"}) {
		t.Errorf("missing = %v", tl.Missing)
	}
}

func TestFromRequestMissing(t *testing.T) {
	t.Parallel()
	full := request()
	tests := []struct {
		name    string
		req     *analyticsv1.FuseRequest
		skipped []string
		factors []string
	}{
		{"audio only", &analyticsv1.FuseRequest{Audio: full.Audio}, []string{Vision, Transcribe, NLP},
			[]string{"speech_presence", "loudness", "loudness_change", "excitement", "audio_events"}},
		{"vision without faces", &analyticsv1.FuseRequest{Video: full.Video, Vision: &visionv1.VisionResult{
			Seconds: full.Vision.Seconds, Scenes: full.Vision.Scenes, Producers: []*commonv1.Producer{{Engine: "blazeface", Fallback: true}}}},
			[]string{Audio, Transcribe, NLP}, []string{"motion", "cut_rhythm", "visual_quality"}},
		{"no audio stream", &analyticsv1.FuseRequest{Video: full.Video, Audio: &audiov1.AudioResult{HasAudio: false}, Transcript: full.Transcript},
			[]string{Vision, Audio, NLP}, []string{"speech_presence", "speech_rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := FromRequest(tt.req)
			var skipped []string
			for _, m := range f.Inputs {
				if m.GetState() != commonv1.ModalityState_MODALITY_STATE_OK {
					skipped = append(skipped, m.GetModality())
					if m.GetReason() == "" {
						t.Errorf("%s skipped without a reason", m.GetModality())
					}
				}
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped = %v, want %v", skipped, tt.skipped)
			}
			tl, err := engagement.Score(f.Engagement, engagement.DefaultWeights())
			if err != nil {
				t.Fatal(err)
			}
			if got := Factors(tl.Factors); !slices.Equal(got, tt.factors) {
				t.Errorf("factors = %v, want %v", got, tt.factors)
			}
			if len(tl.Seconds) != 30 {
				t.Errorf("timeline has %d seconds, want 30", len(tl.Seconds))
			}
		})
	}
}

func TestSceneMood(t *testing.T) {
	t.Parallel()
	f := FromRequest(request())
	vs := mood.InferAll(f.Scenes)
	if len(vs) != 3 {
		t.Fatalf("%d verdicts", len(vs))
	}
	// Still, dark, silent scenes are calm; the bright, colourful, loud,
	// moving middle is not.
	if vs[0].Mood != mood.Calm || vs[2].Mood != mood.Calm {
		t.Errorf("still scenes: %s, %s; want calm", vs[0].Mood, vs[2].Mood)
	}
	if vs[1].Mood == mood.Calm {
		t.Errorf("bright saturated fast loud scene called calm: %+v", vs[1])
	}
	pm := Moods(vs)
	if pm[1].GetMood() != string(vs[1].Mood) || len(pm[1].GetEvidence()) != 4 || len(pm[1].GetScores()) != 5 {
		t.Errorf("converted mood = %v", pm[1])
	}
	for _, e := range pm[1].GetEvidence() {
		if e.GetFeature() == "motion" && e.GetValue() < 0.9 {
			t.Errorf("motion of RMS speed ~0.24 fw/s = %v, want near 1", e.GetValue())
		}
	}
}

func TestDetailed(t *testing.T) {
	t.Parallel()
	req := request()
	f := FromRequest(req)
	tl, err := engagement.Score(f.Engagement, engagement.DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	si := f.Summary
	si.Engagement = tl.Scores()
	res := &analyticsv1.FuseResponse{VideoId: "vid_1", Engagement: tl.Scores(), Factors: Factors(tl.Factors), Moods: Moods(mood.InferAll(f.Scenes))}
	d := Detailed(DetailedInput{Video: req.GetVideo(), Request: req, Fused: res, Summary: summary.Compute(si), Fusion: f})
	if v := d.GetVideo(); v.GetFps() != 25 || v.GetDurationSeconds() != 30 || v.GetResolution() != "320x240" || v.GetCodec() != "h264" || v.GetAudioCodec() != "aac" {
		t.Errorf("video = %v", v)
	}
	if a := d.GetAudio(); a.GetQualityScore() <= 0 || a.GetQualityScore() > 1 || a.GetSnrDb() != 35 {
		t.Errorf("audio = %v", a)
	}
	if d.GetQuality().GetSharpness() != 200 {
		t.Errorf("quality = %v", d.GetQuality())
	}
	if e := d.GetEmotions(); e.GetDominant() != "joy" || e.GetSource() != "text" || e.GetFaces().GetAvailable() || !e.GetMood().GetAvailable() {
		t.Errorf("emotions = %v", e)
	}
	if m := d.GetEmotions().GetMood(); m.GetDominant() != "calm" || math.Abs(m.GetDistribution()["calm"]-2.0/3) > 1e-9 {
		t.Errorf("mood emotions = %v", m)
	}
	if tp := d.GetTopics(); len(tp) != 2 || tp[0].GetTopic() != "sports" || tp[0].GetMentions() != 2 {
		t.Errorf("topics = %v", tp)
	}
	c := d.GetContent()
	if c.GetDensity().GetWordsPerMinute() != 16*2 || c.GetComplexity().GetSceneRate() != 6 || c.GetDensity().GetTopicsPerMinute() != 4 {
		t.Errorf("content = %v", c)
	}
	if d.GetEngagement().GetAvg() <= 0 || len(d.GetEngagement().GetSeries()) != 30 || len(d.GetMissing()) != 0 {
		t.Errorf("engagement %v, missing %v", d.GetEngagement(), d.GetMissing())
	}
}

func TestTopics(t *testing.T) {
	t.Parallel()
	got := Topics([]string{"b", " A", "a", "", "b", "c"})
	want := []string{"a", "b", "c"}
	for i, ts := range got {
		if ts.GetTopic() != want[i] {
			t.Errorf("topics = %v", got)
		}
	}
	if got[0].GetMentions() != 2 || got[0].GetShare() != 0.4 {
		t.Errorf("a = %v", got[0])
	}
}

// The second holding a cut carries the flow across it: a still scene
// starting mid-second is still calm.
func TestSceneMoodIgnoresTheCutSecond(t *testing.T) {
	t.Parallel()
	req := request()
	req.Vision.Scenes[1].Range.EndSeconds, req.Vision.Scenes[2].Range.StartSeconds = 20.4, 20.4
	req.Vision.Seconds[20].MotionEnergy = 5 // the cut's flow
	req.Audio.Series[20].RmsDbfs = -10
	vs := mood.InferAll(FromRequest(req).Scenes)
	if vs[2].Mood != mood.Calm {
		t.Errorf("still scene after a mid-second cut is %s: %+v", vs[2].Mood, vs[2].Evidence)
	}
}

// A cut on a whole second puts the flow across it into the scene's first
// second.
func TestSceneMoodIgnoresTheFirstSecond(t *testing.T) {
	t.Parallel()
	req := request()
	req.Vision.Seconds[20].MotionEnergy = 5
	vs := mood.InferAll(FromRequest(req).Scenes)
	if vs[2].Mood != mood.Calm {
		t.Errorf("still scene after a cut on a whole second is %s: %+v", vs[2].Mood, vs[2].Evidence)
	}
	short := FromRequest(&analyticsv1.FuseRequest{Vision: &visionv1.VisionResult{
		Scenes:  []*visionv1.Scene{{Range: tr(0, 0.5)}, {Range: tr(0.5, 1.2)}},
		Seconds: []*visionv1.SecondStats{{Second: 0, Brightness: 0.9}, {Second: 1, Brightness: 0.1}}}})
	if b := *short.Scenes[0].Brightness; b != 0.9 {
		t.Errorf("a scene shorter than a second takes the second it starts in: brightness %v", b)
	}
	if b := *short.Scenes[1].Brightness; b != 0.9 {
		t.Errorf("a short scene takes the second holding its middle: brightness %v", b)
	}
}

// With the face mesh and the expression model, eye contact and face
// emotion come from the sampled detections, and the faces lead the
// emotions.
func TestFaceExpressions(t *testing.T) {
	t.Parallel()
	req := request()
	tr := req.Vision.FaceTracks[0]
	tr.MeshSamples, tr.Detections = 4, 4
	tr.Samples = []*visionv1.FaceSample{
		{Seconds: 11.2, EyeContact: true, Emotion: "happy", EmotionProbability: 0.9},
		{Seconds: 11.7, EyeContact: false, Emotion: "happy", EmotionProbability: 0.7},
		{Seconds: 12.2, EyeContact: true, Emotion: "neutral", EmotionProbability: 0.8},
		{Seconds: 13.5, EyeContact: false, Emotion: "surprise", EmotionProbability: 0.6},
	}
	tr.Emotions = []*visionv1.EmotionScore{{Label: "happy", Probability: 0.8}, {Label: "neutral", Probability: 0.15}, {Label: "surprise", Probability: 0.05}}
	f := FromRequest(req)
	v := f.Engagement.Vision
	if v.EyeContact[11] != 0.5 || v.EyeContact[12] != 1 || v.EyeContact[13] != 0 || v.EyeContact[14] != 0 {
		t.Errorf("eye contact = %v", v.EyeContact[10:15])
	}
	if v.EmotionIntensity == nil || v.EmotionIntensity[11] != 0.9 || v.EmotionIntensity[12] != 0 || v.EmotionIntensity[13] != 0.6 {
		t.Errorf("emotion intensity = %v", v.EmotionIntensity)
	}
	tl, err := engagement.Score(f.Engagement, engagement.DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Missing) != 0 {
		t.Errorf("missing = %v, want every factor used", tl.Missing)
	}
	if f.Scenes[1].Faces == nil || f.Scenes[1].Faces.Happy != 0.8 || f.Scenes[0].Faces != nil {
		t.Errorf("scene faces = %+v, %+v", f.Scenes[0].Faces, f.Scenes[1].Faces)
	}
	vs := mood.InferAll(f.Scenes)
	if vs[1].Mood != mood.Joyful {
		t.Errorf("a bright, colourful scene of happy faces is %s", vs[1].Mood)
	}
	si := f.Summary
	si.Engagement = tl.Scores()
	res := &analyticsv1.FuseResponse{Engagement: tl.Scores(), Moods: Moods(vs)}
	d := Detailed(DetailedInput{Video: req.GetVideo(), Request: req, Fused: res, Summary: summary.Compute(si), Fusion: f})
	if e := d.GetEmotions(); e.GetSource() != "faces" || e.GetDominant() != "happy" || math.Abs(e.GetDistribution()["happy"]-0.8) > 1e-9 || !e.GetText().GetAvailable() {
		t.Errorf("emotions = %v", e)
	}
}

// The scene's own colour temperature becomes the warmth evidence, listing
// the kelvin; warm light leans joyful/energetic, cool light sad/tense.
func TestSceneMoodColourTemperature(t *testing.T) {
	t.Parallel()
	withKelvin := func(k float64) mood.Verdict {
		t.Helper()
		req := request()
		req.Vision.Scenes[1].ColorTemperatureK = k
		for _, s := range req.Vision.Seconds {
			s.ColorTemperatureK = 12000 // the seconds must not be used when the scene has its own
		}
		vs := mood.InferAll(FromRequest(req).Scenes)
		pm := Moods(vs)
		var found bool
		for _, e := range pm[1].GetEvidence() {
			if e.GetFeature() == string(mood.Warmth) {
				found = true
				if e.GetValue() != k {
					t.Errorf("warmth evidence lists %v K, want %v K", e.GetValue(), k)
				}
			}
		}
		if !found {
			t.Errorf("no warmth evidence for a scene measured at %v K: %v", k, pm[1])
		}
		return vs[1]
	}
	warm, cool := withKelvin(3000), withKelvin(10000)
	idx := func(m mood.Mood) int { return slices.Index(mood.Moods, m) }
	for _, m := range []mood.Mood{mood.Joyful, mood.Energetic} {
		if !(warm.Scores[idx(m)] > cool.Scores[idx(m)]) {
			t.Errorf("%s: warm %.2f not above cool %.2f", m, warm.Scores[idx(m)], cool.Scores[idx(m)])
		}
	}
	for _, m := range []mood.Mood{mood.Sad, mood.Tense} {
		if !(cool.Scores[idx(m)] > warm.Scores[idx(m)]) {
			t.Errorf("%s: cool %.2f not above warm %.2f", m, cool.Scores[idx(m)], warm.Scores[idx(m)])
		}
	}

	// Without a scene value, the mean of the seconds inside counts; with
	// neither, there is no warmth evidence.
	req := request()
	for i, s := range req.Vision.Seconds {
		s.ColorTemperatureK = float64(4000 + 100*(i%2))
	}
	req.Vision.Seconds[12].ColorTemperatureK = 0 // unmeasured second: skipped
	f := FromRequest(req)
	if k := f.Scenes[1].ColorTemperatureK; k == nil || *k < 4000 || *k > 4100 {
		t.Errorf("colour temperature from the seconds = %v", k)
	}
	if k := FromRequest(request()).Scenes[0].ColorTemperatureK; k != nil {
		t.Errorf("unmeasured colour temperature became %v K", *k)
	}

	// Without scenes the whole video takes the quality mean.
	req = request()
	req.Vision.Scenes = nil
	req.Vision.Quality.Mean.ColorTemperatureK = 5200
	if sc := FromRequest(req).Scenes; len(sc) != 1 || sc[0].ColorTemperatureK == nil || *sc[0].ColorTemperatureK != 5200 {
		t.Errorf("whole-video scene: %+v", sc)
	}
}

package adapter

import (
	"math"
	"slices"
	"strings"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	audiov1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/audio/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	nlpv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/nlp/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/analytics/internal/engagement"
	"github.com/clipmesh/clipmesh/services/analytics/internal/moments"
	"github.com/clipmesh/clipmesh/services/analytics/internal/mood"
	"github.com/clipmesh/clipmesh/services/analytics/internal/summary"
)

// The modality names of ModalityStatus.modality.
const (
	Vision     = "vision"
	Audio      = "audio"
	Transcribe = "transcribe"
	NLP        = "nlp"
)

// motionScale is the RMS flow speed (frame widths per second) at which the
// mood's motion reaches 1 − 1/e.
const motionScale = 0.05

// Fusion is a FuseRequest turned into the domain packages' inputs.
type Fusion struct {
	// Duration of the video in seconds (probe, else the longest modality).
	Duration float64
	// Engagement is the engagement input; its Seconds is ceil(Duration).
	Engagement engagement.Input
	// Moments is the moments input without its Engagement series.
	Moments moments.Input
	// Scenes are the mood inputs, one per vision scene.
	Scenes []mood.Scene
	// Summary is the summary input without its Engagement series.
	Summary summary.Input
	// Inputs says, per modality, whether it was given and what produced it.
	Inputs []*commonv1.ModalityStatus
}

// FromRequest converts the modality results of req. A modality that is
// absent, or present but empty (no audio stream, no per-second stats), is
// left out of the domain inputs and reported SKIPPED in Inputs.
func FromRequest(req *analyticsv1.FuseRequest) Fusion {
	var f Fusion
	a, v, tr, tx := req.GetAudio(), req.GetVision(), req.GetTranscript(), req.GetText()
	hasAudio := a != nil && a.GetHasAudio() && len(a.GetSeries()) > 0
	hasVision := v != nil && (len(v.GetSeconds()) > 0 || len(v.GetScenes()) > 0)
	hasWords := tr != nil && len(tr.GetSegments()) > 0
	hasText := tx != nil && len(tx.GetSegments()) > 0

	f.Duration = req.GetVideo().GetProbe().GetDurationSeconds()
	if f.Duration <= 0 {
		f.Duration = max(a.GetDurationSeconds(), v.GetDecode().GetSeconds(), float64(len(a.GetSeries())), float64(len(v.GetSeconds())))
		for _, s := range tr.GetSegments() {
			f.Duration = max(f.Duration, s.GetRange().GetEndSeconds())
		}
	}
	f.Duration = finite(f.Duration)
	f.Engagement.Seconds = int(math.Ceil(f.Duration))
	f.Moments.Duration = f.Duration
	f.Summary.DurationSeconds = f.Duration

	f.Inputs = []*commonv1.ModalityStatus{
		status(Vision, hasVision, v.GetProducer(), v == nil, "no per-second vision stats"),
		status(Audio, hasAudio, a.GetProducer(), a == nil, "no audio stream"),
		status(Transcribe, hasWords, tr.GetProducer(), tr == nil, "empty transcript"+reason(tr.GetEmptyReason())),
		status(NLP, hasText, tx.GetProducer(), tx == nil, "no analysed segments"),
	}
	if hasAudio {
		f.Engagement.Audio = audioInput(a)
		f.Summary.Audio = &summary.AudioFigures{
			SNRDB: a.GetSummary().GetSnrDb(), DynamicRangeLU: a.GetSummary().GetDynamicRangeLu(),
			IntegratedLUFS: a.GetSummary().GetIntegratedLufs(),
		}
	}
	if hasVision {
		f.Engagement.Vision = visionInput(v)
		f.Moments.Cuts = f.Engagement.Vision.Cuts
		n := len(v.GetScenes())
		f.Summary.SceneCount = &n
		f.Summary.MotionEnergy = f.Engagement.Vision.MotionEnergy
	}
	if hasVision || hasAudio {
		f.Scenes = scenes(v, a, f.Duration)
	}
	if hasWords {
		f.Engagement.Words = words(tr)
		f.Summary.Words = make([]string, 0, len(f.Engagement.Words))
		for _, w := range f.Engagement.Words {
			f.Summary.Words = append(f.Summary.Words, w.Text)
		}
		for _, s := range tr.GetSegments() {
			f.Moments.Sentences = append(f.Moments.Sentences, moments.Sentence{Start: s.GetRange().GetStartSeconds(), End: s.GetRange().GetEndSeconds()})
		}
	} else if tr != nil {
		// A transcript with no segments is a video without speech: zero
		// words per minute, not a missing figure.
		f.Engagement.Words = []engagement.Word{}
		f.Summary.Words = []string{}
	}
	if hasText {
		f.Engagement.Text, f.Moments.Hooks, f.Summary.Topics = textInput(tx)
	}
	return f
}

func reason(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func status(modality string, ok bool, p *commonv1.Producer, absent bool, emptyReason string) *commonv1.ModalityStatus {
	switch {
	case ok:
		return &commonv1.ModalityStatus{Modality: modality, State: commonv1.ModalityState_MODALITY_STATE_OK, Producer: p}
	case absent:
		return &commonv1.ModalityStatus{Modality: modality, State: commonv1.ModalityState_MODALITY_STATE_SKIPPED, Reason: "not given"}
	default:
		return &commonv1.ModalityStatus{Modality: modality, State: commonv1.ModalityState_MODALITY_STATE_SKIPPED, Reason: emptyReason, Producer: p}
	}
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return 0
	}
	return x
}

// index returns the second a per-second entry belongs to, -1 when it is
// out of range.
func index(t float64, n int) int {
	i := int(math.Floor(t))
	if t < 0 || i >= n || math.IsNaN(t) {
		return -1
	}
	return i
}

func audioInput(a *audiov1.AudioResult) *engagement.Audio {
	n := 0
	for _, s := range a.GetSeries() {
		n = max(n, int(math.Floor(finite(s.GetTimeSeconds())))+1)
	}
	in := &engagement.Audio{
		RMSDBFS: make([]float64, n), SpeechProbability: make([]float64, n),
		PitchHz: make([]float64, n), OnsetStrength: make([]float64, n),
		Events: []engagement.AudioEvent{},
	}
	for i := range in.RMSDBFS {
		in.RMSDBFS[i] = -120
	}
	for _, s := range a.GetSeries() {
		i := index(s.GetTimeSeconds(), n)
		if i < 0 {
			continue
		}
		in.RMSDBFS[i] = s.GetRmsDbfs()
		in.SpeechProbability[i] = s.GetSpeechProbability()
		in.PitchHz[i] = s.GetPitchHz()
		in.OnsetStrength[i] = s.GetOnsetStrength()
	}
	kinds := map[audiov1.AudioEventKind]engagement.EventKind{
		audiov1.AudioEventKind_AUDIO_EVENT_KIND_LOUD_BURST:        engagement.LoudBurst,
		audiov1.AudioEventKind_AUDIO_EVENT_KIND_LOUDNESS_JUMP:     engagement.LoudnessJump,
		audiov1.AudioEventKind_AUDIO_EVENT_KIND_APPLAUSE_LAUGHTER: engagement.ApplauseLaughter,
	}
	for _, e := range a.GetEvents() {
		in.Events = append(in.Events, engagement.AudioEvent{
			Kind: kinds[e.GetKind()], Start: e.GetStartSeconds(), Duration: e.GetDurationSeconds(), Strength: e.GetStrength(),
		})
	}
	return in
}

// facesRan reports whether the face detector ran: a blazeface producer
// that is not a fallback, or any face track.
func facesRan(v *visionv1.VisionResult) bool {
	if len(v.GetFaceTracks()) > 0 {
		return true
	}
	for _, p := range v.GetProducers() {
		if p.GetEngine() == "blazeface" {
			return !p.GetFallback()
		}
	}
	return false
}

func visionInput(v *visionv1.VisionResult) *engagement.Vision {
	n := 0
	for _, s := range v.GetSeconds() {
		n = max(n, int(s.GetSecond())+1)
	}
	in := &engagement.Vision{MotionEnergy: make([]float64, n), Quality: make([]float64, n), Cuts: []float64{}}
	faces := facesRan(v)
	if faces {
		in.FaceCount, in.FaceArea, in.EyeContact = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	for _, s := range v.GetSeconds() {
		i := int(s.GetSecond())
		if i < 0 || i >= n {
			continue
		}
		in.MotionEnergy[i] = s.GetMotionEnergy()
		in.Quality[i] = FrameQuality(s.GetSharpness(), s.GetContrast(), s.GetColorfulness())
		if faces {
			in.FaceCount[i] = float64(s.GetFaces())
			in.FaceArea[i] = s.GetLargestFaceFraction()
		}
	}
	if faces {
		in.EyeContact = eyeContact(v.GetFaceTracks(), n)
		in.EmotionIntensity = emotionIntensity(v.GetFaceTracks(), n)
	}
	for i, s := range v.GetScenes() {
		if i > 0 {
			in.Cuts = append(in.Cuts, s.GetRange().GetStartSeconds())
		}
	}
	return in
}

// eyeContact is, per second, the share of a face's sampled detections
// looking at the camera (the face mesh's verdict), the highest over the
// faces. Without the face mesh, a track's eyes-visible fraction (both eye
// keypoints inside a frontal box) stands in over its whole range.
func eyeContact(tracks []*visionv1.FaceTrack, n int) []float64 {
	out := make([]float64, n)
	for _, t := range tracks {
		if t.GetMeshSamples() > 0 && len(t.GetSamples()) > 0 {
			hits, total := make([]float64, n), make([]float64, n)
			for _, sm := range t.GetSamples() {
				if i := index(sm.GetSeconds(), n); i >= 0 {
					total[i]++
					if sm.GetEyeContact() {
						hits[i]++
					}
				}
			}
			for i := range out {
				if total[i] > 0 {
					out[i] = math.Max(out[i], hits[i]/total[i])
				}
			}
			continue
		}
		lo, hi := t.GetRange().GetStartSeconds(), t.GetRange().GetEndSeconds()
		for i := max(int(math.Floor(lo)), 0); i < n && float64(i) <= hi; i++ {
			out[i] = math.Max(out[i], t.GetEyesVisibleFraction())
		}
	}
	return out
}

// emotionIntensity is, per second, the highest probability of a
// non-neutral expression among the sampled detections; nil (the factor
// is missing) when no detection carries an expression, as when the
// expression model did not run.
func emotionIntensity(tracks []*visionv1.FaceTrack, n int) []float64 {
	out := make([]float64, n)
	seen := false
	for _, t := range tracks {
		for _, sm := range t.GetSamples() {
			if sm.GetEmotion() == "" {
				continue
			}
			seen = true
			if i := index(sm.GetSeconds(), n); i >= 0 && sm.GetEmotion() != "neutral" {
				out[i] = math.Max(out[i], clamp01(sm.GetEmotionProbability()))
			}
		}
	}
	if !seen {
		return nil
	}
	return out
}

// FaceEmotions returns the mean expression probabilities of the tracks
// (weighted by their detections) and whether any track had them.
func FaceEmotions(tracks []*visionv1.FaceTrack) (map[string]float64, bool) {
	sum := map[string]float64{}
	weight := 0.0
	for _, t := range tracks {
		if len(t.GetEmotions()) == 0 {
			continue
		}
		w := float64(max(t.GetDetections(), 1))
		for _, e := range t.GetEmotions() {
			sum[strings.ToLower(e.GetLabel())] += w * e.GetProbability()
		}
		weight += w
	}
	if weight == 0 {
		return nil, false
	}
	for k := range sum {
		sum[k] /= weight
	}
	return sum, true
}

// FrameQuality is the per-second visual quality of the package
// documentation, in [0, 1].
func FrameQuality(sharpness, contrast, colorfulness float64) float64 {
	return (clamp01(math.Log10(1+math.Max(sharpness, 0))/3) + clamp01(contrast/0.3) + clamp01(colorfulness/100)) / 3
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return math.Min(1, math.Max(0, x))
}

// words returns the transcript's words; a segment without word times
// spreads its text's words evenly over its range.
func words(tr *transcribev1.Transcript) []engagement.Word {
	out := []engagement.Word{}
	for _, s := range tr.GetSegments() {
		if ws := s.GetWords(); len(ws) > 0 {
			for _, w := range ws {
				out = append(out, engagement.Word{Start: w.GetRange().GetStartSeconds(), End: w.GetRange().GetEndSeconds(), Text: w.GetText()})
			}
			continue
		}
		fields := strings.Fields(s.GetText())
		lo, hi := s.GetRange().GetStartSeconds(), s.GetRange().GetEndSeconds()
		step := (hi - lo) / float64(max(len(fields), 1))
		for k, w := range fields {
			out = append(out, engagement.Word{Start: lo + float64(k)*step, End: lo + float64(k+1)*step, Text: w})
		}
	}
	return out
}

// textInput returns the sentiment and hook spans, the moments' hooks and
// the topic mentions (each segment's best topic).
func textInput(tx *nlpv1.AnalyzeTextResponse) (*engagement.Text, []moments.Hook, []string) {
	t := &engagement.Text{Sentiment: []engagement.Span{}, Hooks: []engagement.Span{}}
	hooks := []moments.Hook{}
	topics := []string{}
	for _, s := range tx.GetSegments() {
		r := s.GetRange()
		if r == nil {
			continue
		}
		lo, hi := r.GetStartSeconds(), r.GetEndSeconds()
		strength := math.Max(math.Abs(s.GetSentiment().GetCompound()), s.GetEmotions().GetIntensity())
		t.Sentiment = append(t.Sentiment, engagement.Span{Start: lo, End: hi, Strength: clamp01(strength)})
		if h := s.GetHook(); h != nil {
			t.Hooks = append(t.Hooks, engagement.Span{Start: lo, End: hi, Strength: clamp01(h.GetScore())})
			hooks = append(hooks, moments.Hook{Start: lo, End: hi, Strength: clamp01(h.GetScore())})
		}
		if ts := s.GetTopics(); len(ts) > 0 && ts[0].GetLabel() != "" {
			topics = append(topics, ts[0].GetLabel())
		}
	}
	if len(t.Hooks) == 0 {
		// The nlp service did not score hooks: the factor is missing, not
		// zero.
		t.Hooks, hooks = nil, nil
	}
	if len(topics) == 0 {
		for _, ts := range tx.GetTopics() {
			if ts.GetLabel() != "" && ts.GetScore() > 0 {
				topics = append(topics, ts.GetLabel())
			}
		}
	}
	return t, hooks, topics
}

// scenes returns one mood scene per vision scene (the whole video when
// there are none).
func scenes(v *visionv1.VisionResult, a *audiov1.AudioResult, dur float64) []mood.Scene {
	type span struct{ lo, hi, kelvin float64 }
	var spans []span
	for _, s := range v.GetScenes() {
		spans = append(spans, span{s.GetRange().GetStartSeconds(), s.GetRange().GetEndSeconds(), s.GetColorTemperatureK()})
	}
	if len(spans) == 0 {
		spans = []span{{0, dur, v.GetQuality().GetMean().GetColorTemperatureK()}}
	}
	var audio []*audiov1.AudioSecond
	if a.GetHasAudio() {
		audio = a.GetSeries()
	}
	out := make([]mood.Scene, 0, len(spans))
	for _, sp := range spans {
		sc := mood.Scene{Start: sp.lo, End: sp.hi}
		// Only the seconds wholly inside the scene, after its first frame,
		// count: the second holding a cut (even one starting on it, since
		// the flow into a frame is counted at that frame) carries the
		// optical flow across the cut and the other scene's sound. A scene
		// without such a second takes the seconds whose middle it holds,
		// or the second it starts in.
		first := math.Floor(sp.lo+1e-6) + 1
		inside := func(t float64) bool { return t >= first && t+1 <= sp.hi+1e-6 }
		if math.Floor(sp.hi+1e-6)-first < 1 {
			inside = func(t float64) bool {
				mid := t + 0.5
				return (mid >= sp.lo && mid < sp.hi) || math.Floor(sp.lo) == t
			}
		}
		var bright, color, energy, kelvin []float64
		for _, s := range v.GetSeconds() {
			if inside(float64(s.GetSecond())) {
				bright = append(bright, s.GetBrightness())
				color = append(color, s.GetColorfulness())
				energy = append(energy, s.GetMotionEnergy())
				if k := s.GetColorTemperatureK(); k > 0 {
					kelvin = append(kelvin, k)
				}
			}
		}
		// Vision pools the scene's light itself, over exactly its frames
		// (a cut second's other scene does not leak in); the seconds'
		// mean is the fallback.
		switch {
		case sp.kelvin > 0:
			sc.ColorTemperatureK = mood.Value(sp.kelvin)
		case len(kelvin) > 0:
			sc.ColorTemperatureK = mood.Value(mean(kelvin))
		}
		if len(bright) > 0 {
			sc.Brightness = mood.Value(clamp01(mean(bright)))
			sc.Saturation = mood.Value(clamp01(mean(color) / 110))
			sc.Motion = mood.Value(1 - math.Exp(-math.Sqrt(math.Max(mean(energy), 0))/motionScale))
		}
		var tracks []*visionv1.FaceTrack
		for _, t := range v.GetFaceTracks() {
			r := t.GetRange()
			if r.GetStartSeconds() < sp.hi && r.GetEndSeconds() >= sp.lo {
				tracks = append(tracks, t)
			}
		}
		if e, ok := FaceEmotions(tracks); ok {
			sc.Faces = &mood.Emotions{Happy: e["happy"], Sad: e["sad"], Angry: e["angry"] + e["disgust"],
				Fear: e["fear"], Surprise: e["surprise"], Neutral: e["neutral"]}
		}
		power, k := 0.0, 0
		for _, s := range audio {
			if inside(math.Floor(s.GetTimeSeconds())) {
				power += math.Pow(10, s.GetRmsDbfs()/10)
				k++
			}
		}
		if k > 0 {
			level := 10 * math.Log10(math.Max(power/float64(k), 1e-12))
			sc.AudioEnergy = mood.Value(mood.EnergyFromLUFS(level))
		}
		out = append(out, sc)
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Producers returns the producer of every modality given, in modality
// order, for storage with the result.
func Producers(inputs []*commonv1.ModalityStatus) []*commonv1.Producer {
	var out []*commonv1.Producer
	for _, m := range inputs {
		if p := m.GetProducer(); p != nil {
			out = append(out, p)
		}
	}
	return slices.Clip(out)
}

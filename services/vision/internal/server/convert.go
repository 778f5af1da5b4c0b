package server

import (
	"context"
	"errors"
	"fmt"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/platform/ffmpegx"
	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/emotion"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
	"github.com/clipmesh/clipmesh/services/vision/internal/quality"
	"github.com/clipmesh/clipmesh/services/vision/internal/scenes"
)

// Engine is the overall producer's engine name.
const Engine = "clipmesh-vision"

// GocvVersion is the gocv module version linked in (see package cv).
const GocvVersion = "v0.25.0"

var transitions = map[scenes.Kind]visionv1.TransitionKind{
	scenes.Cut:      visionv1.TransitionKind_TRANSITION_KIND_CUT,
	scenes.FadeOut:  visionv1.TransitionKind_TRANSITION_KIND_FADE,
	scenes.FadeIn:   visionv1.TransitionKind_TRANSITION_KIND_FADE,
	scenes.Dissolve: visionv1.TransitionKind_TRANSITION_KIND_DISSOLVE,
}

// ffmpeg returns the version of the ffmpeg this server runs.
func (s *Server) ffmpeg(ctx context.Context) string {
	return ffmpegx.Version(ctx, s.Decode.FFmpeg)
}

func metrics(m quality.Metrics) *visionv1.QualityMetrics {
	return &visionv1.QualityMetrics{Sharpness: m.Sharpness, Colorfulness: m.Colorfulness, Contrast: m.Contrast,
		Brightness: m.Brightness, Noise: m.Noise, Blockiness: m.Blockiness, ColorTemperatureK: m.ColorTemperature}
}

// faceNote says why faces were not analysed.
func faceNote(err error) string {
	var me *models.Error
	if errors.As(err, &me) {
		return err.Error()
	}
	return fmt.Sprintf("%v: run `clipmesh models fetch`", err)
}

// result converts a domain result; faceErr is why faces did not run.
func (s *Server) result(ctx context.Context, r *analysis.Result, faceErr error) *visionv1.VisionResult {
	faceProducer := &commonv1.Producer{Engine: "blazeface", Model: faces.ModelName, Version: "onnxruntime " + ort.Version(),
		Note: "full-range BlazeFace on a 2 fps grid, IoU tracking within scenes"}
	overall := &commonv1.Producer{Engine: Engine, Model: faces.ModelName, Version: s.Version}
	if faceErr != nil {
		faceProducer = &commonv1.Producer{Engine: "blazeface", Model: faces.ModelName, Fallback: true, Note: "faces not analysed: " + faceNote(faceErr)}
		overall.Fallback, overall.Note, overall.Model = true, faceProducer.Note, ""
	}
	res := &visionv1.VisionResult{
		Producer: overall,
		Producers: []*commonv1.Producer{
			{Engine: "ffmpeg", Version: s.ffmpeg(ctx), Note: fmt.Sprintf("one decode to %dx%d RGB at %.3g fps", r.Width, r.Height, r.FPS)},
			{Engine: "opencv", Version: cv.Version(), Model: "gocv " + GocvVersion, Note: "Farnebäck flow, Laplacian, Canny, HSV"},
			{Engine: "clipmesh-vision", Model: "hsv+edge cuts, luma fades, twin-comparison dissolves; spectral-residual subject", Version: s.Version},
			faceProducer,
		},
		Decode: &visionv1.DecodeStatus{
			Complete: r.Stopped == "", Frames: r.Frames, Error: r.Stopped, FrameRate: r.FPS,
			Width: int32(r.Info.Width), Height: int32(r.Info.Height), AnalysisWidth: int32(r.Width), AnalysisHeight: int32(r.Height),
		},
	}
	if faceErr == nil {
		res.Producers = append(res.Producers, &commonv1.Producer{Engine: "onnxruntime", Version: ort.Version()})
		eyes := &commonv1.Producer{Engine: "opencv", Version: cv.Version(), Model: "haarcascade_eye",
			Note: "eyes confirmed at BlazeFace's eye keypoints on faces ≥ 40 px wide"}
		if s.Eyes == nil {
			eyes.Fallback, eyes.Note = true, "eyes not confirmed: the Haar eye cascade is missing (Debian package opencv-data)"
		}
		res.Producers = append(res.Producers, eyes)
	}
	res.Producers = append(res.Producers, s.extraProducers(ctx, faceErr)...)
	if r.FPS > 0 {
		res.Decode.Seconds = float64(r.Frames) / r.FPS
	}
	starts := map[int64]scenes.Transition{}
	for _, t := range r.Scenes.Transitions {
		b := t.Start
		if t.Kind.Gradual() {
			b = (t.Start + t.End + 1) / 2
		}
		starts[b] = t
	}
	for i, sc := range r.Scenes.Scenes {
		ps := &visionv1.Scene{Index: int32(i), Range: &commonv1.TimeRange{StartSeconds: sc.StartTime, EndSeconds: sc.EndTime},
			StartFrame: sc.Start, EndFrame: sc.End, Keyframe: sc.Keyframe, Confidence: 1}
		if m, n := r.Quality.Span(sc.StartTime, sc.EndTime); n > 0 {
			ps.ColorTemperatureK = m.ColorTemperature
		}
		if t, ok := starts[sc.Start]; ok && i > 0 {
			ps.Transition = transitions[t.Kind]
			ps.Confidence = min(1, t.Score)
		}
		res.Scenes = append(res.Scenes, ps)
	}
	for _, sec := range r.Seconds {
		ps := &visionv1.SecondStats{Second: int32(sec.Second), MotionEnergy: sec.MotionEnergy,
			Sharpness: sec.Sharpness, Colorfulness: sec.Colorfulness, Contrast: sec.Contrast, Brightness: sec.Brightness,
			Faces: int32(sec.Faces), LargestFaceFraction: sec.LargestFace, People: int32(sec.People)}
		// analysis.Second copies the quality means it shows; the colour
		// temperature is read from the quality result of the same second.
		if sec.Second >= 0 && sec.Second < len(r.Quality.Seconds) {
			ps.ColorTemperatureK = r.Quality.Seconds[sec.Second].ColorTemperature
		}
		res.Seconds = append(res.Seconds, ps)
	}
	q := r.Quality.Summary
	res.Quality = &visionv1.QualitySummary{Mean: metrics(q.Mean), Min: metrics(q.Min), Max: metrics(q.Max), Frames: int32(q.Frames)}
	for _, t := range r.FaceTracks {
		res.FaceTracks = append(res.FaceTracks, faceTrack(t, float64(r.Width), float64(r.Height)))
	}
	for _, l := range r.Text {
		res.Text = append(res.Text, &visionv1.OnScreenText{SceneIndex: int32(l.Scene), Seconds: l.Time, Text: l.Text,
			X: l.X, Y: l.Y, Width: l.W, Height: l.H, Confidence: l.Confidence})
	}
	for _, p := range r.Subject {
		res.SubjectPoints = append(res.SubjectPoints, &visionv1.SubjectPoint{Seconds: p.Time, X: p.X, Y: p.Y})
	}
	return res
}

func faceTrack(t faces.Track, w, h float64) *visionv1.FaceTrack {
	ft := &visionv1.FaceTrack{TrackId: int32(t.ID), SceneIndex: int32(t.Scene),
		Range: &commonv1.TimeRange{StartSeconds: t.Start, EndSeconds: t.End}, MeanSizeFraction: t.MeanSizeFraction,
		ScreenTimeSeconds: t.ScreenTime, Score: t.Score, Detections: int32(t.Detections),
		EyesVisibleFraction: t.EyesVisibleFraction, CenterX: t.CenterX, CenterY: t.CenterY,
		EyesConfirmedFraction: t.EyesConfirmedFraction, EyesChecked: int32(t.EyesChecked),
		EyesOpenFraction: t.EyesOpenFraction, EyeContactFraction: t.EyeContactFraction, MeshSamples: int32(t.MeshSamples)}
	if t.EmotionSamples > 0 {
		top, _ := emotion.Scores(t.Emotion).Top()
		ft.Emotion = emotion.Labels[top]
		for k, p := range t.Emotion {
			ft.Emotions = append(ft.Emotions, &visionv1.EmotionScore{Label: emotion.Labels[k], Probability: float64(p)})
		}
	}
	for _, d := range t.Samples {
		b := d.Face.Box
		s := &visionv1.FaceSample{Seconds: d.Time, X: b.Min.X / max(1, w), Y: b.Min.Y / max(1, h),
			Width: (b.Max.X - b.Min.X) / max(1, w), Height: (b.Max.Y - b.Min.Y) / max(1, h),
			EyesOpenness: d.Openness, EyeContact: d.EyeContact, EyesConfirmed: d.Eyes == faces.EyesConfirmed}
		if d.HasEmotion {
			top, p := emotion.Scores(d.Emotion).Top()
			s.Emotion, s.EmotionProbability = emotion.Labels[top], float64(p)
		}
		ft.Samples = append(ft.Samples, s)
	}
	return ft
}

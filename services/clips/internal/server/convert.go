package server

import (
	"math"
	"strings"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	visionv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/vision/v1"
	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/clipjob"
	"github.com/clipmesh/clipmesh/services/clips/internal/selection"
)

// inputFrom converts the request's modality results into selection's input.
func inputFrom(req *clipsv1.RenderRequest, dur float64) selection.Input {
	in := selection.Input{Duration: dur}
	for _, m := range req.GetMoments() {
		sm := selection.Moment{Start: m.GetRange().GetStartSeconds(), End: m.GetRange().GetEndSeconds(), Score: m.GetScore()}
		for _, f := range []struct {
			name   string
			v      float64
			detail string
		}{
			{"hook", m.GetHook(), "how strongly the first seconds grab (analytics)"},
			{"completeness", m.GetCompleteness(), "1 for a whole thought (analytics)"},
			{"peak", m.GetPeak(), "highest engagement inside (analytics)"},
			{"mean", m.GetMean(), "mean engagement inside (analytics)"},
			{"pacing", m.GetPacing(), "1 minus the longest dead stretch over the length (analytics)"},
		} {
			if f.v != 0 {
				sm.Factors = append(sm.Factors, selection.Factor{Name: f.name, Value: f.v, Detail: f.detail})
			}
		}
		if rs := m.GetReasons(); len(rs) > 0 {
			sm.Factors = append(sm.Factors, selection.Factor{Name: "reasons", Value: float64(len(rs)), Detail: strings.Join(rs, ", ")})
		}
		in.Moments = append(in.Moments, sm)
	}
	for _, seg := range req.GetTranscript().GetSegments() {
		for _, w := range seg.GetWords() {
			in.Words = append(in.Words, selection.Word{Start: w.GetRange().GetStartSeconds(), End: w.GetRange().GetEndSeconds(), Text: w.GetText()})
		}
	}
	for i, sc := range req.GetVision().GetScenes() {
		if i > 0 || sc.GetRange().GetStartSeconds() > 0 {
			in.Cuts = append(in.Cuts, sc.GetRange().GetStartSeconds())
		}
	}
	text := req.GetText()
	for _, k := range text.GetKeywords() {
		in.Keywords = append(in.Keywords, selection.Keyword{Text: k.GetText(), Score: k.GetScore()})
	}
	for _, t := range text.GetTopics() {
		in.Topics = append(in.Topics, selection.Topic{Label: t.GetLabel(), Score: t.GetScore()})
	}
	for _, seg := range text.GetSegments() {
		st, en := seg.GetRange().GetStartSeconds(), seg.GetRange().GetEndSeconds()
		if en <= st {
			continue // untimed: the whole-text lists already hold it
		}
		for _, k := range seg.GetKeywords() {
			in.Keywords = append(in.Keywords, selection.Keyword{Text: k.GetText(), Score: k.GetScore(), Start: st, End: en})
		}
		for _, t := range seg.GetTopics() {
			in.Topics = append(in.Topics, selection.Topic{Label: t.GetLabel(), Score: t.GetScore(), Start: st, End: en})
		}
	}
	return in
}

// wordsNear returns the words within a second of [start, end) as caption
// words (the rest of the transcript is not needed to render the clip).
func wordsNear(words []selection.Word, start, end float64) []captions.Word {
	var out []captions.Word
	for _, w := range words {
		if w.End >= start-1 && w.Start <= end+1 {
			out = append(out, captions.Word{Start: w.Start, End: w.End, Text: w.Text})
		}
	}
	return out
}

func cutsIn(cuts []float64, start, end float64) []float64 {
	var out []float64
	for _, c := range cuts {
		if c > start && c < end {
			out = append(out, c)
		}
	}
	return out
}

// tracks returns the subject paths vision found around [start, end): the
// subject points first, then, when another face is on screen at the same
// time, that face (so reframing can tell two subjects far apart and pad).
func tracks(v *visionv1.VisionResult, start, end float64) [][]clipjob.Point {
	var main []clipjob.Point
	for _, p := range v.GetSubjectPoints() {
		if p.GetSeconds() >= start-1 && p.GetSeconds() <= end+1 {
			main = append(main, clipjob.Point{T: p.GetSeconds(), X: p.GetX(), Y: p.GetY()})
		}
	}
	if len(main) == 0 {
		return nil
	}
	out := [][]clipjob.Point{main}
	// The face track farthest from the subject, among those overlapping
	// the clip for at least a second.
	var best *visionv1.FaceTrack
	bestD := 0.0
	for _, f := range v.GetFaceTracks() {
		fs, fe := max(f.GetRange().GetStartSeconds(), start), min(f.GetRange().GetEndSeconds(), end)
		if fe-fs < 1 {
			continue
		}
		mid := (fs + fe) / 2
		if d := math.Abs(f.GetCenterX() - xAt(main, mid)); d > bestD {
			best, bestD = f, d
		}
	}
	if best != nil && bestD > 0 {
		fs, fe := max(best.GetRange().GetStartSeconds(), start), min(best.GetRange().GetEndSeconds(), end)
		out = append(out, []clipjob.Point{{T: fs, X: best.GetCenterX(), Y: best.GetCenterY()}, {T: fe, X: best.GetCenterX(), Y: best.GetCenterY()}})
	}
	return out
}

// xAt is the track's x nearest in time to t.
func xAt(track []clipjob.Point, t float64) float64 {
	best, bd := track[0].X, math.Inf(1)
	for _, p := range track {
		if d := math.Abs(p.T - t); d < bd {
			best, bd = p.X, d
		}
	}
	return best
}

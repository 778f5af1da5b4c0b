package server

import (
	"context"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/emotion"
	"github.com/clipmesh/clipmesh/platform/ort/facemesh"
	"github.com/clipmesh/clipmesh/platform/ort/nanodet"
	"github.com/clipmesh/clipmesh/platform/ort/ppocr"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
)

// useExtras sets the optional models of opts that load; the face models
// only when faces are detected. A model that does not load is logged and
// reported by extraProducers.
func (s *Server) useExtras(ctx context.Context, opts *analysis.Options, withFaces bool) {
	if s.Extras == nil {
		return
	}
	if withFaces {
		if m, err := s.Extras.Emotion(); err == nil {
			opts.Emotions = m
		} else {
			s.Logger.WarnContext(ctx, "analysing without facial expressions", "err", err)
		}
		if m, err := s.Extras.Mesh(); err == nil {
			opts.Mesh = m
		} else {
			s.Logger.WarnContext(ctx, "analysing without face mesh", "err", err)
		}
	}
	if m, err := s.Extras.People(); err == nil {
		opts.People = m
	} else {
		s.Logger.WarnContext(ctx, "analysing without person boxes", "err", err)
	}
	if m, err := s.Extras.OCR(); err == nil {
		opts.Text = m
	} else {
		s.Logger.WarnContext(ctx, "analysing without on-screen text", "err", err)
	}
}

// extraProducers names the optional models, flagging those that did not
// run and why.
func (s *Server) extraProducers(_ context.Context, faceErr error) []*commonv1.Producer {
	v := "onnxruntime " + ort.Version()
	type entry struct {
		engine, model, note string
		load                func() error
		needsFaces          bool
	}
	var out []*commonv1.Producer
	for _, e := range []entry{
		{"mini-xception", emotion.ModelName, "7 expressions per face sample", func() error { _, err := s.Extras.Emotion(); return err }, true},
		{"mediapipe-facemesh", facemesh.MeshModelName + "+" + facemesh.IrisModelName, "eye openness and eye contact per face sample", func() error { _, err := s.Extras.Mesh(); return err }, true},
		{"nanodet", nanodet.ModelName, "person boxes at 1 fps; the subject follows the main person when no face is seen", func() error { _, err := s.Extras.People(); return err }, false},
		{"pp-ocrv4", ppocr.DetModelName + "+" + ppocr.RecModelName, "text on scene keyframes, re-decoded at up to 1280 px", func() error { _, err := s.Extras.OCR(); return err }, false},
	} {
		p := &commonv1.Producer{Engine: e.engine, Model: e.model, Version: v, Note: e.note}
		switch {
		case s.Extras == nil:
			p.Fallback, p.Note = true, "not run: no model engine configured"
		case e.needsFaces && faceErr != nil:
			p.Fallback, p.Note = true, "not run: no face detector"
		default:
			if err := e.load(); err != nil {
				p.Fallback, p.Note = true, "not run: "+faceNote(err)
			}
		}
		out = append(out, p)
	}
	return out
}

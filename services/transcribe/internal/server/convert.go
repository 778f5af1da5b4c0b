package server

import (
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

func producerToProto(p engine.Producer) *commonv1.Producer {
	return &commonv1.Producer{Engine: p.Engine, Model: p.Model, Version: p.Version, Fallback: p.Fallback, Note: p.Note}
}

func producerFromProto(p *commonv1.Producer) engine.Producer {
	return engine.Producer{Engine: p.GetEngine(), Model: p.GetModel(), Version: p.GetVersion(), Fallback: p.GetFallback(), Note: p.GetNote()}
}

func rng(start, end float64) *commonv1.TimeRange {
	return &commonv1.TimeRange{StartSeconds: start, EndSeconds: end}
}

// toProto converts a domain transcript.
func toProto(t *engine.Transcript, videoID string, src transcribev1.TranscriptSource) *transcribev1.Transcript {
	out := &transcribev1.Transcript{
		Producer:            producerToProto(t.Producer),
		Language:            t.Language,
		LanguageProbability: t.LanguageProbability,
		EmptyReason:         t.Reason,
		DurationSeconds:     t.Duration,
		Source:              src,
		VideoId:             videoID,
		Segments:            make([]*transcribev1.Segment, 0, len(t.Segments)),
	}
	for _, p := range t.Producers {
		out.Producers = append(out.Producers, producerToProto(p))
	}
	for _, s := range t.Segments {
		ps := &transcribev1.Segment{Range: rng(s.Start, s.End), Text: s.Text, Words: make([]*transcribev1.Word, 0, len(s.Words))}
		for _, w := range s.Words {
			ps.Words = append(ps.Words, &transcribev1.Word{Range: rng(w.Start, w.End), Text: w.Text, Confidence: w.Confidence, Approximate: w.Approximate})
		}
		out.Segments = append(out.Segments, ps)
	}
	return out
}

// fromProto converts a stored transcript back to the domain one (for
// rendering).
func fromProto(t *transcribev1.Transcript) *engine.Transcript {
	out := &engine.Transcript{
		Language: t.GetLanguage(), LanguageProbability: t.GetLanguageProbability(), Duration: t.GetDurationSeconds(),
		Producer: producerFromProto(t.GetProducer()), Reason: t.GetEmptyReason(),
	}
	for _, p := range t.GetProducers() {
		out.Producers = append(out.Producers, producerFromProto(p))
	}
	for _, s := range t.GetSegments() {
		ds := engine.Segment{Start: s.GetRange().GetStartSeconds(), End: s.GetRange().GetEndSeconds(), Text: s.GetText()}
		for _, w := range s.GetWords() {
			ds.Words = append(ds.Words, engine.Word{
				Start: w.GetRange().GetStartSeconds(), End: w.GetRange().GetEndSeconds(),
				Text: w.GetText(), Confidence: w.GetConfidence(), Approximate: w.GetApproximate(),
			})
		}
		out.Segments = append(out.Segments, ds)
	}
	return out
}

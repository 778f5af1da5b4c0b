// Package clipjob renders one clip from a Spec into a folder of files: the
// MP4 (reframed, captions burned in), a JPEG thumbnail, SRT and WebVTT
// captions, a CMX3600 EDL and an FCPXML. A Spec holds everything needed, so
// a render interrupted by a crash can be redone from the stored Spec alone.
package clipjob

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/clipmesh/clipmesh/services/clips/internal/captions"
	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
	"github.com/clipmesh/clipmesh/services/clips/internal/presets"
	"github.com/clipmesh/clipmesh/services/clips/internal/reframe"
	"github.com/clipmesh/clipmesh/services/clips/internal/render"
)

// Point is a subject position at T source seconds, normalised to the frame
// (0..1 from the left and the top), so a Spec does not depend on the
// source's pixel size.
type Point struct {
	T, X, Y float64
}

// Spec is one clip to render.
type Spec struct {
	// SourceKey is the source video's blob key; SourceName is the name an
	// editor sees in the EDL and FCPXML.
	SourceKey  string `json:"source_key"`
	SourceName string `json:"source_name"`
	// Start and End are the clip's range in source seconds.
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Preset, Aspect ("" for the preset's) and CaptionStyle ("" for none).
	Preset       string `json:"preset"`
	Aspect       string `json:"aspect,omitempty"`
	CaptionStyle string `json:"caption_style,omitempty"`
	// Title names the clip in the edit lists.
	Title string `json:"title"`
	// Words are the transcript words (source seconds) around the clip.
	Words []captions.Word `json:"words,omitempty"`
	// Tracks are subject paths, main subject first (may be empty).
	Tracks [][]Point `json:"tracks,omitempty"`
	// Cuts are the scene cuts in source seconds.
	Cuts []float64 `json:"cuts,omitempty"`
	// ThumbnailAt is the thumbnail time from the clip start (0: middle).
	ThumbnailAt float64 `json:"thumbnail_at,omitempty"`
}

// Validate checks what can be checked without the source.
func (s Spec) Validate() error {
	p, err := presets.Lookup(s.Preset)
	if err != nil {
		return err
	}
	if s.Aspect != "" {
		if _, err := presets.ParseAspect(s.Aspect); err != nil {
			return err
		}
	}
	if s.CaptionStyle != "" {
		if _, err := captions.ParseStyle(s.CaptionStyle); err != nil {
			return err
		}
	}
	switch {
	case math.IsNaN(s.Start) || math.IsInf(s.Start, 0) || s.Start < 0:
		return inputerr.New("start", fmt.Sprint(s.Start), "must be >= 0")
	case math.IsNaN(s.End) || math.IsInf(s.End, 0) || s.End <= s.Start:
		return inputerr.New("end", fmt.Sprint(s.End), "must be after start (zero or negative length)")
	case s.End-s.Start > p.MaxLength.Seconds():
		return inputerr.New("end", fmt.Sprint(s.End), fmt.Sprintf("clip is %.1f s, longer than %s allows (%.0f s)", s.End-s.Start, p.Name, p.MaxLength.Seconds()))
	}
	return nil
}

// Files are the rendered files, each a path in the output folder ("" when
// not made: no captions without words).
type Files struct {
	Video, Thumbnail, SRT, VTT, EDL, FCPXML string
	// Reframe says how the frame was filled, e.g. "crop" or "pad: no
	// subject".
	Reframe string
	// Width and Height are the output frame size.
	Width, Height int
}

// Options tune a render.
type Options struct {
	// Speed is the x264 preset (default render's).
	Speed string
	// Progress receives the fraction done.
	Progress func(float64)
}

// Run renders spec from the source file at source into dir.
func Run(ctx context.Context, spec Spec, source, dir string, opt Options) (Files, error) {
	if err := spec.Validate(); err != nil {
		return Files{}, err
	}
	info, err := render.Probe(ctx, source)
	if err != nil {
		return Files{}, err
	}
	if !info.HasVideo {
		return Files{}, inputerr.New("video_id", spec.SourceName, "has no video stream")
	}
	preset, _ := presets.Lookup(spec.Preset)
	aspect := preset.Aspect
	if spec.Aspect != "" {
		aspect, _ = presets.ParseAspect(spec.Aspect)
	}
	w, h := preset.Size(aspect)
	files := Files{Width: w, Height: h}
	plan, err := Plan(spec, info, aspect)
	if err != nil {
		return Files{}, err
	}
	files.Reframe = "crop"
	if plan.Mode == reframe.ModePad {
		files.Reframe = "pad: " + plan.Reason
	} else if len(spec.Tracks) == 0 {
		files.Reframe = "crop: centred, no subject track"
	}

	cues, err := captions.Cues(spec.Words, spec.Start, spec.End, captions.Options{})
	if err != nil {
		return Files{}, err
	}
	job := render.Job{Source: source, Start: spec.Start, End: spec.End, Preset: spec.Preset, Aspect: spec.Aspect,
		Layout: &plan, Output: filepath.Join(dir, "clip.mp4"), Thumbnail: filepath.Join(dir, "thumbnail.jpg"),
		ThumbnailAt: spec.ThumbnailAt, Speed: opt.Speed, Progress: opt.Progress}
	if len(cues) > 0 {
		files.SRT, files.VTT = filepath.Join(dir, "captions.srt"), filepath.Join(dir, "captions.vtt")
		if err := writeFile(files.SRT, func(f *os.File) error { return captions.WriteSRT(f, cues) }); err != nil {
			return Files{}, err
		}
		if err := writeFile(files.VTT, func(f *os.File) error { return captions.WriteVTT(f, cues) }); err != nil {
			return Files{}, err
		}
		if spec.CaptionStyle != "" {
			st, _ := captions.ParseStyle(spec.CaptionStyle)
			job.ASSPath = filepath.Join(dir, "captions.ass")
			if err := captions.WriteASSFile(job.ASSPath, cues, st, captions.ASSOptions{Width: w, Height: h}); err != nil {
				return Files{}, err
			}
		}
	}
	edit := render.NewEdit(spec.Title, spec.SourceName, spec.Start, spec.End, info)
	files.EDL, files.FCPXML = filepath.Join(dir, "clip.edl"), filepath.Join(dir, "clip.fcpxml")
	if err := writeFile(files.EDL, func(f *os.File) error { return render.WriteEDL(f, edit) }); err != nil {
		return Files{}, err
	}
	if err := writeFile(files.FCPXML, func(f *os.File) error { return render.WriteFCPXML(f, edit) }); err != nil {
		return Files{}, err
	}
	res, err := render.Render(ctx, job)
	if err != nil {
		return Files{}, err
	}
	files.Video, files.Thumbnail = res.Output, res.Thumbnail
	return files, nil
}

// Plan is the reframing plan of spec on a source described by info.
func Plan(spec Spec, info render.Info, aspect presets.Aspect) (reframe.Plan, error) {
	if len(spec.Tracks) == 0 {
		return reframe.Center(info.Width, info.Height, aspect, spec.End-spec.Start), nil
	}
	tracks := make([][]reframe.Point, 0, len(spec.Tracks))
	for _, tr := range spec.Tracks {
		pts := make([]reframe.Point, 0, len(tr))
		for _, p := range tr {
			pts = append(pts, reframe.Point{T: p.T, X: p.X * float64(info.Width), Y: p.Y * float64(info.Height)})
		}
		if len(pts) > 0 {
			tracks = append(tracks, pts)
		}
	}
	if len(tracks) == 0 {
		return reframe.Center(info.Width, info.Height, aspect, spec.End-spec.Start), nil
	}
	return reframe.New(reframe.Input{SrcW: info.Width, SrcH: info.Height, Aspect: aspect,
		Start: spec.Start, End: spec.End, Tracks: tracks, Cuts: spec.Cuts})
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("clipjob: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("clipjob: write %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

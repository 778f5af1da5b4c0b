package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"sort"

	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/services/vision/internal/cv"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
	"github.com/clipmesh/clipmesh/services/vision/internal/motion"
	"github.com/clipmesh/clipmesh/services/vision/internal/quality"
	"github.com/clipmesh/clipmesh/services/vision/internal/scenes"
	"github.com/clipmesh/clipmesh/services/vision/internal/subject"
)

// ErrLimit is wrapped when a video is over the configured limits; the
// message names the limit.
var ErrLimit = errors.New("video over the limits")

// Limits refuse absurd inputs before decoding; zero fields are unlimited.
type Limits struct {
	MaxWidth, MaxHeight int
	MaxSeconds          float64
}

// FaceDetector finds faces in an image, best first.
type FaceDetector interface {
	Detect(img image.Image) ([]blazeface.Face, error)
}

// EyeChecker confirms a face's eyes (faces.EyeConfirmer).
type EyeChecker interface {
	Check(gray []byte, w, h int, f blazeface.Face) (faces.EyeCheck, error)
}

// Options configures a run.
type Options struct {
	Decode frames.Options // FFmpeg, FFprobe binaries; size and rate are set here
	Limits Limits
	// Width is the analysis width (default 320).
	Width int
	// SampleFPS is the rate of motion, quality and subject (default 5).
	SampleFPS float64
	// FaceFPS is the rate of face detection (default 2).
	FaceFPS float64
	// Faces is nil to skip face detection.
	Faces FaceDetector
	// Eyes, if set, checks the eyes of every face found.
	Eyes EyeChecker
	// Thumbnails keeps candidate frames and picks one per scene.
	Thumbnails bool
	// Progress is called with frames done and the expected total (0 when
	// unknown).
	Progress func(done, total int64)
	// OnTransition, if set, is called from the decoding goroutine with
	// each shot boundary as soon as it is settled (scenes.Detector.Poll),
	// in order, while decoding goes on. The final Result.Scenes may add
	// boundaries near the end that had not settled.
	OnTransition func(scenes.Transition)
}

// Second is one second of the per-second series.
type Second struct {
	Second                                        int
	MotionEnergy                                  float64
	Sharpness, Colorfulness, Contrast, Brightness float64
	Faces                                         int
	LargestFace                                   float64
}

// Thumbnail is a scene's best frame, JPEG-encoded at the analysis size.
type Thumbnail struct {
	Scene int
	Index int64
	Time  float64
	JPEG  []byte
	// HasFace and Sharpness are what made it best.
	HasFace   bool
	Sharpness float64
}

// Result is the visual analysis of one file.
type Result struct {
	Info          frames.Info
	FPS           float64
	Width, Height int
	Frames        int64
	// Stopped is non-empty when decoding broke part-way: why and where.
	Stopped    string
	Scenes     scenes.Result
	Motion     motion.Result
	Quality    quality.Result
	Subject    []subject.Point
	FaceTracks []faces.Track
	Seconds    []Second
	Thumbnails []Thumbnail
	FacesRun   bool
}

type candidate struct {
	index   int64
	time    float64
	hasFace bool
	sharp   float64
	jpeg    []byte
}

func better(a, b candidate) bool {
	if a.hasFace != b.hasFace {
		return a.hasFace
	}
	return a.sharp > b.sharp
}

// Run analyses path.
func Run(ctx context.Context, path string, o Options) (*Result, error) {
	if o.Width <= 0 {
		o.Width = 320
	}
	if o.SampleFPS <= 0 {
		o.SampleFPS = 5
	}
	if o.FaceFPS <= 0 {
		o.FaceFPS = 2
	}
	info, err := frames.Probe(ctx, path, o.Decode)
	if err != nil {
		return nil, err
	}
	if err := o.Limits.check(info); err != nil {
		return nil, err
	}
	fps := info.FPS
	if fps <= 0 || math.IsInf(fps, 0) || fps > 240 {
		fps = 25 // unknown or absurd rate: resample
	}
	dopts := o.Decode
	dopts.Width, dopts.Height, dopts.FPS, dopts.Format, dopts.Probed = min(o.Width, max(2, info.Width)), 0, fps, frames.RGB24, &info
	step := max(1, int(math.Round(fps/o.SampleFPS)))
	faceStep := max(1, int(math.Round(fps/o.FaceFPS)))

	sd := scenes.New(fps, scenes.Options{})
	ma := motion.New(fps, motion.Options{Step: step})
	qa := quality.New(step)
	st := subject.New(fps, subject.Options{Step: step})
	var ft *faces.Tracker
	res := &Result{Info: info, FPS: fps, FacesRun: o.Faces != nil}
	type faceSec struct {
		n       int
		largest float64
	}
	var faceSecs []faceSec
	type faceAt struct {
		t    float64
		x, y float64
	}
	var faceCentres []faceAt
	cands := map[int]candidate{} // best per second
	var rgba *image.RGBA
	var gray []byte
	total := info.Frames
	if total <= 0 && info.DurationSeconds > 0 {
		total = int64(math.Ceil(info.DurationSeconds * fps))
	}

	faceSink := func(f *frames.Frame) error {
		if f.Index%int64(faceStep) != 0 || (o.Faces == nil && !o.Thumbnails) {
			return nil
		}
		if rgba == nil {
			rgba = image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
			ft = faces.NewTracker(f.Width, f.Height, float64(faceStep)/fps, faces.Options{})
		}
		for i, j := 0, 0; i < len(f.Pix); i, j = i+3, j+4 {
			rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = f.Pix[i], f.Pix[i+1], f.Pix[i+2], 255
		}
		var found []blazeface.Face
		if o.Faces != nil {
			var err error
			if found, err = o.Faces.Detect(rgba); err != nil {
				return fmt.Errorf("face detection: %w", err)
			}
			var checks []faces.EyeCheck
			if o.Eyes != nil && len(found) > 0 {
				gray = f.Gray(gray)
				for _, fc := range found {
					c, err := o.Eyes.Check(gray, f.Width, f.Height, fc)
					if err != nil {
						return err
					}
					checks = append(checks, c)
				}
			}
			ft.AddChecked(f.Index, f.Time, found, checks)
			sec := int(f.Time)
			for len(faceSecs) <= sec {
				faceSecs = append(faceSecs, faceSec{})
			}
			fs := &faceSecs[sec]
			fs.n = max(fs.n, len(found))
			bestArea := -1.0
			var bx, by float64
			for _, fc := range found {
				a := ft.Fraction(fc.Box)
				fs.largest = max(fs.largest, a)
				if a > bestArea {
					bestArea = a
					bx = (fc.Box.Min.X + fc.Box.Max.X) / 2 / float64(f.Width)
					by = (fc.Box.Min.Y + fc.Box.Max.Y) / 2 / float64(f.Height)
				}
			}
			if len(found) > 0 {
				faceCentres = append(faceCentres, faceAt{f.Time, clamp01(bx), clamp01(by)})
			}
		}
		if o.Thumbnails {
			gray = f.Gray(gray)
			sharp, err := cv.LaplacianVariance(gray, f.Width, f.Height)
			if err != nil {
				return err
			}
			c := candidate{index: f.Index, time: f.Time, hasFace: len(found) > 0, sharp: sharp}
			sec := int(f.Time)
			if old, ok := cands[sec]; !ok || better(c, old) {
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: 85}); err != nil {
					return err
				}
				c.jpeg = buf.Bytes()
				cands[sec] = c
			}
		}
		return nil
	}
	progress := func(f *frames.Frame) error {
		if o.Progress != nil {
			o.Progress(f.Index+1, total)
		}
		return nil
	}
	// The probe's duration can be missing or wrong (a stream, a lying
	// header): the length limit holds during decoding too.
	limit := func(f *frames.Frame) error {
		if l := o.Limits.MaxSeconds; l > 0 && f.Time > l {
			return fmt.Errorf("%w: still decoding at %.1f s, the limit is %.0f s", ErrLimit, f.Time, l)
		}
		return nil
	}
	live := func(*frames.Frame) error {
		if o.OnTransition != nil {
			for _, t := range sd.Poll() {
				o.OnTransition(t)
			}
		}
		return nil
	}
	dres, err := frames.Decode(ctx, path, dopts, limit, sd.Add, live, ma.Add, qa.Add, st.Add, faceSink, progress)
	if err != nil {
		if !errors.Is(err, frames.ErrInvalid) || dres.Frames == 0 || ctx.Err() != nil {
			return nil, err
		}
		res.Stopped = err.Error()
	}
	res.Frames, res.Width, res.Height = dres.Frames, dres.Width, dres.Height
	res.Scenes = sd.Finish()
	res.Motion = ma.Finish()
	res.Quality = qa.Finish()
	var starts []int64
	for _, s := range res.Scenes.Scenes {
		starts = append(starts, s.Start)
	}
	if ft != nil && o.Faces != nil {
		res.FaceTracks = ft.Finish(starts)
	}

	// Subject: the main face where one was seen nearby, else the tracker's point.
	for _, p := range st.Points() {
		k := sort.Search(len(faceCentres), func(i int) bool { return faceCentres[i].t >= p.Time-0.5/o.FaceFPS })
		if k < len(faceCentres) && math.Abs(faceCentres[k].t-p.Time) <= 0.5/o.FaceFPS+1e-9 {
			p.X, p.Y = faceCentres[k].x, faceCentres[k].y
		}
		res.Subject = append(res.Subject, p)
	}

	nsec := int(math.Ceil(float64(res.Frames) / fps))
	for s := range nsec {
		sec := Second{Second: s}
		if s < len(res.Motion.Seconds) {
			sec.MotionEnergy = res.Motion.Seconds[s].Energy
		}
		if s < len(res.Quality.Seconds) {
			q := res.Quality.Seconds[s]
			sec.Sharpness, sec.Colorfulness, sec.Contrast, sec.Brightness = q.Sharpness, q.Colorfulness, q.Contrast, q.Brightness
		}
		if s < len(faceSecs) {
			sec.Faces, sec.LargestFace = faceSecs[s].n, faceSecs[s].largest
		}
		res.Seconds = append(res.Seconds, sec)
	}

	if o.Thumbnails {
		res.Thumbnails = pickThumbnails(res.Scenes.Scenes, cands)
	}
	return res, nil
}

// pickThumbnails chooses, per scene, the best candidate inside it, or the
// candidate nearest its keyframe when none is inside (a very short scene).
func pickThumbnails(ss []scenes.Scene, cands map[int]candidate) []Thumbnail {
	if len(cands) == 0 {
		return nil
	}
	var all []candidate
	for _, c := range cands {
		all = append(all, c)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].index < all[j].index })
	var out []Thumbnail
	for i, s := range ss {
		var best *candidate
		for k := range all {
			c := &all[k]
			if c.index >= s.Start && c.index < s.End && (best == nil || better(*c, *best)) {
				best = c
			}
		}
		if best == nil {
			for k := range all {
				c := &all[k]
				if best == nil || absInt(c.index-s.Keyframe) < absInt(best.index-s.Keyframe) {
					best = c
				}
			}
		}
		out = append(out, Thumbnail{Scene: i, Index: best.index, Time: best.time, JPEG: best.jpeg, HasFace: best.hasFace, Sharpness: best.sharp})
	}
	return out
}

func (l Limits) check(info frames.Info) error {
	if l.MaxWidth > 0 && info.Width > l.MaxWidth {
		return fmt.Errorf("%w: width %d px, the limit is %d px", ErrLimit, info.Width, l.MaxWidth)
	}
	if l.MaxHeight > 0 && info.Height > l.MaxHeight {
		return fmt.Errorf("%w: height %d px, the limit is %d px", ErrLimit, info.Height, l.MaxHeight)
	}
	if l.MaxSeconds > 0 && info.DurationSeconds > l.MaxSeconds {
		return fmt.Errorf("%w: %.1f s long, the limit is %.0f s", ErrLimit, info.DurationSeconds, l.MaxSeconds)
	}
	return nil
}

func absInt(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

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
	"strings"

	"github.com/clipmesh/clipmesh/platform/ort/blazeface"
	"github.com/clipmesh/clipmesh/platform/ort/emotion"
	"github.com/clipmesh/clipmesh/platform/ort/facemesh"
	"github.com/clipmesh/clipmesh/platform/ort/nanodet"
	"github.com/clipmesh/clipmesh/platform/ort/ppocr"
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

// EmotionClassifier scores facial expressions (emotion.Classifier).
type EmotionClassifier interface {
	Classify(img image.Image, faces []image.Rectangle) ([]emotion.Scores, error)
}

// FaceMesher measures eyes and gaze (facemesh.Mesher).
type FaceMesher interface {
	Analyze(img image.Image, box image.Rectangle) (facemesh.Result, error)
}

// PersonDetector finds objects, persons among them (nanodet.Detector).
type PersonDetector interface {
	Detect(img image.Image) ([]nanodet.Object, error)
}

// TextReader reads text in an image (ppocr.Reader).
type TextReader interface {
	Read(img image.Image) ([]ppocr.Line, error)
}

// TextLine is a line of on-screen text read on a scene's keyframe.
type TextLine struct {
	Scene int
	Time  float64
	Text  string
	// X, Y, W, H is the box as fractions of the frame.
	X, Y, W, H float64
	Confidence float64
}

// MaxTextFrames bounds the keyframes read for text: each is one extra
// seek-and-decode at up to TextWidth pixels.
const MaxTextFrames = 60

// TextWidth is the widest keyframe given to OCR: captions need more
// pixels than the shared analysis decode has.
const TextWidth = 1280

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
	// PeopleFPS is the rate of person detection (default 1; at most
	// FaceFPS, on face-sampled frames): NanoDet costs several times
	// BlazeFace, and people move slower than a 1 s grid matters for.
	PeopleFPS float64
	// Faces is nil to skip face detection.
	Faces FaceDetector
	// Eyes, if set, checks the eyes of every face found.
	Eyes EyeChecker
	// Emotions, Mesh and People, if set, run on every face-sampled frame
	// (per face for the first two); Text on each scene's keyframe.
	Emotions EmotionClassifier
	Mesh     FaceMesher
	People   PersonDetector
	Text     TextReader
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
	// People is the largest number of persons in one sampled frame.
	People int
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
	// Text is the on-screen text of the keyframes (with Options.Text).
	Text []TextLine
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
	if o.PeopleFPS <= 0 {
		o.PeopleFPS = 1
	}
	o.PeopleFPS = min(o.PeopleFPS, o.FaceFPS)
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
	peopleEvery := int64(max(1, int(math.Round(o.FaceFPS/o.PeopleFPS)))) // in face-sampled frames

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
	var faceCentres, personCentres []faceAt
	var peopleSecs []int
	cands := map[int]candidate{} // best per second
	var rgba *image.RGBA
	var gray []byte
	total := info.Frames
	if total <= 0 && info.DurationSeconds > 0 {
		total = int64(math.Ceil(info.DurationSeconds * fps))
	}

	faceSink := func(f *frames.Frame) error {
		if f.Index%int64(faceStep) != 0 || (o.Faces == nil && o.People == nil && !o.Thumbnails) {
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
			extra, err := faceExtras(o, rgba, f, found, &gray)
			if err != nil {
				return err
			}
			ft.AddChecked(f.Index, f.Time, found, extra)
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
		if o.People != nil && (f.Index/int64(faceStep))%peopleEvery == 0 {
			objs, err := o.People.Detect(rgba)
			if err != nil {
				return fmt.Errorf("person detection: %w", err)
			}
			n, best := 0, -1.0
			var px, py float64
			for _, ob := range objs {
				if ob.Class != nanodet.Person {
					continue
				}
				n++
				// Follow the largest person's head: the top fifth of the box.
				if a := (ob.Box.X1 - ob.Box.X0) * (ob.Box.Y1 - ob.Box.Y0); a > best {
					best = a
					px = (ob.Box.X0 + ob.Box.X1) / 2 / float64(f.Width)
					py = (ob.Box.Y0 + 0.2*(ob.Box.Y1-ob.Box.Y0)) / float64(f.Height)
				}
			}
			sec := int(f.Time)
			for len(peopleSecs) <= sec {
				peopleSecs = append(peopleSecs, 0)
			}
			peopleSecs[sec] = max(peopleSecs[sec], n)
			if n > 0 {
				personCentres = append(personCentres, faceAt{f.Time, clamp01(px), clamp01(py)})
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

	// Subject: the main face where one was seen nearby, else the main
	// person's head, else the tracker's point.
	near := func(cs []faceAt, t, rate float64) (faceAt, bool) {
		k := sort.Search(len(cs), func(i int) bool { return cs[i].t >= t-0.5/rate })
		if k < len(cs) && math.Abs(cs[k].t-t) <= 0.5/rate+1e-9 {
			return cs[k], true
		}
		return faceAt{}, false
	}
	for _, p := range st.Points() {
		if c, ok := near(faceCentres, p.Time, o.FaceFPS); ok {
			p.X, p.Y = c.x, c.y
		} else if c, ok := near(personCentres, p.Time, o.PeopleFPS); ok {
			p.X, p.Y = c.x, c.y
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
		if s < len(peopleSecs) {
			sec.People = peopleSecs[s]
		}
		res.Seconds = append(res.Seconds, sec)
	}

	if o.Thumbnails {
		res.Thumbnails = pickThumbnails(res.Scenes.Scenes, cands)
	}
	if o.Text != nil {
		if res.Text, err = readText(ctx, path, o, info, fps, res.Scenes.Scenes); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// faceExtras runs the eye cascade, the expression model and the face mesh
// on the faces found in frame f (rgba is f as an image).
func faceExtras(o Options, rgba *image.RGBA, f *frames.Frame, found []blazeface.Face, gray *[]byte) ([]faces.Extra, error) {
	if len(found) == 0 || (o.Eyes == nil && o.Emotions == nil && o.Mesh == nil) {
		return nil, nil
	}
	extra := make([]faces.Extra, len(found))
	rects := make([]image.Rectangle, len(found))
	for i, fc := range found {
		rects[i] = image.Rect(int(fc.Box.Min.X), int(fc.Box.Min.Y), int(math.Ceil(fc.Box.Max.X)), int(math.Ceil(fc.Box.Max.Y))).Intersect(rgba.Rect)
	}
	if o.Eyes != nil {
		*gray = f.Gray(*gray)
		for i, fc := range found {
			c, err := o.Eyes.Check(*gray, f.Width, f.Height, fc)
			if err != nil {
				return nil, err
			}
			extra[i].Eyes = c
		}
	}
	if o.Emotions != nil {
		scores, err := o.Emotions.Classify(rgba, rects)
		if err != nil {
			return nil, fmt.Errorf("facial expression: %w", err)
		}
		for i := range min(len(scores), len(extra)) {
			extra[i].Emotion, extra[i].HasEmotion = scores[i], true
		}
	}
	if o.Mesh != nil {
		for i, r := range rects {
			if r.Empty() {
				continue
			}
			m, err := o.Mesh.Analyze(rgba, r)
			if err != nil {
				return nil, fmt.Errorf("face mesh: %w", err)
			}
			extra[i].Openness = (m.Right.Openness + m.Left.Openness) / 2
			extra[i].EyeContact, extra[i].HasMesh = m.EyeContact, true
		}
	}
	return extra, nil
}

// readText reads the text on each scene's keyframe (at most MaxTextFrames
// scenes, evenly spread), decoded again at up to TextWidth pixels.
func readText(ctx context.Context, path string, o Options, info frames.Info, fps float64, ss []scenes.Scene) ([]TextLine, error) {
	stride := max(1, (len(ss)+MaxTextFrames-1)/MaxTextFrames)
	var out []TextLine
	dopts := o.Decode
	dopts.Probed = &info
	for i := 0; i < len(ss); i += stride {
		t := float64(ss[i].Keyframe) / fps
		fr, err := frames.Still(ctx, path, t, TextWidth, dopts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue // a keyframe past a break in the file: no text from it
		}
		lines, err := o.Text.Read(fr.RGBA())
		if err != nil {
			return nil, fmt.Errorf("text recognition: %w", err)
		}
		for _, l := range lines {
			if strings.TrimSpace(l.Text) == "" {
				continue
			}
			b := l.Box
			out = append(out, TextLine{Scene: i, Time: t, Text: l.Text, Confidence: float64(l.Confidence),
				X: float64(b.Min.X) / float64(fr.Width), Y: float64(b.Min.Y) / float64(fr.Height),
				W: float64(b.Dx()) / float64(fr.Width), H: float64(b.Dy()) / float64(fr.Height)})
		}
	}
	return out, nil
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

// Command visionanalyze runs the vision service's analysis on a local file
// and prints a JSON summary (scene boundaries, face tracks, decode status):
// the benchmark's (bench/vision) and a debugging entry point, with no mesh.
// With -scenes-only it runs the cut detector alone on the same decode.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/vision/internal/analysis"
	"github.com/clipmesh/clipmesh/services/vision/internal/extras"
	"github.com/clipmesh/clipmesh/services/vision/internal/faces"
	"github.com/clipmesh/clipmesh/services/vision/internal/frames"
	"github.com/clipmesh/clipmesh/services/vision/internal/scenes"
)

func main() {
	scenesOnly := flag.Bool("scenes-only", false, "run only the shot-boundary detector")
	width := flag.Int("width", 320, "analysis width")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: visionanalyze [-scenes-only] [-width N] [-cpuprofile FILE] VIDEO")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "visionanalyze:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var out any
	var err error
	if *scenesOnly {
		out, err = cuts(ctx, flag.Arg(0), *width)
	} else {
		out, err = all(ctx, flag.Arg(0), *width)
	}
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(out)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "visionanalyze:", err)
		os.Exit(1)
	}
}

type boundary struct {
	Kind  string  `json:"kind"`
	Frame int64   `json:"frame"`
	Time  float64 `json:"time"`
}

func boundaries(ts []scenes.Transition) []boundary {
	out := []boundary{}
	for _, t := range ts {
		out = append(out, boundary{t.Kind.String(), t.Boundary(), t.BoundaryTime})
	}
	return out
}

// cuts decodes at the native rate (scenes needs every frame) and runs only
// the scene detector.
func cuts(ctx context.Context, path string, width int) (any, error) {
	info, err := frames.Probe(ctx, path, frames.Options{})
	if err != nil {
		return nil, err
	}
	d := scenes.New(info.FPS, scenes.Options{})
	res, err := frames.Decode(ctx, path, frames.Options{Width: width, Probed: &info}, d.Add)
	if err != nil {
		return nil, err
	}
	return map[string]any{"frames": res.Frames, "fps": res.FPS, "boundaries": boundaries(d.Finish().Transitions)}, nil
}

// all runs the whole analysis, faces and eyes included when the models are
// installed.
func all(ctx context.Context, path string, width int) (any, error) {
	opts := analysis.Options{Width: width, Thumbnails: true}
	dir, err := models.Dir("")
	if err != nil {
		return nil, err
	}
	eng := faces.NewEngine(dir, ort.Options{IntraOpThreads: 1, InterOpThreads: 1})
	defer eng.Close()
	ex := extras.NewEngine(dir, ort.Options{IntraOpThreads: 1, InterOpThreads: 1})
	defer ex.Close()
	facesNote := "blazeface"
	if det, err := eng.Detector(); err == nil {
		opts.Faces = det
		if eyes, err := faces.NewEyeConfirmer(""); err == nil {
			defer eyes.Close()
			opts.Eyes = eyes
		}
		if m, err := ex.Emotion(); err == nil {
			opts.Emotions = m
		}
		if m, err := ex.Mesh(); err == nil {
			opts.Mesh = m
		}
	} else {
		facesNote = "none: " + err.Error()
	}
	if m, err := ex.People(); err == nil {
		opts.People = m
	}
	if m, err := ex.OCR(); err == nil {
		opts.Text = m
	}
	r, err := analysis.Run(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"frames": r.Frames, "fps": r.FPS, "width": r.Width, "height": r.Height, "stopped": r.Stopped,
		"boundaries": boundaries(r.Scenes.Transitions), "face_tracks": len(r.FaceTracks), "faces": facesNote,
		"thumbnails": len(r.Thumbnails), "subject_points": len(r.Subject), "text_lines": len(r.Text),
		"models": map[string]bool{"emotion": opts.Emotions != nil, "mesh": opts.Mesh != nil, "people": opts.People != nil, "ocr": opts.Text != nil},
	}, nil
}

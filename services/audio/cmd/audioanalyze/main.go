// Command audioanalyze runs the audio service's analysis on a local file and
// prints a JSON summary (tempo, beats, onsets, loudness, speech): the
// benchmark's (bench/audio) and a debugging entry point, with no mesh.
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
	"github.com/clipmesh/clipmesh/services/audio/internal/analyze"
	"github.com/clipmesh/clipmesh/services/audio/internal/voice"
)

func main() {
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: audioanalyze [-cpuprofile FILE] MEDIA")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "audioanalyze:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, flag.Arg(0)); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "audioanalyze:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) error {
	dir, err := models.Dir("")
	if err != nil {
		return err
	}
	det, err := voice.NewEngine(dir, ort.Options{IntraOpThreads: 1, InterOpThreads: 1}).New()
	if err != nil {
		return err
	}
	r, err := analyze.Run(ctx, path, analyze.Options{Voice: det})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"has_audio":        r.HasAudio,
		"duration_seconds": r.DurationSeconds,
		"channels":         r.Channels,
		"tempo_bpm":        r.Rhythm.TempoBPM,
		"tempo_confidence": r.Rhythm.TempoConfidence,
		"beats":            r.Rhythm.Beats,
		"onsets":           r.Rhythm.Onsets,
		"integrated_lufs":  r.Loudness.IntegratedLUFS,
		"loudness_range":   r.Loudness.RangeLU,
		"true_peak_dbtp":   r.Loudness.TruePeakDBTP,
		"speech_segments":  r.Voice.Segments,
		"voice_engine":     r.Voice.Producer.Engine,
		"seconds":          len(r.Seconds),
	})
}

// Command transcribefile transcribes one media file with the transcribe
// service's engine, as the service does (ffmpeg decode to 16 kHz mono,
// Silero VAD chunking unless -vad=false, parallel decoders), and prints the
// text (or the transcript as JSON with -json). The benchmarks
// (bench/transcribe) and the sclite cross-check run it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/media"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/sphinx"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/vad"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/wer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "transcribefile:", err)
		os.Exit(1)
	}
}

func run() error {
	parallel := flag.Int("parallel", 0, "decoders run at once (0: GOMAXPROCS; 1: no chunk parallelism)")
	useVAD := flag.Bool("vad", true, "chunk at Silero VAD pauses (false: energy pauses)")
	asJSON := flag.Bool("json", false, "print the transcript as JSON")
	lang := flag.String("language", "auto", "language code or auto")
	trn := flag.String("trn", "", "print the normalised text as one sclite trn line with this utterance id")
	normalize := flag.Bool("normalize", false, "read ID<TAB>TEXT lines on stdin, print them as normalised sclite trn lines, and exit")
	flag.Parse()
	if *normalize {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			id, text, ok := strings.Cut(sc.Text(), "\t")
			if !ok {
				return fmt.Errorf("want ID<TAB>TEXT, got %q", sc.Text())
			}
			fmt.Printf("%s (%s)\n", strings.Join(wer.Normalize(text), " "), id)
		}
		return sc.Err()
	}
	if flag.NArg() != 1 {
		return errors.New("usage: transcribefile [flags] FILE")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := sphinx.DefaultConfig()
	cfg.Parallel = *parallel
	eng, err := sphinx.New(cfg)
	if err != nil {
		return err
	}
	defer eng.Close()
	start := time.Now()
	a, err := media.Decode(ctx, flag.Arg(0), media.Options{})
	if err != nil {
		return err
	}
	x := media.Floats(a.Samples)
	opts := engine.Options{Language: *lang}
	if *useVAD {
		dir, err := models.Dir("")
		if err != nil {
			return err
		}
		d := vad.New(dir, ort.Options{})
		if why := d.Unavailable(); why != "" {
			return errors.New(why)
		}
		if opts.Speech, err = d.Speech(ctx, x, nil); err != nil {
			return err
		}
	}
	t, err := eng.Transcribe(ctx, engine.Float32Audio(x), opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "transcribefile: %.1f s of audio in %.2f s\n", float64(len(x))/media.SampleRate, time.Since(start).Seconds())
	if *asJSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(t)
	}
	if *trn != "" {
		fmt.Printf("%s (%s)\n", strings.Join(wer.Normalize(t.Text()), " "), *trn)
		return nil
	}
	fmt.Println(t.Text())
	return nil
}

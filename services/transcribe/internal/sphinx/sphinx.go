// Package sphinx is the default, English-only speech recognition engine of
// the transcribe service: CMU PocketSphinx (Debian's libpocketsphinx, the
// 0.8+5prealpha API) called through cgo with the cmusphinx en-us 5.2
// acoustic model, its CMU dictionary and its generic trigram language model.
//
// Audio is conditioned (DC and rumble removed, level normalised), cut into
// utterances at silences, and each utterance is decoded on its own by one of
// a pool of decoders, in parallel. Filler words (<s>, </s>, <sil>, [NOISE],
// ++GARBAGE++) are dropped; word times are seconds from the start of the
// audio (PocketSphinx frames are 10 ms); word confidence is the lattice
// posterior probability.
package sphinx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// Name is the engine name in transcripts.
const Name = "pocketsphinx"

// LibraryVersion is the Debian libpocketsphinx this package is written
// against.
const LibraryVersion = "0.8+5prealpha"

// ModelName names the model in transcripts.
const ModelName = "cmusphinx-en-us-5.2"

// DefaultModelDir is where Debian's pocketsphinx-en-us installs the model.
const DefaultModelDir = "/usr/share/pocketsphinx/model/en-us"

// ErrModelMissing is returned by New when a model file is not installed.
var ErrModelMissing = errors.New("pocketsphinx model file missing (apt-get install pocketsphinx-en-us)")

// Config sets the model files and decoder settings. The zero value of a
// numeric field means the PocketSphinx default; DefaultConfig holds the
// values tuned on the LibriVox and JFK fixtures.
type Config struct {
	// ModelDir holds en-us/ (the acoustic model), cmudict-en-us.dict and
	// en-us.lm.bin. Empty means DefaultModelDir.
	ModelDir string
	// HMM, Dict and LM override single files (absolute paths).
	HMM, Dict, LM string

	// LanguageWeight is -lw (PocketSphinx default 6.5).
	LanguageWeight float64
	// Beam, WordBeam and PhoneBeam are -beam, -wbeam, -pbeam (defaults 1e-48,
	// 7e-29, 1e-48).
	Beam, WordBeam, PhoneBeam float64
	// FwdflatLanguageWeight is -fwdflatlw (default 8.5).
	FwdflatLanguageWeight float64
	// BestpathLanguageWeight is -bestpathlw (default 9.5).
	BestpathLanguageWeight float64
	// WordInsertionPenalty is -wip (default 0.65).
	WordInsertionPenalty float64
	// PhoneLookahead is -pl_window (default 5; 0 leaves it).
	PhoneLookahead int
	// MaxHMMsPerFrame is -maxhmmpf (default 30000; -1 no limit).
	MaxHMMsPerFrame int
	// NoFwdflat and NoBestpath turn the second and third passes off.
	NoFwdflat, NoBestpath bool
	// Extra are more "-name value" decoder arguments.
	Extra []string

	// NoConditioning skips the high-pass filter and level normalisation.
	NoConditioning bool
	// HighpassHz is the high-pass cutoff (0 means 80 Hz).
	HighpassHz float64
	// NoChunking decodes the whole audio as one utterance.
	NoChunking bool
	// MinSilence is the shortest pause, in seconds, that splits utterances
	// (0 means 0.5 s).
	MinSilence float64
	// MaxChunk is the longest utterance in seconds before a split is forced
	// at the quietest point (0 means 30 s).
	MaxChunk float64

	// Parallel is the number of decoders, i.e. utterances decoded at once
	// (0 means GOMAXPROCS). Each decoder holds about 25 MB.
	Parallel int
}

// DefaultConfig is the configuration measured best on the accuracy
// fixtures (five LibriVox clips and the JFK sample, corpus WER 0.247 against
// 0.398 for pocketsphinx_continuous defaults): PocketSphinx's own decoder
// defaults (-lw 6.5, all three passes; lw 5/8/10, -pl_window 1, -wip 0.2 and
// dropping fwdflat or bestpath all measured worse), an 80 Hz high-pass
// with level normalisation, and utterances cut at pauses of 0.5 s.
//
// -remove_silence is off: with it on, PocketSphinx's front end drops the
// frames its own detector thinks silent, and every word after a dropped
// pause is reported early by the pause's length (forced alignment of the
// JFK sample put "country" at 8.54 s instead of 9.97 s). Off, the WER with
// energy pauses is the same (0.247).
//
// -cmn batch normalises each utterance by its own cepstral mean. The
// default, live CMN, carries the mean over from the utterances a decoder
// decoded before, so with a pool of decoders the words depended on which
// decoder got which chunk (JFK measured 0.227 or 0.364 from run to run);
// batch gives the same WER (0.247 / 0.280) every time.
func DefaultConfig() Config {
	return Config{HighpassHz: 80, MinSilence: 0.5, Extra: []string{"-remove_silence", "no", "-cmn", "batch"}}
}

func (c Config) files() (hmm, dict, lm string) {
	dir := c.ModelDir
	if dir == "" {
		dir = DefaultModelDir
	}
	hmm, dict, lm = c.HMM, c.Dict, c.LM
	if hmm == "" {
		hmm = filepath.Join(dir, "en-us")
	}
	if dict == "" {
		dict = filepath.Join(dir, "cmudict-en-us.dict")
	}
	if lm == "" {
		lm = filepath.Join(dir, "en-us.lm.bin")
	}
	return hmm, dict, lm
}

func (c Config) args() []string {
	hmm, dict, lm := c.files()
	a := []string{"-hmm", hmm, "-dict", dict, "-lm", lm, "-logfn", os.DevNull}
	f := func(name string, v float64) {
		if v != 0 {
			a = append(a, name, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	i := func(name string, v int) {
		if v != 0 {
			a = append(a, name, strconv.Itoa(v))
		}
	}
	f("-lw", c.LanguageWeight)
	f("-beam", c.Beam)
	f("-wbeam", c.WordBeam)
	f("-pbeam", c.PhoneBeam)
	f("-fwdflatlw", c.FwdflatLanguageWeight)
	f("-bestpathlw", c.BestpathLanguageWeight)
	f("-wip", c.WordInsertionPenalty)
	i("-pl_window", c.PhoneLookahead)
	i("-maxhmmpf", c.MaxHMMsPerFrame)
	if c.NoFwdflat {
		a = append(a, "-fwdflat", "no")
	}
	if c.NoBestpath {
		a = append(a, "-bestpath", "no")
	}
	return append(a, c.Extra...)
}

// Engine is the PocketSphinx engine. It is safe for concurrent use.
type Engine struct {
	cfg  Config
	args []string
	pool chan *decoder
	mu   sync.Mutex
	all  []*decoder
	made int
	size int
}

var _ engine.Engine = (*Engine)(nil)

// New checks the model files and creates the first decoder (so a bad
// configuration fails here); more decoders are created as parallel work
// needs them, up to cfg.Parallel.
func New(cfg Config) (*Engine, error) {
	hmm, dict, lm := cfg.files()
	for _, p := range []string{filepath.Join(hmm, "mdef"), dict, lm} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrModelMissing, p)
		}
	}
	n := cfg.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	e := &Engine{cfg: cfg, args: cfg.args(), pool: make(chan *decoder, n), size: n}
	d, err := newDecoder(e.args)
	if err != nil {
		return nil, err
	}
	e.all, e.made = append(e.all, d), 1
	e.pool <- d
	return e, nil
}

// Close frees the decoders. The engine must not be in use.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.all {
		d.close()
	}
	e.all = nil
}

// Producer names the engine.
func (e *Engine) Producer() engine.Producer {
	return engine.Producer{Engine: Name, Model: ModelName, Version: LibraryVersion}
}

// Languages is English only.
func (e *Engine) Languages() []string { return []string{"en"} }

// get takes a decoder from the pool, creating one if fewer than size exist.
func (e *Engine) get(ctx context.Context) (*decoder, error) {
	select {
	case d := <-e.pool:
		return d, nil
	default:
	}
	e.mu.Lock()
	if e.made < e.size {
		e.made++
		e.mu.Unlock()
		d, err := newDecoder(e.args)
		e.mu.Lock()
		if err != nil {
			e.made--
			e.mu.Unlock()
			return nil, err
		}
		e.all = append(e.all, d)
		e.mu.Unlock()
		return d, nil
	}
	e.mu.Unlock()
	select {
	case d := <-e.pool:
		return d, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Transcribe recognizes English speech in 16 kHz mono audio.
func (e *Engine) Transcribe(ctx context.Context, audio engine.Audio, opts engine.Options) (*engine.Transcript, error) {
	lang, err := engine.CheckLanguage(Name, opts.Language, e.Languages())
	if err != nil {
		return nil, err
	}
	t := &engine.Transcript{Language: lang, LanguageProbability: 1, Duration: audio.Duration(), Producer: e.Producer(), Segments: []engine.Segment{}}
	if audio.Len() == 0 {
		t.Reason = "no audio"
		return t, nil
	}
	x := audio.Floats()
	if !e.cfg.NoConditioning {
		x = condition(x, e.cfg.HighpassHz)
	}
	var chunks []span
	switch {
	case e.cfg.NoChunking:
		chunks = []span{{0, len(x)}}
	case opts.Speech != nil:
		chunks = spansFromSpeech(x, opts.Speech, e.cfg.MinSilence, e.cfg.MaxChunk)
	default:
		chunks = speechSpans(x, e.cfg.MinSilence, e.cfg.MaxChunk)
	}
	if len(chunks) == 0 {
		t.Reason = "no speech (silence)"
		return t, nil
	}
	pcm := engine.FloatsToInt16(x)
	segs := make([]engine.Segment, len(chunks))
	errs := make([]error, len(chunks))
	var (
		wg       sync.WaitGroup
		progMu   sync.Mutex
		done     int
		total    int
		progress = opts.Progress
	)
	for _, c := range chunks {
		total += c.end - c.start
	}
	for i, c := range chunks {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		d, err := e.get(ctx)
		if err != nil {
			errs[i] = err
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { e.pool <- d }()
			words, err := d.decode(pcm[c.start:c.end])
			if err != nil {
				errs[i] = err
				return
			}
			segs[i] = toSegment(words, float64(c.start)/engine.SampleRate, float64(c.end)/engine.SampleRate)
			if progress != nil {
				progMu.Lock()
				done += c.end - c.start
				progress(float64(done) / float64(total))
				progMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, s := range segs {
		if len(s.Words) > 0 {
			t.Segments = append(t.Segments, s)
		}
	}
	if len(t.Segments) == 0 {
		t.Reason = "no words recognized"
	}
	return t, nil
}

// alternate strips the pronunciation variant marker: "read(2)" → "read".
var alternate = regexp.MustCompile(`\(\d+\)$`)

// IsFiller reports whether a decoder word is not speech: sentence markers,
// silence, noise and garbage words.
func IsFiller(w string) bool {
	return w == "" || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++")
}

// toSegment turns the decoder words of one chunk starting at offset seconds
// into a segment, dropping fillers and clamping times to [offset, limit].
func toSegment(raw []rawWord, offset, limit float64) engine.Segment {
	var s engine.Segment
	texts := make([]string, 0, len(raw))
	for _, r := range raw {
		if IsFiller(r.text) {
			continue
		}
		w := engine.Word{
			Text:       alternate.ReplaceAllString(r.text, ""),
			Start:      min(offset+float64(r.sf)/frameRate, limit),
			End:        min(offset+float64(r.ef+1)/frameRate, limit),
			Confidence: max(0, min(1, r.post)),
		}
		s.Words = append(s.Words, w)
		texts = append(texts, w.Text)
	}
	if len(s.Words) > 0 {
		s.Start, s.End = s.Words[0].Start, s.Words[len(s.Words)-1].End
		s.Text = strings.Join(texts, " ")
	}
	return s
}

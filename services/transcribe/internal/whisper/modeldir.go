package whisper

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// EnvModelDir names the folder of a Whisper ONNX export.
const EnvModelDir = "CLIPMESH_WHISPER_MODEL_DIR"

// The files of an export in the common layout (Hugging Face Optimum's
// `optimum-cli export onnx --model openai/whisper-… --task
// automatic-speech-recognition-with-past`).
const (
	EncoderFile   = "encoder_model.onnx"
	DecoderFile   = "decoder_model_merged.onnx"
	TokenizerFile = "tokenizer.json"
	ConfigFile    = "config.json"
	// ChecksumFile, when present, lists "sha256  file" lines (sha256sum's
	// format) that every listed file must match.
	ChecksumFile = "SHA256SUMS"
)

// ErrModel is wrapped by every error about a model folder: a missing file,
// a checksum or a configuration that does not match. The message names the
// file.
var ErrModel = errors.New("whisper model folder unusable")

// Config is what the engine needs from config.json.
type Config struct {
	NumMelBins    int `json:"num_mel_bins"`
	DecoderLayers int `json:"decoder_layers"`
	DecoderHeads  int `json:"decoder_attention_heads"`
	DModel        int `json:"d_model"`
	VocabSize     int `json:"vocab_size"`
	MaxTargetPos  int `json:"max_target_positions"`
}

// Model is a checked export folder.
type Model struct {
	Dir       string
	Config    Config
	Tokenizer *Tokenizer
	// Name is the folder's base name, for producers.
	Name string
}

// Open checks the folder: the four files exist, SHA256SUMS (if any)
// matches, config.json has 80 or 128 mel bins and a decoder shape, and the
// tokenizer is a Whisper tokenizer whose size fits the vocabulary. Every
// error wraps ErrModel and names the file.
func Open(dir string) (*Model, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: %s is not set", ErrModel, EnvModelDir)
	}
	for _, f := range []string{EncoderFile, DecoderFile, TokenizerFile, ConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("%w: %s is missing in %s (see the transcribe README: exporting Whisper to ONNX)", ErrModel, f, dir)
		}
	}
	if err := verifySums(dir); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, ConfigFile, err)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, ConfigFile, err)
	}
	if cfg.NumMelBins != 80 && cfg.NumMelBins != 128 {
		return nil, fmt.Errorf("%w: %s: num_mel_bins %d, want 80 or 128", ErrModel, ConfigFile, cfg.NumMelBins)
	}
	if cfg.DecoderLayers <= 0 || cfg.DecoderHeads <= 0 || cfg.DModel <= 0 || cfg.DModel%cfg.DecoderHeads != 0 {
		return nil, fmt.Errorf("%w: %s: decoder_layers %d, decoder_attention_heads %d, d_model %d do not describe a decoder",
			ErrModel, ConfigFile, cfg.DecoderLayers, cfg.DecoderHeads, cfg.DModel)
	}
	tok, err := LoadTokenizer(filepath.Join(dir, TokenizerFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, TokenizerFile, err)
	}
	if cfg.VocabSize > 0 && len(tok.vocab) > cfg.VocabSize {
		return nil, fmt.Errorf("%w: %s has %d tokens, more than vocab_size %d in %s", ErrModel, TokenizerFile, len(tok.vocab), cfg.VocabSize, ConfigFile)
	}
	return &Model{Dir: dir, Config: cfg, Tokenizer: tok, Name: filepath.Base(dir)}, nil
}

// verifySums checks the files listed in SHA256SUMS, when it exists.
func verifySums(dir string) error {
	f, err := os.Open(filepath.Join(dir, ChecksumFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrModel, ChecksumFile, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimSpace(name), "*")
		if !ok || len(want) != 64 || name == "" || strings.Contains(name, "..") || filepath.IsAbs(name) {
			return fmt.Errorf("%w: %s: bad line %q", ErrModel, ChecksumFile, line)
		}
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("%w: %s (listed in %s): %v", ErrModel, name, ChecksumFile, err)
		}
		if !strings.EqualFold(got, want) {
			return fmt.Errorf("%w: %s has sha256 %s, %s says %s", ErrModel, name, got, ChecksumFile, want)
		}
	}
	return sc.Err()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

package whisper

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeExport writes a small Whisper-shaped export folder: a byte-level BPE
// vocabulary ("Ġ" is a space; "Ã©" the two bytes of "é"), the special tokens
// in Whisper's order, config.json, and dummy ONNX files.
func writeExport(t *testing.T, melBins int) string {
	t.Helper()
	dir := t.TempDir()
	vocab := map[string]int{"Hello": 0, "Ġworld": 1, "Ġcaf": 2, "Ã©": 3, "!": 4, "Ġ": 5}
	added := []map[string]any{}
	id := 6
	add := func(s string) {
		added = append(added, map[string]any{"id": id, "content": s, "special": true})
		id++
	}
	add("<|endoftext|>")
	add("<|startoftranscript|>")
	for _, l := range []string{"en", "de", "haw"} {
		add("<|" + l + "|>")
	}
	for _, s := range []string{"<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"} {
		add(s)
	}
	tok, _ := json.Marshal(map[string]any{"model": map[string]any{"type": "BPE", "vocab": vocab}, "added_tokens": added})
	cfg, _ := json.Marshal(map[string]any{"num_mel_bins": melBins, "decoder_layers": 2, "decoder_attention_heads": 2, "d_model": 8, "vocab_size": 64})
	for name, b := range map[string][]byte{TokenizerFile: tok, ConfigFile: cfg, EncoderFile: []byte("enc"), DecoderFile: []byte("dec")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTokenizer(t *testing.T) {
	t.Parallel()
	m, err := Open(writeExport(t, 80))
	if err != nil {
		t.Fatal(err)
	}
	tk := m.Tokenizer
	if tk.EOT != 6 || tk.SOT != 7 || tk.Translate != 11 || tk.Transcribe != 12 || tk.NoSpeech != 15 || tk.NoTimestamps != 16 || tk.TimestampBegin != 17 {
		t.Errorf("special ids %+v", tk)
	}
	if got := strings.Join(tk.LanguageCodes(), ","); got != "en,de,haw" {
		t.Errorf("languages %s", got)
	}
	// Timestamps and specials are skipped; é is joined from its two bytes.
	if got := tk.Decode([]int{tk.SOT, 8, tk.Transcribe, tk.TimestampBegin, 0, 1, 2, 3, 4, tk.TimestampBegin + 50, tk.EOT}); got != "Hello world café!" {
		t.Errorf("decode %q", got)
	}
	if s := tk.TimestampSeconds(tk.TimestampBegin + 150); s != 3 {
		t.Errorf("timestamp %v", s)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Open(""); !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), EnvModelDir) {
		t.Errorf("no dir: %v", err)
	}
	for _, tt := range []struct {
		name  string
		edit  func(dir string)
		names string
	}{
		{"missing decoder", func(d string) { os.Remove(filepath.Join(d, DecoderFile)) }, DecoderFile},
		{"bad mel bins", func(d string) {
			os.WriteFile(filepath.Join(d, ConfigFile), []byte(`{"num_mel_bins": 64, "decoder_layers": 2, "decoder_attention_heads": 2, "d_model": 8}`), 0o600)
		}, ConfigFile},
		{"not whisper", func(d string) {
			os.WriteFile(filepath.Join(d, TokenizerFile), []byte(`{"model":{"vocab":{"a":0}},"added_tokens":[{"id":1,"content":"<|endoftext|>"}]}`), 0o600)
		}, TokenizerFile},
		{"checksum", func(d string) {
			sum := sha256.Sum256([]byte("something else"))
			os.WriteFile(filepath.Join(d, ChecksumFile), []byte(hex.EncodeToString(sum[:])+"  "+EncoderFile+"\n"), 0o600)
		}, EncoderFile},
	} {
		dir := writeExport(t, 128)
		tt.edit(dir)
		_, err := Open(dir)
		if !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), tt.names) {
			t.Errorf("%s: %v, want ErrModel naming %s", tt.name, err, tt.names)
		}
	}
	// A matching SHA256SUMS passes.
	dir := writeExport(t, 128)
	sum := sha256.Sum256([]byte("enc"))
	os.WriteFile(filepath.Join(dir, ChecksumFile), []byte(hex.EncodeToString(sum[:])+" *"+EncoderFile+"\n"), 0o600)
	if m, err := Open(dir); err != nil || m.Config.NumMelBins != 128 {
		t.Errorf("good folder: %v", err)
	}
}

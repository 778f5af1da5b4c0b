package whisper

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Tokenizer decodes Whisper token ids to text and knows the special tokens,
// read from an export's tokenizer.json (Hugging Face "fast" tokenizer: the
// byte-level BPE vocabulary and the added tokens).
type Tokenizer struct {
	vocab   map[int]string // id → byte-level token string
	special map[string]int // "<|endoftext|>" → id

	// Special token ids.
	EOT, SOT, Translate, Transcribe, NoTimestamps, NoSpeech, TimestampBegin int
	// Languages maps a language code ("en") to its token id, in the
	// model's order (ids ascending).
	Languages map[string]int
	langOrder []string
}

// langToken matches a language token: <|en|>, <|haw|>, <|yue|>.
var langToken = regexp.MustCompile(`^<\|([a-z]{2,3})\|>$`)

// LoadTokenizer reads tokenizer.json.
func LoadTokenizer(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Model.Vocab) == 0 {
		return nil, fmt.Errorf("%s: no model.vocab (not a byte-level BPE tokenizer.json)", path)
	}
	t := &Tokenizer{vocab: make(map[int]string, len(f.Model.Vocab)+len(f.AddedTokens)), special: map[string]int{}, Languages: map[string]int{}}
	for s, id := range f.Model.Vocab {
		t.vocab[id] = s
	}
	for _, a := range f.AddedTokens {
		t.vocab[a.ID] = a.Content
		t.special[a.Content] = a.ID
	}
	need := func(name string) (int, error) {
		id, ok := t.special[name]
		if !ok {
			return 0, fmt.Errorf("%s: no %s token: not a Whisper tokenizer", path, name)
		}
		return id, nil
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{
		{"<|endoftext|>", &t.EOT}, {"<|startoftranscript|>", &t.SOT}, {"<|translate|>", &t.Translate},
		{"<|transcribe|>", &t.Transcribe}, {"<|notimestamps|>", &t.NoTimestamps},
	} {
		if *p.dst, err = need(p.name); err != nil {
			return nil, err
		}
	}
	t.NoSpeech = -1
	for _, n := range []string{"<|nospeech|>", "<|nocaptions|>"} {
		if id, ok := t.special[n]; ok {
			t.NoSpeech = id
		}
	}
	// Timestamps follow <|notimestamps|>: <|0.00|>, <|0.02|>, … (older
	// exports do not list them as added tokens).
	t.TimestampBegin = t.NoTimestamps + 1
	if id, ok := t.special["<|0.00|>"]; ok {
		t.TimestampBegin = id
	}
	// Language tokens sit between <|startoftranscript|> and <|translate|>.
	for s, id := range t.special {
		if m := langToken.FindStringSubmatch(s); m != nil && id > t.SOT && id < t.Translate {
			t.Languages[m[1]] = id
		}
	}
	if len(t.Languages) == 0 {
		return nil, fmt.Errorf("%s: no language tokens", path)
	}
	for l := range t.Languages {
		t.langOrder = append(t.langOrder, l)
	}
	sort.Slice(t.langOrder, func(i, j int) bool { return t.Languages[t.langOrder[i]] < t.Languages[t.langOrder[j]] })
	return t, nil
}

// LanguageCodes lists the languages in the model's order.
func (t *Tokenizer) LanguageCodes() []string { return append([]string(nil), t.langOrder...) }

// IsTimestamp reports whether id is a timestamp token.
func (t *Tokenizer) IsTimestamp(id int) bool { return id >= t.TimestampBegin }

// TimestampSeconds is the time a timestamp token stands for (0.02 s steps).
func (t *Tokenizer) TimestampSeconds(id int) float64 { return float64(id-t.TimestampBegin) * 0.02 }

// IsSpecial reports whether id is a special (added) or timestamp token.
func (t *Tokenizer) IsSpecial(id int) bool {
	if t.IsTimestamp(id) {
		return true
	}
	s, ok := t.vocab[id]
	if !ok {
		return false
	}
	sid, ok := t.special[s]
	return ok && sid == id
}

// Decode turns text tokens into text, skipping special and timestamp
// tokens; byte-level BPE strings are mapped back to bytes (GPT-2's
// bytes_to_unicode), so multi-byte characters split across tokens come out
// whole; invalid UTF-8 becomes U+FFFD.
func (t *Tokenizer) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		if t.IsSpecial(id) {
			continue
		}
		for _, r := range t.vocab[id] {
			if c, ok := unicodeToByte[r]; ok {
				b = append(b, c)
			}
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// unicodeToByte inverts GPT-2's bytes_to_unicode: printable bytes stand for
// themselves, the other 68 are shifted to U+0100 and up, in byte order.
var unicodeToByte = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	n := 0
	for c := range 256 {
		if c >= '!' && c <= '~' || c >= 0xA1 && c <= 0xAC || c >= 0xAE && c <= 0xFF {
			m[rune(c)] = byte(c)
			continue
		}
		m[rune(256+n)] = byte(c)
		n++
	}
	return m
}()

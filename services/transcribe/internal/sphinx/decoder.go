package sphinx

/*
#cgo pkg-config: pocketsphinx
#include <stdlib.h>
#include <pocketsphinx.h>

static cmd_ln_t *cm_config(int argc, char **argv) {
	return cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE);
}

// cm_seg is one word of the best hypothesis.
typedef struct {
	const char *word;
	int sf, ef;
	double post;
} cm_seg;

// cm_decode decodes one utterance and writes up to max words into segs; it
// returns the number of words, or -1 on a decoder error.
// Each chunk starts a new stream: PocketSphinx keeps the noise level of a
// stream across utterances, which made a pooled decoder's result depend on
// the chunks it had decoded before.
static int cm_decode(ps_decoder_t *ps, const int16 *data, size_t n, cm_seg *segs, int max) {
	if (ps_start_stream(ps) < 0) return -1;
	if (ps_start_utt(ps) < 0) return -1;
	if (ps_process_raw(ps, data, n, FALSE, TRUE) < 0) { ps_end_utt(ps); return -1; }
	if (ps_end_utt(ps) < 0) return -1;
	int32 score;
	if (ps_get_hyp(ps, &score) == NULL) return 0;
	ps_get_prob(ps); // computes the lattice posteriors when a lattice exists
	logmath_t *lm = ps_get_logmath(ps);
	int i = 0;
	ps_seg_t *it;
	for (it = ps_seg_iter(ps); it != NULL && i < max; it = ps_seg_next(it)) {
		int32 ascr, lscr, lback;
		segs[i].word = ps_seg_word(it);
		ps_seg_frames(it, &segs[i].sf, &segs[i].ef);
		int32 p = ps_seg_prob(it, &ascr, &lscr, &lback);
		segs[i].post = logmath_exp(lm, p);
		i++;
	}
	if (it != NULL) ps_seg_free(it);
	return i;
}

// cm_align_begin switches ps to a grammar (JSGF) accepting exactly the
// words to align; 0 on success.
static int cm_align_begin(ps_decoder_t *ps, const char *jsgf) {
	if (ps_set_jsgf_string(ps, "cm_align", jsgf) < 0) return -1;
	return ps_set_search(ps, "cm_align");
}

// cm_align_end goes back to the search prev and drops the grammar.
static void cm_align_end(ps_decoder_t *ps, const char *prev) {
	ps_set_search(ps, prev);
	ps_unset_search(ps, "cm_align");
}

// cm_known reports whether word is in the dictionary.
static int cm_known(ps_decoder_t *ps, const char *word) {
	char *p = ps_lookup_word(ps, word);
	if (p == NULL) return 0;
	free(p);
	return 1;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// frameRate is PocketSphinx's feature frame rate (-frate default): 100/s.
const frameRate = 100

// rawWord is one word as the decoder segmented it, fillers included.
type rawWord struct {
	text   string
	sf, ef int // first and last frame, inclusive
	post   float64
}

// decoder is one PocketSphinx decoder; not safe for concurrent use.
type decoder struct {
	ps *C.ps_decoder_t
}

func newDecoder(args []string) (*decoder, error) {
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	var argp **C.char
	if len(argv) > 0 {
		argp = (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
		defer C.free(unsafe.Pointer(argp))
		copy(unsafe.Slice(argp, len(argv)), argv)
	}
	cfg := C.cm_config(C.int(len(args)), argp)
	if cfg == nil {
		return nil, fmt.Errorf("sphinx: bad decoder arguments %q", args)
	}
	ps := C.ps_init(cfg)
	C.cmd_ln_free_r(cfg) // ps_init keeps its own reference
	if ps == nil {
		return nil, errors.New("sphinx: ps_init failed (are the model files installed? apt-get install pocketsphinx-en-us)")
	}
	return &decoder{ps: ps}, nil
}

func (d *decoder) close() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// known reports whether word is in the decoder's dictionary.
func (d *decoder) known(word string) bool {
	w := C.CString(word)
	defer C.free(unsafe.Pointer(w))
	return C.cm_known(d.ps, w) != 0
}

// align decodes pcm against a grammar accepting exactly words (all in the
// dictionary), then restores the decoder's language-model search.
func (d *decoder) align(pcm []int16, words []string) ([]rawWord, error) {
	prev := C.GoString(C.ps_get_search(d.ps))
	g := C.CString("#JSGF V1.0;\ngrammar cmalign;\npublic <utt> = " + strings.Join(words, " ") + " ;\n")
	defer C.free(unsafe.Pointer(g))
	if C.cm_align_begin(d.ps, g) != 0 {
		return nil, errors.New("sphinx: alignment grammar refused")
	}
	p := C.CString(prev)
	defer C.free(unsafe.Pointer(p))
	defer C.cm_align_end(d.ps, p)
	return d.decode(pcm)
}

// decode recognizes one utterance of 16 kHz int16 samples.
func (d *decoder) decode(pcm []int16) ([]rawWord, error) {
	if len(pcm) == 0 {
		return nil, nil
	}
	// The samples go to C in C memory: cgo forbids keeping Go pointers, and
	// the decoder may read them after returning only within the call.
	n := len(pcm)
	buf := (*C.int16)(C.malloc(C.size_t(n) * 2))
	defer C.free(unsafe.Pointer(buf))
	copy(unsafe.Slice((*int16)(unsafe.Pointer(buf)), n), pcm)
	const max = 4096
	segs := (*C.cm_seg)(C.malloc(C.size_t(max) * C.size_t(unsafe.Sizeof(C.cm_seg{}))))
	defer C.free(unsafe.Pointer(segs))
	k := C.cm_decode(d.ps, buf, C.size_t(n), segs, max)
	if k < 0 {
		return nil, errors.New("sphinx: decoder error")
	}
	out := make([]rawWord, 0, int(k))
	for _, s := range unsafe.Slice(segs, int(k)) {
		out = append(out, rawWord{text: C.GoString(s.word), sf: int(s.sf), ef: int(s.ef), post: float64(s.post)})
	}
	return out, nil
}

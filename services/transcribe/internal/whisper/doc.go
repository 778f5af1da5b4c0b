// Package whisper is the multilingual engine of the transcribe service: a
// Whisper model exported to ONNX in Hugging Face Optimum's layout (encoder +
// merged decoder with KV cache) from a folder the user names
// (CLIPMESH_WHISPER_MODEL_DIR), run through ONNX Runtime. It implements the
// log-mel front end (80 and 128 bins), the tokenizer read from the export's
// tokenizer.json, language detection from the first decoder step, greedy
// and beam search, timestamp tokens → segments with whisper's timestamp
// rules, temperature fallback with the compression-ratio, log-probability
// and no-speech checks, and word times spread proportionally within
// segments (flagged approximate; cross-attention alignment is not
// implemented). A folder with a missing file, a checksum (SHA256SUMS) or a
// shape that does not match wraps ErrModel naming the file.
//
// No Whisper weights can be fetched here, so the tests run the whole
// machinery on a tiny Whisper-shaped graph that
// testdata/make_tiny_whisper.py generates, and the mel front end against
// numpy.
package whisper

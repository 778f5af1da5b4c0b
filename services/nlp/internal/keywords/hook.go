package keywords

import (
	txt "github.com/clipmesh/clipmesh/services/nlp/internal/text"

	"math"
	"strings"
	"unicode"
)

// Hook is how much a sentence works as the opening line of a clip.
type Hook struct {
	// Score in [0,1]: the sum of the weights of the cues found, capped at 1.
	Score float64
	// Cues names the cues found: question, number, claim, imperative, emotion.
	Cues []string
}

// Hook weights. A question, a strong claim and an imperative are the
// classic openings of short videos; a number makes a promise concrete
// ("3 mistakes"); emotion is the sentiment intensity |compound| the caller
// measured, weighted by 0.25.
const (
	WeightQuestion   = 0.3
	WeightNumber     = 0.15
	WeightClaim      = 0.25
	WeightImperative = 0.25
	WeightEmotion    = 0.25
)

// claimWords are words of strong claims (superlatives, absolutes,
// secrets); imperatives are verbs that open a call to the viewer. Both are
// small lists written for clipmesh, lower-case.
var (
	claimWords = map[string]map[string]bool{
		"en": txt.Words(`never always best worst everyone nobody everything nothing secret truth biggest only must mistake mistakes proven guaranteed impossible shocking`),
		"es": txt.Words(`nunca siempre mejor peor todos nadie todo nada secreto verdad mayor único única error errores imposible increíble`),
		"fr": txt.Words(`jamais toujours meilleur meilleure pire tout tous personne rien secret vérité seul seule erreur erreurs impossible incroyable`),
		"de": txt.Words(`nie niemals immer beste besten schlechteste alle niemand alles nichts geheimnis wahrheit einzige fehler unmöglich unglaublich`),
		"pt": txt.Words(`nunca sempre melhor pior todos ninguém tudo nada segredo verdade maior único única erro erros impossível incrível`),
		"it": txt.Words(`mai sempre migliore peggiore tutti nessuno tutto niente segreto verità unico unica errore errori impossibile incredibile`),
	}
	imperatives = map[string]map[string]bool{
		"en": txt.Words(`stop look watch listen imagine try wait think remember check learn discover meet let don't forget see`),
		"es": txt.Words(`mira mirad escucha imagina prueba espera piensa recuerda descubre aprende deja para olvida`),
		"fr": txt.Words(`regarde regardez écoute écoutez imagine imaginez essaie essayez attends attendez pense retiens découvre découvrez arrête arrêtez oublie`),
		"de": txt.Words(`schau schaut hör hört stell stellt probier probiert warte wartet denk merk entdecke lern hör vergiss`),
		"pt": txt.Words(`olha olhe escuta escute imagina imagine experimenta espera espere pensa lembra descubra aprenda pare para esquece`),
		"it": txt.Words(`guarda guardate ascolta ascoltate immagina prova aspetta pensa ricorda scopri impara smetti dimentica`),
	}
)

// HookScore scores sentence in lang; emotion is the caller's sentiment
// intensity in [0,1] (|compound|), 0 if unknown. Cues of an unknown
// language are limited to the question, number and emotion ones.
func HookScore(sentence, lang string, emotion float64) Hook {
	var h Hook
	add := func(cue string, w float64) {
		h.Cues = append(h.Cues, cue)
		h.Score += w
	}
	s := strings.TrimSpace(sentence)
	if strings.HasSuffix(s, "?") || strings.HasPrefix(s, "¿") {
		add("question", WeightQuestion)
	}
	if len(Numbers(s)) > 0 {
		add("number", WeightNumber)
	}
	var toks []string
	for _, f := range strings.Fields(strings.ToLower(s)) {
		if f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }); f != "" {
			toks = append(toks, f)
		}
	}
	for _, t := range toks {
		if claimWords[lang][t] {
			add("claim", WeightClaim)
			break
		}
	}
	if len(toks) > 0 && imperatives[lang][toks[0]] {
		add("imperative", WeightImperative)
	}
	if e := math.Abs(emotion); e > 0 {
		h.Cues = append(h.Cues, "emotion")
		h.Score += WeightEmotion * min(e, 1)
	}
	h.Score = min(h.Score, 1)
	return h
}

package text

import "strings"

// stopWords are small per-language stop word lists written for clipmesh:
// articles, pronouns, prepositions, conjunctions, auxiliaries and the
// commonest adverbs and fillers of speech. RAKE splits candidate phrases at
// them. (The @nlpjs/lang-* npm packages carry lists for es, fr, de, pt and
// it, but only as JavaScript source and none for English, so these are
// written here instead; they can be swapped for larger lists later.)
var stopWords = map[string]map[string]bool{
	"en": words(`a an the and or but if so of to in on at by for with from into about as than then
		i me my we our you your he him his she her it its they them their this that these those there here
		is are was were be been being am do does did done have has had will would can could should may might must
		not no nor very just also too only really actually basically like okay ok yeah well um uh oh
		what which who whom whose when where why how all any some each more most other such own same
		up down out over under again further once now get got go going gonna let lets s t don didn isn`),
	"es": words(`el la los las un una unos unas y o u pero si no ni de del a al en con por para sin sobre entre hasta desde
		que qué como cómo cuando cuándo donde dónde quien quién cual cuál porque pues ya muy más menos también tan
		yo tú él ella nosotros vosotros ellos ellas me te se nos os le les lo mi mis tu tus su sus nuestro nuestra
		este esta estos estas ese esa esos esas eso esto aquí ahí allí
		es son era eran fue ser estar está están estaba he has ha hemos han había hay
		vale bueno pues entonces o sea eh`),
	"fr": words(`le la les l un une des du de d et ou mais si ne n pas ni à au aux en dans sur sous par pour avec sans entre chez
		que qu qui quoi quand où comment pourquoi donc car alors très plus moins aussi trop bien
		je j me m moi tu te t toi il elle on nous vous ils elles se s lui leur leurs y
		mon ma mes ton ta tes son sa ses notre nos votre vos ce c cet cette ces ça cela ceci voilà voici
		est sont était étaient être été suis es sommes êtes ai as a avons avez ont avait fait
		euh bon ben bah quoi hein`),
	"de": words(`der die das den dem des ein eine einen einem einer eines und oder aber wenn dass ob nicht kein keine
		zu zum zur in im an am auf aus bei mit nach von vom vor für über unter durch ohne um bis gegen
		ich mich mir du dich dir er ihn ihm sie es wir uns ihr euch man sich mein meine dein deine sein seine unser
		dieser diese dieses dies hier da dort was wer wie wo warum wann welche welcher
		ist sind war waren bin bist sein haben habe hat hatte hatten wird werden wurde kann können muss soll
		sehr auch noch schon nur so dann also ja nein mal halt eben eigentlich äh ähm`),
	"pt": words(`o a os as um uma uns umas e ou mas se não nem de do da dos das em no na nos nas por pelo pela para com sem sobre entre até
		que quê como quando onde quem qual porque pois já muito mais menos também tão
		eu me mim tu te você vocês ele ela nós eles elas se lhe lhes meu minha meus minhas seu sua seus suas nosso nossa
		este esta estes estas esse essa esses essas isso isto aqui aí ali lá
		é são era eram foi ser estar está estão estava tem têm tinha há vai
		então tipo né bom ah`),
	"it": words(`il lo la i gli le l un uno una un e o ma se non né di del della dei delle a al alla ai alle in nel nella con per su tra fra da dal dalla
		che chi cosa come quando dove perché quale quindi poi già molto più meno anche così troppo
		io mi me tu ti te lui lei noi ci vi voi loro si ne mio mia miei mie tuo tua suo sua nostro nostra
		questo questa questi queste quello quella quelli quelle qui qua lì là ecco
		è sono era erano stato essere ho hai ha abbiamo avete hanno aveva c
		allora cioè beh ehm insomma dunque`),
}

// StopWords returns lang's stop word set (nil for an unknown language). The
// map is shared: callers must not change it.
func StopWords(lang string) map[string]bool { return stopWords[lang] }

// IsStopWord says whether the lower-case w is a stop word of lang.
func IsStopWord(lang, w string) bool { return stopWords[lang][w] }

// Words makes a set of the whitespace-separated words of s.
func Words(s string) map[string]bool { return words(s) }

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

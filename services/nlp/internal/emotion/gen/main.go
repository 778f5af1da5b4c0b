// Command gen builds the emotion lexicon of package emotion (lexicon.tsv)
// from the seed words in seeds.txt and Debian's WordNet 3.0
// (/usr/share/wordnet, package wordnet-base). Run it with `go generate` in
// internal/emotion; the output is deterministic, so the committed file can
// be checked by regenerating it.
//
// Method, for each English seed word and each part of speech it has:
//
//   - the seed itself: weight 1;
//   - the other lemmas of its first two senses (WordNet orders senses by
//     corpus frequency, so later senses drift from the emotion): 0.8 for
//     the first sense, 0.6 for the second;
//   - the derivationally related forms ("+") of those senses (happy →
//     happiness, frighten → fright): 0.7;
//   - the adjectives similar ("&") to its first adjective sense
//     (joyful → elated, euphoric): 0.6.
//
// Only single words of three or more letters are kept, never a stop word
// and never a word in the exclusions below (senses that carry no emotion in
// speech: "still", "rest", "break"). A word reached from several emotions
// keeps its best weight for each. Seeds of the other languages are written
// by hand in seeds.txt and copied with weight 1.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/clipmesh/clipmesh/services/nlp/internal/text"
	"github.com/clipmesh/clipmesh/services/nlp/internal/wordnet"
)

// exclude are expansions reviewed and dropped: they are emotion words only
// in a rare sense, and common in neutral speech.
var exclude = text.Words(`still even level tranquillize tranquillise quiet_down settle rest remainder residual
	balance break ease easy slow slowly dull sluggish boring deadening gradual time pace
	miss lose loss lost fall fail failure neglect skip drop overlook escape girl missy mis
	mad crazy wild barbaric barbarous fierce furious savage tempestuous violent outrageous
	hate cry call shout yell scream weep tear tears rip snap pick split
	sudden abrupt fast quick speedy warm glad heat high luck lucky fortune fortunate felicitous well
	worry vex concern concerned care interest business matter occupy eat
	threat scourge menace risk peril chance gamble hazard endangerment venture jeopardy adventure
	fun playfulness sport merriment wit fool joke laugh express gag jest
	wow devastate rage fad furor furore cult vogue
	thrill tickle shiver shudder quiver vibrate beat pulse sound strong effective hard
	love passion dear honey sexual_love lovemaking making_love erotic sexual
	like similar alike same
	grief sorrow ruth ruefulness rue heartache
	danger dangerous
	gentle soft light easy balmy docile mild
	beautiful beauteous bonny comely fair sightly
	pleased smile rejoice expect look hope await
	eager earnest hungry athirst
	hostile unfriendly antagonistic militant
	serene calm
	countenance mug visage phiz physiognomy kisser use dead dying bad waste construction sharp short tall
	turn grow become storm tornado twister howl howler sidesplitter riot bend bendable bender flex flexible
	flexile flexure fold crimp crease contortion convolute deform deformation pervert sophisticate wrench
	wrestle wriggle wiggle wiggler squirm squirmer writhe worm plication pliable pliant choppy jerky waxy emergent
	explosive bang boot charge kick push plug rush zip trick prank caper antic shake stir chill black blue low
	dark dim physical large grand play breath breathing respiration respirator respiratory respire
	inhalator breather suspire ventilation muffler silencer schnorchel schnorkel snorkel pacifier pacifist
	nevertheless nonetheless notwithstanding however withal yet behind remain residue residuary residuum
	lag laggard tardily retard retardation decelerate deceleration slowdown slowing falloff slump lazy
	inactive passive static steady entitle ennoble ennoblement gruntle epos epical aegir eagre gladiola
	gladiolus fille girlhood maidenhood maidhood dearest lover fan devotee buff gallant debonair debonaire
	dishy handsome pretty picturesque scenic golden sunny sunshine gravel rag crud skank skanky
	sliminess filth dirty foul raw sick ill ira devil plague plaguey plaguy tempest rampant ramp craze
	lunacy dementia demented insaneness madness delirium hysteria brainsick daftness flakiness unbalanced
	unhinged bore dash stake gambler adventurer explorer venturer escapade speculative headache
	inconvenience trouble disorder cark numb pall queer expose scupper terrorist hunted vain conceited
	boastful bigheaded haughty arrogant imperious lordly snooty snotty sniffy supercilious uppish
	overbearing prideful overproud swelled swollen swaggering vainglorious egotistic egotistical braggart
	bragging braggy chesty disdainful persnickety hot flush glowing emotional emotionalism emotionality
	industrious industry industriousness diligence indefatigable tireless unflagging unwearying
	evangelical evangelistic comforter homely recumb rester lenify mellow smooth smoothness softness
	silent silence soundless soundlessness muteness hush slack slacken letup lull motionless
	motionlessness nonmoving unmoving stillness windlessness quietly quietness quieten quiesce quiescent
	become strange unusual extraordinary big unsuccessful defeated foiled thwarted helpless poor insoluble
	bellow bellowing holla holler hollering hollo holloa outcry outshout roar roaring screamer screaming
	screech screeching shouting shriek shrieking squall vociferation yelling yowl exclaim crier weeper
	lossy misfire futureless lone solitary solitariness unaccompanied alone
	wonder marvel triumph brilliance magnificence splendor splendour grandeur grandness majesty
	majestic stateliness loftiness lofty resplendent exquisite gorgeous stunning ravishing pulchritudinous
	beauteousness comeliness fairness splendiferous splendid glorious fabulous`)

// noExpand are seeds whose WordNet senses lead away from the emotion (cry →
// shout, twist → bend, still → however, proud → arrogant): they are kept as
// seeds but not expanded.
var noExpand = text.Words(`twist still slow cry epic wild wow big incredible risk danger threat loss miss mad fun
	smile laugh hype rest quiet gentle beautiful love sudden suddenly proud energetic breathe awesome disgusting
	unfair annoying scary lovely amazing fantastic wonderful unexpected comfortable sorrow grief`)

func main() {
	seedsPath := flag.String("seeds", "gen/seeds.txt", "seed words")
	out := flag.String("out", "lexicon.tsv", "lexicon to write")
	dir := flag.String("wordnet", wordnet.DefaultDir, "WordNet database directory")
	flag.Parse()
	if err := run(*seedsPath, *out, *dir); err != nil {
		log.Fatal(err)
	}
}

type entry struct {
	lang, word, emotion, source string
	weight                      float64
}

func run(seedsPath, out, dir string) error {
	seeds, err := readSeeds(seedsPath)
	if err != nil {
		return err
	}
	db, err := wordnet.Open(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	best := map[[3]string]entry{} // lang, word, emotion
	add := func(e entry) {
		k := [3]string{e.lang, e.word, e.emotion}
		if old, ok := best[k]; !ok || e.weight > old.weight {
			best[k] = e
		}
	}
	for _, s := range seeds {
		for _, w := range s.words {
			add(entry{s.lang, w, s.emotion, "seed", 1})
		}
		if s.lang != "en" {
			continue
		}
		for _, w := range s.words {
			if noExpand[w] {
				continue
			}
			for _, pos := range wordnet.POSes {
				senses, err := db.Senses(w, pos, 2)
				if err != nil {
					return err
				}
				for i, ss := range senses {
					syn := 0.8
					if i == 1 {
						syn = 0.6
					}
					for _, l := range ss.Words {
						addWord(add, l, s.emotion, "synonym", syn)
					}
					rel, err := db.Related(ss, "+")
					if err != nil {
						return err
					}
					for _, r := range rel {
						for _, l := range r.Words {
							addWord(add, l, s.emotion, "derivation", 0.7)
						}
					}
					if pos == wordnet.Adj && i == 0 {
						sim, err := db.Related(ss, "&")
						if err != nil {
							return err
						}
						for _, r := range sim {
							for _, l := range r.Words {
								addWord(add, l, s.emotion, "similar", 0.6)
							}
						}
					}
				}
			}
		}
	}
	seedSet := map[[3]string]bool{}
	for _, s := range seeds {
		for _, w := range s.words {
			seedSet[[3]string{s.lang, w, s.emotion}] = true
		}
	}
	entries := make([]entry, 0, len(best))
	for k, e := range best {
		if e.source != "seed" && seedSet[k] {
			continue
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.lang != b.lang {
			return a.lang < b.lang
		}
		if a.word != b.word {
			return a.word < b.word
		}
		return a.emotion < b.emotion
	})
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "# Generated by internal/emotion/gen from gen/seeds.txt and WordNet 3.0 (wordnet-base); do not edit.\n")
	fmt.Fprintf(w, "# lang\tword\temotion\tweight\tsource\n")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\t%.1f\t%s\n", e.lang, e.word, e.emotion, e.weight, e.source)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func addWord(add func(entry), w, emotion, source string, weight float64) {
	if strings.ContainsAny(w, "_-.'") || len([]rune(w)) < 3 || exclude[w] || text.IsStopWord("en", w) ||
		strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
		return
	}
	add(entry{"en", w, emotion, source, weight})
}

type seedLine struct {
	lang, emotion string
	words         []string
}

func readSeeds(path string) ([]seedLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []seedLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 3 {
			return nil, fmt.Errorf("%s:%d: want lang emotion words", path, n)
		}
		out = append(out, seedLine{fs[0], fs[1], fs[2:]})
	}
	return out, sc.Err()
}

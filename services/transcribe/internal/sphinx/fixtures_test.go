package sphinx

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/services/transcribe/internal/engine"
)

// librivoxDir is Debian's pocketsphinx-testdata LibriVox clips.
const librivoxDir = "/usr/share/pocketsphinx/test/data/librivox"

const jfkReference = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

type fixture struct {
	name, path, ref string
}

// fixtures are the accuracy recordings: the five LibriVox clips (reference
// lines "<s> words </s> (file-id)") and the JFK sample from the models
// cache.
func fixtures(t testing.TB) []fixture {
	t.Helper()
	f, err := os.Open(filepath.Join(librivoxDir, "transcription"))
	if err != nil {
		t.Fatalf("%v\nInstall the LibriVox clips with `apt-get install pocketsphinx-testdata`.", err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^(.*)\(([^()]+)\)\s*$`)
	var out []fixture
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ref := strings.TrimSpace(strings.NewReplacer("<s>", "", "</s>", "").Replace(m[1]))
		out = append(out, fixture{name: m[2], path: filepath.Join(librivoxDir, m[2]+".wav"), ref: ref})
	}
	if err := sc.Err(); err != nil || len(out) != 5 {
		t.Fatalf("transcription: %d references, err %v", len(out), err)
	}
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	jfk, err := models.Path(dir, "jfk-sample")
	if err != nil {
		t.Fatalf("%v\nInstall it with `clipmesh models fetch jfk-sample` (part of `make deps`).", err)
	}
	return append(out, fixture{name: "jfk", path: jfk, ref: jfkReference})
}

// readWAV reads a 16 kHz mono PCM s16le WAV file.
func readWAV(t testing.TB, path string) engine.Audio {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := parseWAV(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

func parseWAV(b []byte) (engine.Audio, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return engine.Audio{}, errors.New("not a RIFF/WAVE file")
	}
	var fmtOK bool
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8 : min(len(b), p+8+n)]
		switch id {
		case "fmt ":
			if len(body) < 16 || binary.LittleEndian.Uint16(body) != 1 || binary.LittleEndian.Uint16(body[2:]) != 1 ||
				binary.LittleEndian.Uint32(body[4:]) != engine.SampleRate || binary.LittleEndian.Uint16(body[14:]) != 16 {
				return engine.Audio{}, errors.New("want PCM s16le 16 kHz mono")
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return engine.Audio{}, errors.New("data before fmt")
			}
			s := make([]int16, len(body)/2)
			for i := range s {
				s[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return engine.Int16Audio(s), nil
		}
		p += 8 + n + n%2
	}
	return engine.Audio{}, errors.New("no data chunk")
}

// baseline runs Debian's pocketsphinx_continuous with its defaults on a file
// and returns the recognized text.
func baseline(t testing.TB, path string) string {
	t.Helper()
	bin, err := exec.LookPath("pocketsphinx_continuous")
	if err != nil {
		t.Fatalf("%v\nInstall the baseline with `apt-get install pocketsphinx`.", err)
	}
	out, err := exec.Command(bin, "-infile", path, "-logfn", os.DevNull).Output()
	if err != nil {
		t.Fatalf("pocketsphinx_continuous %s: %v", path, err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

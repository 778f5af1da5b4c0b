package ppocr_test

import (
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
	"github.com/clipmesh/clipmesh/platform/ort/ppocr"
)

const font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// render draws lines of text with ffmpeg's drawtext (DejaVu Sans) on a
// background, one line at each y.
func render(t *testing.T, w, h int, bg, fg string, size int, lines map[int]string) image.Image {
	t.Helper()
	if _, err := os.Stat(font); err != nil {
		t.Fatalf("%v (install fonts-dejavu-core)", err)
	}
	var filters []string
	for y, text := range lines {
		f := filepath.Join(t.TempDir(), "line.txt")
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		filters = append(filters, "drawtext=fontfile="+font+":textfile="+f+":fontsize="+strconv.Itoa(size)+":expansion=none:fontcolor="+fg+":x=(w-text_w)/2:y="+strconv.Itoa(y))
	}
	out := filepath.Join(t.TempDir(), "text.png")
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c="+bg+":s="+strconv.Itoa(w)+"x"+strconv.Itoa(h),
		"-frames:v", "1", "-vf", strings.Join(filters, ","), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// cer is the character error rate of got against want (edit distance over
// the length of want).
func cer(want, got string) float64 {
	a, b := []rune(want), []rune(got)
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev = cur
	}
	return float64(prev[len(b)]) / float64(max(1, len(a)))
}

func newReader(t *testing.T) *ppocr.Reader {
	t.Helper()
	orttest.Init(t)
	r, err := ppocr.New(orttest.Model(t, ppocr.DetModelName), orttest.Model(t, ppocr.RecModelName), orttest.Model(t, ppocr.KeysName), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestReadsRenderedLines(t *testing.T) {
	r := newReader(t)
	cases := []struct {
		name   string
		w, h   int
		bg, fg string
		size   int
		lines  map[int]string
	}{
		{"black on white", 800, 200, "white", "black", 40, map[int]string{30: "Quick brown fox 2026", 110: "jumps over the lazy dog"}},
		{"caption on dark", 1280, 720, "0x203040", "white", 48, map[int]string{600: "Subtitles can be read back, 100%"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := render(t, tc.w, tc.h, tc.bg, tc.fg, tc.size, tc.lines)
			got, err := r.Read(img)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range got {
				t.Logf("%q box %v box score %.2f confidence %.2f", l.Text, l.Box, l.BoxScore, l.Confidence)
			}
			var ys []int
			for y := range tc.lines {
				ys = append(ys, y)
			}
			if len(got) != len(tc.lines) {
				t.Fatalf("read %d lines, want %d", len(got), len(tc.lines))
			}
			slices.Sort(ys)
			for i, y := range ys {
				want := tc.lines[y]
				if c := cer(want, got[i].Text); c > 0.05 {
					t.Errorf("line %d: read %q, want %q (CER %.2f > 0.05)", i, got[i].Text, want, c)
				}
				if got[i].Box.Min.Y > y+tc.size || got[i].Box.Max.Y < y {
					t.Errorf("line %d box %v is not at y %d", i, got[i].Box, y)
				}
			}
		})
	}
}

// TestBatchedRecognition reads the same lines one per inference and in one
// batch (padded to the widest line): the text must not change.
func TestBatchedRecognition(t *testing.T) {
	r := newReader(t)
	img := render(t, 800, 200, "white", "black", 40, map[int]string{30: "Quick brown fox 2026", 110: "jumps over"})
	lines, err := r.Read(img)
	if err != nil || len(lines) != 2 {
		t.Fatalf("read %+v, %v", lines, err)
	}
	boxes := []image.Rectangle{lines[0].Box, lines[1].Box}
	r.Batch = 8
	batched, err := r.Recognize(img, boxes)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		if batched[i].Text != lines[i].Text {
			t.Errorf("line %d: %q alone, %q in a batch", i, lines[i].Text, batched[i].Text)
		}
	}
}

// TestCaptionOverPhoto renders a bordered caption and a title over
// astronaut.png (python3-skimage) scaled to 1024x1024, and reads both rows.
func TestCaptionOverPhoto(t *testing.T) {
	r := newReader(t)
	out := filepath.Join(t.TempDir(), "caption.png")
	vf := "scale=1024:1024," +
		"drawtext=fontfile=" + filepath.Join(filepath.Dir(font), "DejaVuSans-Bold.ttf") + ":text='Mission Control 1998':fontsize=56:fontcolor=yellow:borderw=3:bordercolor=black:x=(w-text_w)/2:y=880," +
		"drawtext=fontfile=" + font + ":text='live from orbit':fontsize=36:fontcolor=white:x=40:y=40"
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-y", "-i", "/usr/lib/python3/dist-packages/skimage/data/astronaut.png", "-vf", vf, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := r.Read(img)
	if err != nil {
		t.Fatal(err)
	}
	rows := ppocr.MergeRows(lines)
	var got []string
	for _, l := range rows {
		t.Logf("%q %v", l.Text, l.Box)
		got = append(got, l.Text)
	}
	want := []string{"live from orbit", "Mission Control 1998"}
	if len(got) != len(want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	for i := range want {
		if c := cer(want[i], got[i]); c > 0.05 {
			t.Errorf("row %d: %q, want %q (CER %.2f)", i, got[i], want[i], c)
		}
	}
	if b := rows[1].Box; b.Min.Y < 860 || b.Max.Y > 960 {
		t.Errorf("caption box %v, want around y 880..940", b)
	}
}

func TestMergeRows(t *testing.T) {
	lines := []ppocr.Line{
		{Text: "a", Box: image.Rect(0, 0, 10, 10), Confidence: 1},
		{Text: "bc", Box: image.Rect(20, 1, 40, 11), Confidence: 0.5},
		{Text: "d", Box: image.Rect(0, 30, 10, 40), Confidence: 1},
	}
	got := ppocr.MergeRows(lines)
	if len(got) != 2 || got[0].Text != "a bc" || got[0].Box != image.Rect(0, 0, 40, 11) || got[1].Text != "d" {
		t.Fatalf("%+v", got)
	}
	if c := got[0].Confidence; c < 0.66 || c > 0.67 {
		t.Errorf("merged confidence %v, want (1*1 + 0.5*2)/3", c)
	}
}

func TestBlankImageHasNoText(t *testing.T) {
	r := newReader(t)
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	got, err := r.Read(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("read %+v from a blank image", got)
	}
}

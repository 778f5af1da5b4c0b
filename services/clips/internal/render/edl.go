package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/clipmesh/clipmesh/services/clips/internal/inputerr"
)

// Edit is one clip as an editor sees it: a range of a source file.
type Edit struct {
	// Title names the clip (the EDL title, the FCPXML project).
	Title string
	// Source is the source file's path.
	Source string
	// In and Out are the clip's range in source seconds.
	In, Out float64
	// FPSNum/FPSDen is the source frame rate, e.g. 25/1 or 30000/1001.
	FPSNum, FPSDen int
	// Width and Height are the source frame size (FCPXML format).
	Width, Height int
	// SourceDuration is the source's length in seconds (FCPXML asset).
	SourceDuration float64
	// HasAudio says whether the source has audio.
	HasAudio bool
}

func (e Edit) validate() error {
	switch {
	case e.FPSNum <= 0 || e.FPSDen <= 0:
		return inputerr.New("fps", fmt.Sprintf("%d/%d", e.FPSNum, e.FPSDen), "must be positive")
	case math.IsNaN(e.In) || e.In < 0:
		return inputerr.New("start", fmt.Sprint(e.In), "must be >= 0")
	case math.IsNaN(e.Out) || e.Out <= e.In:
		return inputerr.New("end", fmt.Sprint(e.Out), "must be after start")
	case e.Source == "":
		return inputerr.New("source", "", "required")
	}
	return nil
}

// frames converts seconds to a whole frame count at the edit's rate.
func (e Edit) frames(t float64) int64 {
	return int64(math.Round(t * float64(e.FPSNum) / float64(e.FPSDen)))
}

// Timecode formats a frame count as non-drop-frame HH:MM:SS:FF at the
// nominal (rounded) rate fps.
func Timecode(frames int64, fps int) string {
	f := frames % int64(fps)
	s := frames / int64(fps)
	return fmt.Sprintf("%02d:%02d:%02d:%02d", s/3600, s/60%60, s%60, f)
}

// WriteEDL writes e as a one-event CMX3600 EDL. Source timecodes are the
// clip's in/out frames at the source rate (non-drop-frame, counted from
// 00:00:00:00); the record side starts at 01:00:00:00.
func WriteEDL(w io.Writer, e Edit) error {
	if err := e.validate(); err != nil {
		return err
	}
	fps := int(math.Round(float64(e.FPSNum) / float64(e.FPSDen)))
	in, out := e.frames(e.In), e.frames(e.Out)
	rec := int64(3600 * fps)
	name := filepath.Base(e.Source)
	title := strings.ToUpper(strings.ReplaceAll(e.Title, "\n", " "))
	if title == "" {
		title = strings.TrimSuffix(name, filepath.Ext(name))
	}
	channels := "V"
	if e.HasAudio {
		channels = "AA/V"
	}
	_, err := fmt.Fprintf(w, "TITLE: %s\nFCM: NON-DROP FRAME\n\n001  AX       %-5s C        %s %s %s %s\n* FROM CLIP NAME: %s\n",
		title, channels, Timecode(in, fps), Timecode(out, fps), Timecode(rec, fps), Timecode(rec+out-in, fps), name)
	return err
}

// FCPXML is the subset of FCPXML 1.9 that WriteFCPXML writes (and that
// tests read back).
type FCPXML struct {
	XMLName   xml.Name `xml:"fcpxml"`
	Version   string   `xml:"version,attr"`
	Resources struct {
		Formats []FCPFormat `xml:"format"`
		Assets  []FCPAsset  `xml:"asset"`
	} `xml:"resources"`
	Library struct {
		Event struct {
			Name    string `xml:"name,attr"`
			Project struct {
				Name     string `xml:"name,attr"`
				Sequence struct {
					Format   string `xml:"format,attr"`
					Duration string `xml:"duration,attr"`
					TCStart  string `xml:"tcStart,attr"`
					TCFormat string `xml:"tcFormat,attr"`
					Spine    struct {
						Clips []FCPAssetClip `xml:"asset-clip"`
					} `xml:"spine"`
				} `xml:"sequence"`
			} `xml:"project"`
		} `xml:"event"`
	} `xml:"library"`
}

// FCPFormat is an FCPXML <format>.
type FCPFormat struct {
	ID            string `xml:"id,attr"`
	FrameDuration string `xml:"frameDuration,attr"`
	Width         int    `xml:"width,attr,omitempty"`
	Height        int    `xml:"height,attr,omitempty"`
}

// FCPAsset is an FCPXML <asset>.
type FCPAsset struct {
	ID       string `xml:"id,attr"`
	Name     string `xml:"name,attr"`
	Src      string `xml:"src,attr"`
	Start    string `xml:"start,attr"`
	Duration string `xml:"duration,attr"`
	HasVideo string `xml:"hasVideo,attr"`
	HasAudio string `xml:"hasAudio,attr,omitempty"`
	Format   string `xml:"format,attr"`
}

// FCPAssetClip is an FCPXML <asset-clip> in the spine.
type FCPAssetClip struct {
	Ref      string `xml:"ref,attr"`
	Name     string `xml:"name,attr"`
	Offset   string `xml:"offset,attr"`
	Start    string `xml:"start,attr"`
	Duration string `xml:"duration,attr"`
	TCFormat string `xml:"tcFormat,attr"`
}

// FCPTime formats a frame count as an FCPXML rational time ("75/25s",
// "3003/30000s") at rate num/den.
func FCPTime(frames int64, num, den int) string {
	if frames == 0 {
		return "0s"
	}
	return fmt.Sprintf("%d/%ds", frames*int64(den), num)
}

// WriteFCPXML writes e as an FCPXML 1.9 document: one asset (the source),
// one project whose spine holds the clip as an asset-clip starting at the
// in point, every time a whole number of source frames.
func WriteFCPXML(w io.Writer, e Edit) error {
	if err := e.validate(); err != nil {
		return err
	}
	abs, err := filepath.Abs(e.Source)
	if err != nil {
		return err
	}
	name := filepath.Base(e.Source)
	in, out := e.frames(e.In), e.frames(e.Out)
	t := func(f int64) string { return FCPTime(f, e.FPSNum, e.FPSDen) }
	var doc FCPXML
	doc.Version = "1.9"
	doc.Resources.Formats = []FCPFormat{{ID: "r1", FrameDuration: FCPTime(1, e.FPSNum, e.FPSDen), Width: e.Width, Height: e.Height}}
	srcDur := max(e.frames(e.SourceDuration), out)
	asset := FCPAsset{ID: "r2", Name: name, Src: (&url.URL{Scheme: "file", Path: abs}).String(),
		Start: "0s", Duration: t(srcDur), HasVideo: "1", Format: "r1"}
	if e.HasAudio {
		asset.HasAudio = "1"
	}
	doc.Resources.Assets = []FCPAsset{asset}
	title := e.Title
	if title == "" {
		title = strings.TrimSuffix(name, filepath.Ext(name))
	}
	ev := &doc.Library.Event
	ev.Name = "clipmesh"
	ev.Project.Name = title
	seq := &ev.Project.Sequence
	seq.Format, seq.Duration, seq.TCStart, seq.TCFormat = "r1", t(out-in), "0s", "NDF"
	seq.Spine.Clips = []FCPAssetClip{{Ref: "r2", Name: name, Offset: "0s", Start: t(in), Duration: t(out - in), TCFormat: "NDF"}}
	if _, err := io.WriteString(w, xml.Header+"<!DOCTYPE fcpxml>\n"); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// NewEdit builds the Edit of [in, out) of source from its probed info.
func NewEdit(title, source string, in, out float64, info Info) Edit {
	return Edit{Title: title, Source: source, In: in, Out: out, FPSNum: info.FPSNum, FPSDen: info.FPSDen,
		Width: info.Width, Height: info.Height, SourceDuration: info.Duration, HasAudio: info.HasAudio}
}

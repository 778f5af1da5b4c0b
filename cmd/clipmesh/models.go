package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/clipmesh/clipmesh/platform/models"
)

type modelsCmd struct {
	Fetch modelsFetchCmd `cmd:"" help:"Fetch, verify and install the models of the manifest into the cache (npm pack, never npm install)."`
	List  modelsListCmd  `cmd:"" help:"List the models of the manifest, whether each is installed and verified, and which service uses it."`
}

type modelsDirFlag struct {
	ModelsDir string `name:"models-dir" env:"CLIPMESH_MODELS_DIR" help:"Models cache directory (default $XDG_CACHE_HOME/clipmesh/models)."`
}

type modelsFetchCmd struct {
	modelsDirFlag `embed:""`
	Names         []string `arg:"" optional:"" name:"name" help:"Entries to fetch (default: every entry). TF.js models are converted to ONNX after fetching."`
}

func (c *modelsFetchCmd) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := models.Dir(c.ModelsDir)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "models: fetching into %s\n", dir)
	progress := func(msg string) { fmt.Fprintln(os.Stderr, "models:", msg) }
	if err := models.Fetch(ctx, dir, progress, c.Names...); err != nil {
		return fmt.Errorf("models fetch: %w", err)
	}
	fmt.Fprintf(os.Stderr, "models: done in %s; `clipmesh models list` shows them\n", time.Since(start).Round(10*time.Millisecond))
	return nil
}

type modelsListCmd struct {
	modelsDirFlag `embed:""`
}

func (c *modelsListCmd) Run() error {
	dir, err := models.Dir(c.ModelsDir)
	if err != nil {
		return err
	}
	sts, err := models.Status(dir)
	if err != nil {
		return err
	}
	return printModels(os.Stdout, dir, sts)
}

// printModels writes the table of `clipmesh models list`, then the details
// of every entry that is not usable.
func printModels(w io.Writer, dir string, sts []models.EntryStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATUS\tSIZE\tLICENSE\tSERVICES")
	missing := 0
	var notes []string
	for _, st := range sts {
		e := st.Entry
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Kind, st.State,
			models.HumanSize(e.TotalSize()), e.License, strings.Join(e.Services, ","))
		switch st.State {
		case models.StateMissing:
			missing++
		case models.StateCorrupt:
			notes = append(notes, st.Err.Error())
		}
		if e.Convert != "" {
			notes = append(notes, fmt.Sprintf("%s: %s from %s, converted by clipmesh (%s, sha256 %s)", e.Name, e.Convert, e.SourceString(), e.Converted.Path, e.Converted.SHA256[:12]))
		}
		if e.Note != "" {
			notes = append(notes, e.Name+": "+e.Note)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nmodels dir: %s\n", dir)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	if missing > 0 {
		fmt.Fprintf(w, "%d missing: run `%s`\n", missing, models.FetchCommand(dir))
	}
	return nil
}

// Package ffmpegx holds what every service that runs ffmpeg needs to know
// about it, so results can name the engine that produced them.
package ffmpegx

import (
	"context"
	"os/exec"
	"strings"
	"sync"
)

var versions sync.Map // binary → version string

// Version returns the version of the ffmpeg binary bin ("ffmpeg" when
// empty), e.g. "5.1.6-0+deb12u1", or "unknown"; it runs `bin -version` once
// per binary per process.
func Version(ctx context.Context, bin string) string {
	if bin == "" {
		bin = "ffmpeg"
	}
	if v, ok := versions.Load(bin); ok {
		return v.(string)
	}
	v := "unknown"
	// "ffmpeg version 5.1.6-0+deb12u1 Copyright ..."
	if out, err := exec.CommandContext(context.WithoutCancel(ctx), bin, "-version").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) >= 3 && f[1] == "version" {
			v = f[2]
		}
	}
	actual, _ := versions.LoadOrStore(bin, v)
	return actual.(string)
}

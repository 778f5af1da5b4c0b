package config_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clipmesh/clipmesh/platform/config"
)

func TestMaskURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no credentials", "postgres://db.internal:5432/clipmesh?sslmode=disable", "postgres://db.internal:5432/clipmesh?sslmode=disable"},
		{"user only", "postgres://clipmesh@db/clipmesh", "postgres://clipmesh@db/clipmesh"},
		{"user and password", "postgres://clipmesh:s3cret@db:5432/clipmesh", "postgres://clipmesh:xxxxx@db:5432/clipmesh"},
		{"no path", "nats://app:s3cret@nats:4222", "nats://app:xxxxx@nats:4222"},
		{"password with @", "postgres://u:p@ss@db/x", "postgres://u:xxxxx@db/x"},
		{"@ in the path", "postgres://u:pw@db/a@b", "postgres://u:xxxxx@db/a@b"},
		{"empty user", "redis://:s3cret@cache:6379/0", "redis://:xxxxx@cache:6379/0"},
		{"empty password", "postgres://u:@db/x", "postgres://u:xxxxx@db/x"},
		{"password parameter", "postgres://u@db/x?sslmode=disable&password=s3cret", "postgres://u@db/x?sslmode=disable&password=xxxxx"},
		{"first parameter", "postgres://db/x?password=s3cret&sslmode=disable", "postgres://db/x?password=xxxxx&sslmode=disable"},
		{"sslpassword parameter", "postgres://db/x?sslpassword=s3cret", "postgres://db/x?sslpassword=xxxxx"},
		{"both", "postgres://u:one@db/x?password=two", "postgres://u:xxxxx@db/x?password=xxxxx"},
		{"key=value DSN", "host=db user=u password=s3cret dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{"key=value DSN, quoted", "host=db password='s3 cret' dbname=x", "host=db password=xxxxx dbname=x"},
		{"key=value DSN, first", "password=s3cret host=db", "password=xxxxx host=db"},
		{
			"URL list", "nats://a:one@n1:4222,nats://b:two@n2:4222",
			"nats://a:xxxxx@n1:4222,nats://b:xxxxx@n2:4222",
		},
		{"not a password parameter", "s3://bucket?region=eu&passwordless=1", "s3://bucket?region=eu&passwordless=1"},
		{"plain path", "/var/lib/clipmesh/db.sqlite", "/var/lib/clipmesh/db.sqlite"},
		{"mem blob", "mem://", "mem://"},
		{"host:port", "127.0.0.1:4222", "127.0.0.1:4222"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := config.MaskURL(tt.in); got != tt.want {
				t.Errorf("MaskURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	// t.Setenv: not parallel.
	t.Run("XDG_DATA_HOME", func(t *testing.T) {
		t.Setenv("XDG_DATA_HOME", "/srv/data")
		if got, want := config.DefaultDataDir(), filepath.Join("/srv/data", "clipmesh"); got != want {
			t.Errorf("DefaultDataDir() = %q, want %q", got, want)
		}
	})
	t.Run("home", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("XDG_DATA_HOME", "")
		t.Setenv("HOME", home)
		if got, want := config.DefaultDataDir(), filepath.Join(home, ".local", "share", "clipmesh"); got != want {
			t.Errorf("DefaultDataDir() = %q, want %q", got, want)
		}
	})
	t.Run("Resolve", func(t *testing.T) {
		t.Setenv("XDG_DATA_HOME", "/srv/data")
		var c config.Common
		c.Resolve()
		if want := filepath.Join("/srv/data", "clipmesh"); c.DataDir != want {
			t.Errorf("Resolve() DataDir = %q, want %q", c.DataDir, want)
		}
		c = config.Common{DataDir: "/mine"}
		c.Resolve()
		if c.DataDir != "/mine" {
			t.Errorf("Resolve() replaced a set DataDir with %q", c.DataDir)
		}
	})
}

func TestLogValue(t *testing.T) {
	t.Parallel()
	const (
		dbPass    = "db-pa55word"
		paramPass = "param-pa55word"
		natsPass  = "nats-pa55word"
		blobPass  = "blob-pa55word"
		token     = "mesh-t0ken-value"
	)
	c := config.Common{
		DataDir:         "/var/lib/clipmesh",
		GRPCAddr:        "0.0.0.0:9090",
		HTTPAddr:        "0.0.0.0:8080",
		AdminAddr:       "127.0.0.1:6060",
		DatabaseURL:     "postgres://clipmesh:" + dbPass + "@db:5432/clipmesh?sslpassword=" + paramPass,
		NATSURL:         "nats://app:" + natsPass + "@n1:4222,nats://app:" + natsPass + "@n2:4222",
		BlobURL:         "s3://minio:" + blobPass + "@bucket",
		MeshAddr:        "jobs:9090",
		MeshToken:       token,
		LogLevel:        "debug",
		LogFormat:       "json",
		ShutdownTimeout: 20 * time.Second,
		MaxUploadBytes:  1 << 30,
	}

	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			var h slog.Handler = slog.NewJSONHandler(&buf, nil)
			if format == "text" {
				h = slog.NewTextHandler(&buf, nil)
			}
			// Both as a value and through a pointer, as callers pass it.
			slog.New(h).Info("starting", "config", c, "config_ptr", &c)
			out := buf.String()
			for _, secret := range []string{dbPass, paramPass, natsPass, blobPass, token} {
				if strings.Contains(out, secret) {
					t.Errorf("log line contains the secret %q:\n%s", secret, out)
				}
			}
			for _, want := range []string{"0.0.0.0:9090", "jobs:9090", "xxxxx", "n1:4222", "n2:4222"} {
				if !strings.Contains(out, want) {
					t.Errorf("log line lacks %q:\n%s", want, out)
				}
			}
		})
	}

	t.Run("fields", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
		var line struct {
			Config map[string]any `json:"config"`
		}
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"data_dir":         "/var/lib/clipmesh",
			"grpc_addr":        "0.0.0.0:9090",
			"http_addr":        "0.0.0.0:8080",
			"admin_addr":       "127.0.0.1:6060",
			"database_url":     "postgres://clipmesh:xxxxx@db:5432/clipmesh?sslpassword=xxxxx",
			"nats_url":         "nats://app:xxxxx@n1:4222,nats://app:xxxxx@n2:4222",
			"nats_listen":      "",
			"blob_url":         "s3://minio:xxxxx@bucket",
			"mesh_addr":        "jobs:9090",
			"mesh_token_set":   true,
			"log_level":        "debug",
			"shutdown_timeout": float64(20 * time.Second),
			"max_upload_bytes": float64(1 << 30),
		}
		if diff := cmp.Diff(want, line.Config); diff != "" {
			t.Errorf("logged config (-want +got):\n%s", diff)
		}
	})

	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", config.Common{})
		if !strings.Contains(buf.String(), `"mesh_token_set":false`) {
			t.Errorf("log line %s lacks mesh_token_set false", buf.String())
		}
	})
}

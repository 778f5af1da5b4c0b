// Package config is the configuration every clipmesh process shares, read
// from flags and CLIPMESH_* environment variables with documented defaults.
package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Common is the configuration shared by every process. Field tags drive
// the CLI (github.com/alecthomas/kong): flag name, env var, default, help.
type Common struct {
	DataDir         string        `name:"data-dir" env:"CLIPMESH_DATA_DIR" help:"Directory for SQLite, blobs and embedded NATS (default $XDG_DATA_HOME/clipmesh)."`
	GRPCAddr        string        `name:"grpc-addr" env:"CLIPMESH_GRPC_ADDR" default:"127.0.0.1:9090" help:"gRPC listen address."`
	HTTPAddr        string        `name:"http-addr" env:"CLIPMESH_HTTP_ADDR" default:"127.0.0.1:8080" help:"HTTP listen address (REST, health, metrics)."`
	AdminAddr       string        `name:"admin-addr" env:"CLIPMESH_ADMIN_ADDR" default:"127.0.0.1:6060" help:"pprof listen address; empty disables."`
	DatabaseURL     string        `name:"database-url" env:"CLIPMESH_DATABASE_URL" help:"postgres://... for PostgreSQL; empty for SQLite in the data dir."`
	NATSURL         string        `name:"nats-url" env:"CLIPMESH_NATS_URL" help:"External NATS URL(s); empty runs an embedded NATS with JetStream."`
	NATSListen      string        `name:"nats-listen" env:"CLIPMESH_NATS_LISTEN" help:"Let other processes join the embedded NATS on this address, e.g. 127.0.0.1:4222."`
	BlobURL         string        `name:"blob-url" env:"CLIPMESH_BLOB_URL" help:"gocloud.dev blob URL; empty for a folder in the data dir."`
	MeshAddr        string        `name:"mesh-addr" env:"CLIPMESH_MESH_ADDR" help:"gRPC address of the other services (default: this process); CLIPMESH_<SERVICE>_ADDR overrides one service."`
	MeshToken       string        `name:"mesh-token" env:"CLIPMESH_MESH_TOKEN" help:"Shared secret that lets services pass the caller's identity along (generated per process when empty)."`
	LogLevel        string        `name:"log-level" env:"CLIPMESH_LOG_LEVEL" default:"info" help:"debug, info, warn or error."`
	LogFormat       string        `name:"log-format" env:"CLIPMESH_LOG_FORMAT" default:"json" help:"json or text."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" env:"CLIPMESH_SHUTDOWN_TIMEOUT" default:"15s" help:"Bound on graceful shutdown."`
	MaxUploadBytes  int64         `name:"max-upload-bytes" env:"CLIPMESH_MAX_UPLOAD_BYTES" default:"8589934592" help:"Largest accepted upload (8 GiB)."`
	CORSOrigins     []string      `name:"cors-origins" env:"CLIPMESH_CORS_ORIGINS" help:"Origins allowed by CORS on the REST API; empty sends no CORS headers."`
}

// DefaultDataDir is $XDG_DATA_HOME/clipmesh, else ~/.local/share/clipmesh.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "clipmesh")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "clipmesh")
	}
	return filepath.Join(os.TempDir(), "clipmesh")
}

// Resolve fills computed defaults.
func (c *Common) Resolve() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
}

// LogValue logs the configuration with secrets masked.
func (c Common) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("data_dir", c.DataDir),
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("admin_addr", c.AdminAddr),
		slog.String("database_url", MaskURL(c.DatabaseURL)),
		slog.String("nats_url", MaskURL(c.NATSURL)),
		slog.String("nats_listen", c.NATSListen),
		slog.String("blob_url", MaskURL(c.BlobURL)),
		slog.String("mesh_addr", c.MeshAddr),
		slog.Bool("mesh_token_set", c.MeshToken != ""),
		slog.String("log_level", c.LogLevel),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Int64("max_upload_bytes", c.MaxUploadBytes),
	)
}

// MaskURL hides the passwords of a URL like scheme://user:pass@host (or of
// each URL of a comma-separated list), and the values of password= and
// sslpassword= parameters, in a URL query or a key=value connection string.
func MaskURL(u string) string {
	u = userinfoPassword.ReplaceAllString(u, "${1}:xxxxx@")
	return paramPassword.ReplaceAllString(u, "${1}${2}xxxxx")
}

var (
	// userinfoPassword matches ://user:password@; the password may itself
	// contain '@' (the last one before the path ends it).
	userinfoPassword = regexp.MustCompile(`(://[^:/?#@,\s]*):[^/?#\s]*@`)
	// paramPassword matches a password or sslpassword parameter and its
	// value, quoted or not.
	paramPassword = regexp.MustCompile(`(?i)(^|[?&;\s])((?:ssl)?password\s*=\s*)('[^']*'|[^&;\s]*)`)
)

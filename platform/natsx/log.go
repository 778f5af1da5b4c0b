package natsx

import (
	"context"
	"fmt"
	"log/slog"
)

// serverLogger adapts nats-server's Logger interface to slog.
//
// The embedded server's startup banner and notices are noise in a service's
// log, so they reach slog only when the service logs at debug level. Fatal
// messages are always captured: nats-server reports start failures (store dir
// not writable, listen address taken) only through Fatalf, and without the
// capture Connect could say no more than "not ready in time".
type serverLogger struct {
	log     *slog.Logger
	forward bool
	fatal   chan string // buffered (1); the first fatal message wins
}

func newServerLogger(log *slog.Logger, forward bool) *serverLogger {
	return &serverLogger{
		log:     log.With(slog.String("component", "nats-server")),
		forward: forward,
		fatal:   make(chan string, 1),
	}
}

func (l *serverLogger) emit(level slog.Level, format string, v []any) {
	if l.forward {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

func (l *serverLogger) Noticef(format string, v ...any) { l.emit(slog.LevelInfo, format, v) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.emit(slog.LevelDebug, format, v) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.emit(slog.LevelDebug, format, v) }

// Fatalf records the message for Connect instead of exiting: nats-server's own
// loggers call os.Exit here, which an embedding process must never allow.
func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.emit(slog.LevelError, format, v)
	select {
	case l.fatal <- msg:
	default:
	}
}

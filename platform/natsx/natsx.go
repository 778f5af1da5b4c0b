package natsx

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// connectTimeout bounds the initial connect when ctx has no earlier
	// deadline: a wrong URL must fail a service's start, not hang it.
	connectTimeout = 10 * time.Second
	// startTimeout bounds the embedded server's start; JetStream recovers its
	// whole store during start, so this is generous.
	startTimeout = 30 * time.Second
	// readyPoll is how often the embedded server's start is checked, so a
	// fatal error or a cancelled ctx is noticed quickly.
	readyPoll = 50 * time.Millisecond
)

// Options configure the connection.
type Options struct {
	// URL of external NATS server(s), comma-separated. Empty means run an embedded nats-server with JetStream.
	URL string
	// StoreDir is the embedded server's JetStream store directory (required when URL is empty).
	StoreDir string
	// ListenAddr, when set (e.g. "127.0.0.1:4222"), makes the embedded server also accept TCP clients so
	// separately run services can join the all-in-one's NATS; empty means no socket at all
	// (server.Options.DontListen + nats.InProcessServer). Port 0 picks a free port. The listener has
	// no authentication, so bind it to loopback unless the network is trusted.
	ListenAddr string
	// Name is the client connection name (the service name).
	Name string
	// Logger receives connection events (disconnect, reconnect, errors) via slog; the embedded
	// server's own logs are off unless Logger is enabled at debug level. Nil means slog.Default().
	Logger *slog.Logger
}

// Conn is a live NATS connection with JetStream.
type Conn struct {
	// NC is the core NATS connection, for plain publish/subscribe.
	NC *nats.Conn
	// JS is the JetStream API on NC, for streams, consumers and acked publishes.
	JS jetstream.JetStream

	srv       *server.Server // nil when connected to an external server
	clientURL string
	closed    chan struct{} // closed by NC's ClosedHandler

	closeOnce sync.Once
	closeErr  error
}

// Connect connects to opts.URL or, when it is empty, starts an embedded
// nats-server with JetStream and connects to it in-process.
//
// An external connection reconnects forever once established (a NATS restart
// must not take the services down with it), but the initial connect is bounded
// by ctx and a default timeout and fails with an error naming the URL, so a
// misconfiguration is visible at start. The embedded server stores JetStream
// data under opts.StoreDir, gets a unique server name, and must be ready within
// the same bounds.
//
// Connect does not require JetStream of an external server (it may still be
// enabling it); Ready reports whether JetStream answers.
func Connect(ctx context.Context, opts Options) (*Conn, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.URL != "" {
		if opts.ListenAddr != "" {
			log.WarnContext(ctx, "natsx: ListenAddr is ignored when connecting to an external NATS URL",
				slog.String("listen_addr", opts.ListenAddr))
		}
		return connectExternal(ctx, opts, log)
	}
	return connectEmbedded(ctx, opts, log)
}

func connectExternal(ctx context.Context, opts Options, log *slog.Logger) (*Conn, error) {
	c := &Conn{clientURL: opts.URL, closed: make(chan struct{})}
	nc, err := dial(ctx, opts.URL, c.clientOptions(opts.Name, log))
	if err != nil {
		return nil, fmt.Errorf("natsx: connect to %s: %w", redactURLs(opts.URL), err)
	}
	if err := c.attach(nc); err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "natsx: connected", slog.String("url", nc.ConnectedUrlRedacted()),
		slog.String("server", nc.ConnectedServerName()))
	return c, nil
}

func connectEmbedded(ctx context.Context, opts Options, log *slog.Logger) (*Conn, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsx: StoreDir is required to run the embedded NATS server (URL is empty)")
	}
	sopts := &server.Options{
		ServerName: serverName(opts.Name),
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		DontListen: true,
		// Without NoSigs the server traps SIGINT/SIGTERM and calls os.Exit,
		// pre-empting the service's own graceful shutdown.
		NoSigs: true,
		// The monitoring port stays off (HTTPPort 0): the service has its own
		// health and metrics endpoints.
	}
	if opts.ListenAddr != "" {
		host, port, err := splitListenAddr(opts.ListenAddr)
		if err != nil {
			return nil, err
		}
		sopts.DontListen = false
		sopts.Host = host
		sopts.Port = port
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("natsx: configure embedded NATS server: %w", err)
	}
	srvLog := newServerLogger(log, log.Enabled(ctx, slog.LevelDebug))
	srv.SetLoggerV2(srvLog, srvLog.forward, false, false)

	// Start runs in its own goroutine (as nats-server's own tests do) so that
	// ctx can interrupt a slow JetStream recovery.
	go srv.Start()
	if err := waitStarted(ctx, srv, srvLog.fatal); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsx: start embedded NATS server (store %s): %w", opts.StoreDir, err)
	}

	c := &Conn{srv: srv, closed: make(chan struct{})}
	if opts.ListenAddr != "" {
		c.clientURL = listenURL(srv)
	}
	nc, err := dial(ctx, srv.ClientURL(), append(c.clientOptions(opts.Name, log), nats.InProcessServer(srv)))
	if err == nil {
		err = c.attach(nc)
	}
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsx: connect to embedded NATS server: %w", err)
	}
	log.InfoContext(ctx, "natsx: embedded NATS server started", slog.String("server", srv.Name()),
		slog.String("store_dir", opts.StoreDir), slog.String("client_url", c.clientURL))
	return c, nil
}

// attach sets NC and JS.
func (c *Conn) attach(nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("natsx: jetstream: %w", err)
	}
	c.NC, c.JS = nc, js
	return nil
}

// clientOptions are the options shared by external and in-process clients.
func (c *Conn) clientOptions(name string, log *slog.Logger) []nats.Option {
	bg := context.Background() // connection callbacks have no request context
	var closeOnce sync.Once
	return []nats.Option{
		nats.Name(name),
		// Reconnect forever: a NATS restart or failover must not leave a
		// service running without events. Publishes are buffered meanwhile.
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.WarnContext(bg, "natsx: disconnected", slog.String("name", name), slog.Any("error", err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.InfoContext(bg, "natsx: reconnected", slog.String("name", name),
				slog.String("url", nc.ConnectedUrlRedacted()))
		}),
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.WarnContext(bg, "natsx: server entering lame duck mode, will reconnect elsewhere",
				slog.String("name", name), slog.String("url", nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.String("name", name), slog.Any("error", err)}
			if sub != nil {
				attrs = append(attrs, slog.String("subject", sub.Subject))
			}
			log.ErrorContext(bg, "natsx: async error", attrs...)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			log.DebugContext(bg, "natsx: connection closed", slog.String("name", name))
			closeOnce.Do(func() { close(c.closed) })
		}),
	}
}

// dial runs nats.Connect bounded by ctx. nats.Connect takes no context, so
// the dial timeout is capped at ctx's deadline and the call is abandoned (its
// connection closed when it arrives) if ctx ends first.
func dial(ctx context.Context, urls string, opts []nats.Option) (*nats.Conn, error) {
	timeout := connectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(urls, append(opts, nats.Timeout(timeout))...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		return r.nc, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// waitStarted waits until srv accepts clients and runs JetStream, failing fast
// on a fatal start error or when ctx ends.
func waitStarted(ctx context.Context, srv *server.Server, fatal <-chan string) error {
	deadline := time.Now().Add(startTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	for {
		select {
		case msg := <-fatal:
			return errors.New(msg)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if srv.ReadyForConnections(readyPoll) {
			if !srv.JetStreamEnabled() {
				return errors.New("server started without JetStream")
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", startTimeout)
		}
	}
}

// Embedded reports whether this Conn runs its own server.
func (c *Conn) Embedded() bool { return c.srv != nil }

// ClientURL returns a URL other processes can use: nats://host:port for an
// embedded server with ListenAddr, the configured URL for an external server,
// and "" for an embedded server without a listener (only this process can
// reach it).
func (c *Conn) ClientURL() string { return c.clientURL }

// Ready returns nil if the connection is connected and JetStream answers, for
// readiness checks. A draining or reconnecting connection is not ready, so a
// service leaves the load balancer before its NATS goes away.
func (c *Conn) Ready(ctx context.Context) error {
	if st := c.NC.Status(); st != nats.CONNECTED {
		return fmt.Errorf("natsx: connection is %s", st)
	}
	if _, err := c.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("natsx: jetstream not answering: %w", err)
	}
	return nil
}

// Close drains the connection, lame-duck style: subscriptions stop taking new
// messages, the ones in flight are handled and pending publishes flushed,
// until the connection closes or ctx ends (then it is closed at once). An
// embedded server is then shut down, which flushes the JetStream store, and
// waited for. Close is safe to call more than once.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() { c.closeErr = c.close(ctx) })
	return c.closeErr
}

func (c *Conn) close(ctx context.Context) error {
	var errs []error
	err := c.NC.Drain()
	switch {
	case err == nil,
		errors.Is(err, nats.ErrConnectionClosed),       // already closed
		errors.Is(err, nats.ErrConnectionReconnecting): // Drain closed it: nothing to drain
	default:
		errs = append(errs, fmt.Errorf("natsx: drain: %w", err))
		c.NC.Close()
	}
	select {
	case <-c.closed:
	case <-ctx.Done():
		c.NC.Close()
		errs = append(errs, fmt.Errorf("natsx: drain: %w", ctx.Err()))
	}
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
	return errors.Join(errs...)
}

// serverName returns a unique name for an embedded server. nats-server derives
// the JetStream node id from the name and refuses duplicate names among the
// servers it meets, so two all-in-one processes that are ever linked must not
// both be called after the service.
func serverName(name string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-' // nats-server rejects names with spaces
	}, name)
	if clean == "" {
		clean = "clipmesh"
	}
	return clean + "-" + strings.ToLower(rand.Text()[:10])
}

// splitListenAddr parses host:port for server.Options. Port 0 means "any free
// port", which nats-server spells -1 (its 0 means the default 4222).
func splitListenAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("natsx: ListenAddr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("natsx: ListenAddr %q: invalid port", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// listenURL is the embedded server's TCP address as a client URL. A wildcard
// bind address is not dialable, so it becomes loopback.
func listenURL(srv *server.Server) string {
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	ip := addr.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return (&url.URL{Scheme: "nats", Host: net.JoinHostPort(ip.String(), strconv.Itoa(addr.Port))}).String()
}

// redactURLs hides credentials in a comma-separated URL list, for errors and
// logs: the password of user:password, and a bare user part, which NATS
// reads as a token.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); !hasPassword {
				u.User = url.User("xxxxx")
			}
			p = u.Redacted()
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hazwatch/configs"
)

// Timeouts of the HTTP server. Every request of the API is small and quick;
// a client that sends more slowly than this, or idles longer, holds a
// connection that another could use.
const (
	readHeaderTimeout = 5 * time.Second
	// readTimeout bounds reading a request, body included: a POST that
	// announces more body than it sends is cut off here.
	readTimeout = 15 * time.Second
	// writeTimeout is each handler's write deadline, which a long-lived
	// stream extends with http.ResponseController.SetWriteDeadline.
	writeTimeout = 30 * time.Second
	idleTimeout  = 60 * time.Second
	// maxHeaderBytes is far more than any client of the API sends.
	maxHeaderBytes = 64 << 10
)

// Server is hazwatch's HTTP server: the API's handler behind a listener
// with a connection cap, timeouts, an optional TLS certificate and a check
// of the Host header.
type Server struct {
	http         *http.Server
	ln           net.Listener
	tls          configs.HTTPTLS
	writeTimeout time.Duration

	open    prometheus.Gauge
	refused prometheus.Counter
}

// NewServer listens on cfg.Listen and returns the server of h, ready to
// Serve. Its metrics are registered on reg; refused connections are logged
// on log at most once every 10 seconds.
//
// Each request gets a write deadline of writeTimeout when its handler
// starts, set through http.ResponseController: a handler that streams, such
// as an event stream for the duty console, extends its own deadline the same
// way, which a server-wide WriteTimeout would not let it do.
func NewServer(cfg configs.HTTP, h http.Handler, reg prometheus.Registerer, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s := &Server{
		tls:          cfg.TLS,
		writeTimeout: writeTimeout,
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hazwatch_http_connections",
			Help: "HTTP connections open.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_http_connections_refused_total",
			Help: "HTTP connections closed at once because http.max_connections were open.",
		}),
	}
	if err := errors.Join(reg.Register(s.open), reg.Register(s.refused)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	max := cfg.MaxConnections
	if max <= 0 {
		max = configs.DefaultMaxConnections
	}
	s.ln = &limitListener{Listener: ln, max: int64(max), open: s.open, refused: s.refused, log: log,
		logs: &logLimit{every: refusalLogEvery}}
	s.http = &http.Server{
		Handler:           checkHost(cfg.AllowedHosts, s.withWriteDeadline(h)),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Serve serves until Shutdown or Close, over TLS when a certificate is
// configured; it returns http.ErrServerClosed then.
func (s *Server) Serve() error {
	if s.tls.CertFile != "" {
		return s.http.ServeTLS(s.ln, s.tls.CertFile, s.tls.KeyFile)
	}
	return s.http.Serve(s.ln)
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server gracefully within ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// Close stops the server at once.
func (s *Server) Close() error { return s.http.Close() }

// withWriteDeadline gives each request a write deadline of writeTimeout.
func (s *Server) withWriteDeadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.writeTimeout))
		h.ServeHTTP(w, r)
	})
}

// checkHost refuses (403) a request whose Host header names a host not in
// allowed, unless allowed is empty. A page of another site whose name an
// attacker points at 127.0.0.1 (DNS rebinding) sends its own name as Host,
// so it is refused; a Host that is an IP address cannot be rebound and is
// accepted, which keeps probes and scrapes by address working.
func checkHost(allowed []string, h http.Handler) http.Handler {
	if len(allowed) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hostname, _, err := net.SplitHostPort(host); err == nil {
			host = hostname
		}
		host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
		if net.ParseIP(host) == nil && !containsFold(allowed, host) {
			writeError(w, http.StatusForbidden, "host not allowed: add it to http.allowed_hosts")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// limitListener closes a new connection at once while max are open, so that
// clients that hold connections cannot make the daemon run out of file
// descriptors; the timeouts free the connections of slow and idle ones.
type limitListener struct {
	net.Listener
	max     int64
	active  atomic.Int64
	open    prometheus.Gauge
	refused prometheus.Counter
	log     *slog.Logger
	logs    *logLimit
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Add(1) <= l.max {
			l.open.Inc()
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.active.Add(-1)
		c.Close()
		l.refused.Inc()
		if n, ok := l.logs.allow(time.Now()); ok {
			l.log.Warn("http connection refused: http.max_connections are open",
				slog.Int64("max_connections", l.max), slog.String("remote", c.RemoteAddr().String()), slog.Int("refused", n))
		}
	}
}

// limitedConn gives its slot back once, when closed.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.active.Add(-1)
		c.l.open.Dec()
	})
	return c.Conn.Close()
}

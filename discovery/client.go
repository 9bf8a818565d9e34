package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of ClientConfig.
const (
	DefaultRequestTimeout   = 10 * time.Second
	DefaultWatchWait        = time.Minute
	DefaultMaxStale         = 5 * time.Minute
	DefaultBackoffMin       = 100 * time.Millisecond
	DefaultBackoffMax       = 10 * time.Second
	DefaultMaxResponseBytes = 16 << 20
	DefaultMaxCached        = 1024
)

// ClientConfig configures a Client. URL is required; every other zero field
// means the default named in its comment.
type ClientConfig struct {
	// URL is the base URL of a server running Handler, e.g.
	// "http://registry:8500".
	URL string
	// HTTPClient sends the requests; nil means a client of the Client's
	// own, released by Close. Its Timeout, if any, must exceed WatchWait.
	HTTPClient *http.Client
	// Token is sent as "Authorization: Bearer <Token>" if set.
	Token string
	// RequestTimeout bounds each request but the long polls of Query and
	// Watch; 0 means 10s.
	RequestTimeout time.Duration
	// WatchWait is the wait of each long poll of Watch; 0 means 1 minute.
	WatchWait time.Duration
	// MaxStale is how old a last-good answer may be and still be served
	// when the server fails; 0 means 5 minutes.
	MaxStale time.Duration
	// BackoffMin and BackoffMax bound the jittered exponential backoff of
	// Watch after a failure; 0 means 100ms and 10s.
	BackoffMin, BackoffMax time.Duration
	// MaxResponseBytes bounds a response body; 0 means 16 MiB.
	MaxResponseBytes int64
	// MaxCached bounds the services whose last-good answer is kept; the
	// oldest is dropped first. 0 means 1024.
	MaxCached int
	// OnStale is called whenever a last-good answer is served because the
	// server failed. It may call the Client.
	OnStale func(service string, age time.Duration, err error)
}

// Validate reports a missing or malformed URL or a negative limit, wrapping
// ErrInvalid.
func (c ClientConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: ClientConfig.URL %q is not an http(s) URL", ErrInvalid, c.URL)
	}
	if c.RequestTimeout < 0 || c.WatchWait < 0 || c.MaxStale < 0 || c.BackoffMin < 0 ||
		c.BackoffMax < 0 || c.MaxResponseBytes < 0 || c.MaxCached < 0 {
		return fmt.Errorf("%w: ClientConfig limits must not be negative", ErrInvalid)
	}
	return nil
}

// Client talks to a Handler. It offers the Registry's operations over HTTP
// and keeps, per service, the last good answer: when the server cannot be
// reached, lookups serve it (up to MaxStale old) with a *StaleError that
// says how old it is. It implements Resolver, Watcher and Registrant.
//
// A Client starts no goroutines; Watch and Query run in the caller's. Close
// releases idle connections of the client's own transport.
type Client struct {
	cfg   ClientConfig
	base  string
	http  *http.Client
	owned *http.Transport // nil when the caller supplied HTTPClient
	epoch atomic.Uint64   // last epoch the server reported; 0 = unknown

	cache *snapshotCache
	mu    sync.Mutex
	stats ClientStats
}

// ClientStats counts a Client's work.
type ClientStats struct {
	// Requests and Failures count HTTP requests and those that failed
	// (transport errors and 5xx answers).
	Requests, Failures uint64
	// StaleServed counts answers served from the last-good cache.
	StaleServed uint64
	// Restarts counts epoch changes seen: the server's registry restarted.
	Restarts uint64
}

var (
	_ Resolver   = (*Client)(nil)
	_ Watcher    = (*Client)(nil)
	_ Registrant = (*Client)(nil)
)

// NewClient returns a Client. It panics with a "discovery: ..." message if
// cfg.Validate fails.
func NewClient(cfg ClientConfig) *Client {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	setDefault(&cfg.RequestTimeout, DefaultRequestTimeout)
	setDefault(&cfg.WatchWait, DefaultWatchWait)
	setDefault(&cfg.MaxStale, DefaultMaxStale)
	setDefault(&cfg.BackoffMin, DefaultBackoffMin)
	setDefault(&cfg.BackoffMax, DefaultBackoffMax)
	setDefault(&cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	setDefault(&cfg.MaxCached, DefaultMaxCached)
	c := &Client{cfg: cfg, base: trimSlash(cfg.URL), http: cfg.HTTPClient, cache: newSnapshotCache(cfg.MaxCached)}
	if c.http == nil {
		c.owned = http.DefaultTransport.(*http.Transport).Clone()
		c.http = &http.Client{Transport: c.owned}
	}
	return c
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Close releases the idle connections of the Client's own transport. The
// Client remains usable.
func (c *Client) Close() {
	if c.owned != nil {
		c.owned.CloseIdleConnections()
	}
}

// Stats returns the Client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// CacheAge returns how old the last good answer for service is, and false
// if there is none.
func (c *Client) CacheAge(service string) (time.Duration, bool) {
	return c.cache.age(service)
}

// Register registers an instance with the server. Errors are those of
// Registry.Register carried over HTTP (an *HTTPError wrapping the same
// sentinel), ErrUnauthorized, transport failures and 5xx answers (wrapping
// ErrUnavailable), or the context's error.
func (c *Client) Register(ctx context.Context, reg Registration) (Lease, error) {
	var out leaseJSON
	if err := c.do(ctx, "/v1/register", encodeRegistration(reg), &out); err != nil {
		return Lease{}, err
	}
	return leaseFromJSON(out)
}

// Heartbeat renews a lease. ErrLeaseNotFound (through errors.Is) means the
// server no longer holds it: register again, or let Registrar do it. Other
// errors are as for Register.
func (c *Client) Heartbeat(ctx context.Context, lease Lease, status Status) error {
	return c.do(ctx, "/v1/heartbeat", leaseRequest{Service: lease.Service, ID: lease.ID, Token: lease.Token, Status: status}, nil)
}

// Drain marks the leased instance as draining, or routable again. Errors
// are as for Heartbeat.
func (c *Client) Drain(ctx context.Context, lease Lease, draining bool) error {
	return c.do(ctx, "/v1/drain", leaseRequest{Service: lease.Service, ID: lease.ID, Token: lease.Token, Draining: draining}, nil)
}

// Deregister removes the leased instance. Errors are as for Heartbeat.
func (c *Client) Deregister(ctx context.Context, lease Lease) error {
	return c.do(ctx, "/v1/deregister", leaseRequest{Service: lease.Service, ID: lease.ID, Token: lease.Token}, nil)
}

// Services lists the server's services, sorted. Errors: transport
// failures and 5xx answers (wrapping ErrUnavailable), ErrUnauthorized, or
// the context's error.
func (c *Client) Services(ctx context.Context) ([]string, error) {
	var out servicesJSON
	if err := c.get(ctx, "/v1/services", c.cfg.RequestTimeout, &out); err != nil {
		return nil, err
	}
	return out.Services, nil
}

// Lookup fetches the current state of a service. If the server cannot
// answer (transport error or 5xx) and a last good answer no older than
// MaxStale exists, Lookup returns it together with a *StaleError giving its
// age. A canceled context is never answered from the cache.
//
// Errors: *StaleError (with data), ErrInvalid (a malformed service name),
// ErrUnauthorized, transport failures and 5xx answers (wrapping
// ErrUnavailable), or the context's error.
func (c *Client) Lookup(ctx context.Context, service string) (Snapshot, error) {
	snap, _, err := c.query(ctx, service, 0, 0, 0, c.cfg.RequestTimeout)
	if err != nil {
		return c.stale(ctx, service, err)
	}
	return snap, nil
}

// Resolve returns the routable instances of a service, with Lookup's
// last-good behaviour: on failure it may return cached instances together
// with a *StaleError.
func (c *Client) Resolve(ctx context.Context, service string) ([]Instance, error) {
	snap, err := c.Lookup(ctx, service)
	return snap.Routable, err
}

// Query is Registry.Query over HTTP: it returns when the service's
// revision differs from index, or after wait plus jitter. A revision lower
// than index in the answer means the server's registry restarted: replace
// your state. Failures do not fall back to the cache; errors are those of
// Lookup without *StaleError.
func (c *Client) Query(ctx context.Context, service string, index uint64, wait time.Duration) (Snapshot, error) {
	snap, _, err := c.blockingQuery(ctx, service, index, c.epoch.Load(), wait)
	return snap, err
}

// blockingQuery runs Query for an index that belongs to epoch (0: unknown)
// and returns the epoch of the answer.
func (c *Client) blockingQuery(ctx context.Context, service string, index, epoch uint64, wait time.Duration) (Snapshot, uint64, error) {
	if wait <= 0 {
		wait = c.cfg.WatchWait
	}
	return c.query(ctx, service, index, epoch, wait, wait+wait/16+c.cfg.RequestTimeout)
}

// query fetches a snapshot and the epoch it belongs to; index 0 means no
// blocking.
func (c *Client) query(ctx context.Context, service string, index, epoch uint64, wait, timeout time.Duration) (Snapshot, uint64, error) {
	if err := validServiceName(service); err != nil {
		return Snapshot{}, 0, err
	}
	path := "/v1/services/" + service
	if index != 0 {
		q := url.Values{"index": {strconv.FormatUint(index, 10)}, "wait": {wait.String()}}
		if epoch != 0 {
			q.Set("epoch", strconv.FormatUint(epoch, 10))
		}
		path += "?" + q.Encode()
	}
	var out snapshotJSON
	if err := c.get(ctx, path, timeout, &out); err != nil {
		return Snapshot{}, 0, err
	}
	if out.Service != service || out.Revision == 0 {
		return Snapshot{}, 0, fmt.Errorf("%w: %w: answer for %q at revision %d", ErrUnavailable, ErrInvalid, out.Service, out.Revision)
	}
	if old := c.epoch.Swap(out.Epoch); old != 0 && old != out.Epoch {
		c.mu.Lock()
		c.stats.Restarts++
		c.mu.Unlock()
	}
	snap := Snapshot{Service: service, Revision: out.Revision, Instances: out.Instances, Routable: routableOf(out.Instances)}
	c.cache.put(snap)
	return snap, out.Epoch, nil
}

// stale answers a failed lookup from the cache when allowed.
func (c *Client) stale(ctx context.Context, service string, err error) (Snapshot, error) {
	if ctx.Err() != nil || !serverFailed(err) {
		return Snapshot{}, err
	}
	snap, stale, ok := c.cache.serveStale(service, c.cfg.MaxStale, err)
	if !ok {
		return Snapshot{}, err
	}
	c.mu.Lock()
	c.stats.StaleServed++
	c.mu.Unlock()
	if c.cfg.OnStale != nil {
		c.cfg.OnStale(service, stale.Age, err)
	}
	return snap, stale
}

// do POSTs a JSON body and decodes the answer into out (if not nil).
func (c *Client) do(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req, out)
}

func (c *Client) get(ctx context.Context, path string, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return c.send(req, out)
}

// send runs a request and maps the answer: 2xx decodes into out, an error
// answer becomes *HTTPError wrapping its sentinel, a transport failure or
// 5xx wraps ErrUnavailable.
func (c *Client) send(req *http.Request, out any) (err error) {
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	defer func() {
		c.mu.Lock()
		c.stats.Requests++
		if serverFailed(err) {
			c.stats.Failures++
		}
		c.mu.Unlock()
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil && !errors.Is(ctxErr, context.DeadlineExceeded) {
			return err // the caller gave up; not the server's failure
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := decodeAnswer(resp.Body, c.cfg.MaxResponseBytes, out); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil
	}
	var e errorJSON
	_ = decodeAnswer(resp.Body, maxErrorBytes, &e)
	herr := &HTTPError{Code: resp.StatusCode, Message: e.Error}
	if resp.StatusCode >= 500 {
		// Whatever the reason (its registry closed, too many watches), the
		// server cannot serve now.
		herr.err = ErrUnavailable
		return herr
	}
	for _, known := range errorCodes {
		if known.code == e.Code {
			herr.err = known.err
		}
	}
	return herr
}

// maxErrorBytes bounds how much of an error answer is read.
const maxErrorBytes = 64 << 10

// serverFailed reports whether err is the server's failure (unreachable,
// 5xx, unreadable answer) rather than a refusal of the request.
func serverFailed(err error) bool {
	var herr *HTTPError
	return errors.Is(err, ErrUnavailable) || (errors.As(err, &herr) && herr.Code >= 500)
}

// decodeAnswer reads a server's JSON answer, tolerating fields it does not
// know so that servers can grow.
func decodeAnswer(r io.Reader, limit int64, out any) error {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("%w: answer larger than %d bytes", ErrLimit, limit)
	}
	return json.Unmarshal(body, out)
}

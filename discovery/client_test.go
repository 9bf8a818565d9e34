package discovery

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopbackServer is a registry served on a real loopback port that can be
// stopped and started again on the same address.
type loopbackServer struct {
	t    *testing.T
	addr string
	reg  *Registry
	srv  *httptest.Server
	cfg  HandlerConfig
}

func startLoopback(t *testing.T, addr string, cfg HandlerConfig) *loopbackServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "listening on %s", addr)
	s := &loopbackServer{t: t, addr: ln.Addr().String(), reg: New(Config{}), cfg: cfg}
	s.srv = httptest.NewUnstartedServer(Handler(s.reg, cfg))
	s.srv.Listener = ln
	s.srv.Start()
	t.Cleanup(s.stop)
	return s
}

func (s *loopbackServer) url() string { return "http://" + s.addr }

// stop closes the registry (ending long polls) and the server.
func (s *loopbackServer) stop() {
	if s.srv == nil {
		return
	}
	_ = s.reg.Close()
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.srv = nil
}

// restart starts a fresh registry on the same address: every lease is lost.
func (s *loopbackServer) restart() *loopbackServer {
	s.stop()
	return startLoopback(s.t, s.addr, s.cfg)
}

func newTestClient(t *testing.T, url string, cfg ClientConfig) *Client {
	cfg.URL = url
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	c := NewClient(cfg)
	t.Cleanup(c.Close)
	return c
}

func TestClientOperations(t *testing.T) {
	s := startLoopback(t, "", HandlerConfig{Token: "secret"})
	c := newTestClient(t, s.url()+"/", ClientConfig{Token: "secret"})
	ctx := context.Background()

	lease, err := c.Register(ctx, Registration{Instance: Instance{Service: "api", ID: "a", Address: "127.0.0.1:9", Metadata: map[string]string{"v": "1"}},
		TTL: time.Minute, Check: &Check{TCP: "127.0.0.1:9", Interval: time.Hour, Timeout: time.Second, FailuresBeforeCritical: 2}})
	require.NoError(t, err)
	assert.Equal(t, time.Minute, lease.TTL, "the lease's TTL comes back")
	_, err = c.Register(ctx, Registration{Instance: inst("api", "b"), TTL: time.Minute})
	require.NoError(t, err)

	snap, err := c.Lookup(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, s.reg.Lookup("api").Instances, snap.Instances, "the client sees what the registry lists")
	assert.Equal(t, s.reg.Lookup("api").Revision, snap.Revision)

	require.NoError(t, c.Heartbeat(ctx, lease, StatusWarning))
	require.NoError(t, c.Drain(ctx, lease, true))
	got, err := c.Resolve(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, ids(got), "Resolve returns routable instances")
	names, err := c.Services(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"api"}, names)

	require.NoError(t, c.Deregister(ctx, lease))
	err = c.Heartbeat(ctx, lease, StatusPassing)
	assert.ErrorIs(t, err, ErrLeaseNotFound, "server errors map to the package's sentinels")
	var herr *HTTPError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusNotFound, herr.Code)

	_, err = c.Register(ctx, Registration{Instance: Instance{Service: "bad name", ID: "x", Address: "x:1"}})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = c.Lookup(ctx, "bad name")
	assert.ErrorIs(t, err, ErrInvalid, "a bad name is refused before any request")

	wrong := newTestClient(t, s.url(), ClientConfig{Token: "nope"})
	_, err = wrong.Lookup(ctx, "api")
	assert.ErrorIs(t, err, ErrUnauthorized)
	st := c.Stats()
	assert.Positive(t, st.Requests)
	assert.Zero(t, st.Failures, "refusals are not server failures")
}

// TestClientSurvivesServerRestart stops the server, checks that lookups
// serve the last good answer with its age, restarts it with an empty
// registry, and checks that the registrar's next beat registers again and
// that a watch resets to the new state.
func TestClientSurvivesServerRestart(t *testing.T) {
	s := startLoopback(t, "", HandlerConfig{})
	var staleMu sync.Mutex
	var staleAges []time.Duration
	c := newTestClient(t, s.url(), ClientConfig{
		RequestTimeout: time.Second, WatchWait: 5 * time.Second,
		BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond,
		OnStale: func(service string, age time.Duration, err error) {
			staleMu.Lock()
			defer staleMu.Unlock()
			staleAges = append(staleAges, age)
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var registered []bool
	rr := NewRegistrar(c, Registration{Instance: inst("api", "a"), TTL: 30 * time.Second}, RegistrarConfig{
		OnRegister: func(_ Lease, again bool) { registered = append(registered, again) },
	})
	require.NoError(t, rr.Beat(ctx), "the first beat registers")
	require.NoError(t, rr.Beat(ctx), "the second beat heartbeats")
	first, _ := rr.Lease()

	events := make(chan Event, 64)
	errs := make(chan error, 64)
	watchCtx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev, err := range c.Watch(watchCtx, "api", 0) {
			if err != nil {
				if watchCtx.Err() != nil {
					return
				}
				select {
				case errs <- err:
				default: // the test reads the first few only
				}
				continue
			}
			events <- ev
		}
	})
	next := func() Event {
		select {
		case ev := <-events:
			return ev
		case <-ctx.Done():
			t.Fatal("no watch event before the deadline")
		}
		return Event{}
	}
	ev := next()
	assert.True(t, ev.Reset, "the watch starts with the full state")
	assert.Equal(t, []string{"a"}, ids(ev.Instances))

	fresh, err := c.Lookup(ctx, "api")
	require.NoError(t, err)

	s.stop()
	snap, err := c.Lookup(ctx, "api")
	var stale *StaleError
	require.ErrorAs(t, err, &stale, "with the server down, Lookup serves the last good answer")
	assert.ErrorIs(t, err, ErrUnavailable, "the StaleError wraps the failure")
	assert.Equal(t, fresh, snap, "the last good answer is served unchanged")
	assert.Positive(t, stale.Age, "its age is exposed")
	age, ok := c.CacheAge("api")
	assert.True(t, ok)
	assert.GreaterOrEqual(t, age, stale.Age)
	got, err := c.Resolve(ctx, "api")
	assert.ErrorAs(t, err, &stale)
	assert.Equal(t, []string{"a"}, ids(got), "Resolve serves last-good instances too")
	staleMu.Lock()
	assert.Len(t, staleAges, 2, "OnStale reported each stale answer")
	staleMu.Unlock()
	assert.Error(t, rr.Beat(ctx), "a beat fails while the server is down")
	select {
	case err := <-errs:
		assert.ErrorIs(t, err, ErrUnavailable, "the watch reports the outage and keeps going")
	case <-ctx.Done():
		t.Fatal("the watch did not report the outage")
	}

	s = s.restart()
	require.NoError(t, rr.Beat(ctx), "after the restart the beat finds the lease gone and registers again")
	second, held := rr.Lease()
	require.True(t, held)
	assert.NotEqual(t, first.Token, second.Token, "a new lease")
	assert.Equal(t, []bool{false, true}, registered, "OnRegister saw the first registration and the re-registration")
	assert.Equal(t, RegistrarStats{Registrations: 2, Reregistrations: 1, Heartbeats: 1, Failures: 1}, rr.Stats())
	assert.Len(t, s.reg.Lookup("api").Instances, 1, "the instance is listed again")

	snap, err = c.Lookup(ctx, "api")
	require.NoError(t, err, "lookups are fresh again")
	assert.Equal(t, s.reg.Lookup("api").Revision, snap.Revision)
	assert.Equal(t, uint64(1), c.Stats().Restarts, "the client noticed the new epoch")

	// The watch may have polled the new server before or after the
	// re-registration: it resets either way, then catches up.
	sawReset := false
	for {
		ev = next()
		sawReset = sawReset || ev.Reset
		if sawReset && ev.Revision == snap.Revision {
			break
		}
	}
	assert.True(t, sawReset, "after the restart the watch resets to the new registry's state")
	assert.Equal(t, []string{"a"}, ids(ev.Instances), "and ends on the current state")
	stopWatch()
	wg.Wait()

	// Stale data has a bound.
	s.stop()
	strict := newTestClient(t, s.url(), ClientConfig{MaxStale: time.Nanosecond})
	strict.cache.put(snap)
	_, err = strict.Lookup(ctx, "api")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.False(t, errors.As(err, &stale), "data older than MaxStale is not served")

	canceled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	_, err = c.Lookup(canceled, "api")
	assert.ErrorIs(t, err, context.Canceled, "a canceled lookup is not answered from the cache")
}

func TestClientWatchResume(t *testing.T) {
	s := startLoopback(t, "", HandlerConfig{})
	c := newTestClient(t, s.url(), ClientConfig{WatchWait: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	register(t, s.reg, inst("api", "a"), time.Minute)

	var rev uint64
	for ev, err := range c.Watch(ctx, "api", 0) {
		require.NoError(t, err)
		assert.True(t, ev.Reset)
		rev = ev.Revision
		break
	}
	go func() {
		// Meant to land while the watch below is parked; if it lands
		// first the watch still sees it, as a newer revision.
		_, err := s.reg.Register(ctx, Registration{Instance: inst("api", "b"), TTL: time.Minute})
		assert.NoError(t, err)
	}()
	n := 0
	for ev, err := range c.Watch(ctx, "api", rev) {
		require.NoError(t, err)
		assert.Greater(t, ev.Revision, rev, "resuming skips the state already held")
		assert.Equal(t, []string{"a", "b"}, ids(ev.Instances))
		n++
		break
	}
	assert.Equal(t, 1, n)

	// Changes between two events arrive as a diff.
	got := 0
	for ev, err := range c.Watch(ctx, "api", 0) {
		require.NoError(t, err)
		if got == 0 {
			register(t, s.reg, inst("api", "c"), time.Minute)
		} else {
			assert.False(t, ev.Reset)
			assert.Equal(t, []Change{{Kind: Added, Instance: s.reg.Lookup("api").Instances[2]}}, ev.Changes)
			break
		}
		got++
	}
}

func TestClientConfigValidate(t *testing.T) {
	for _, cfg := range []ClientConfig{{}, {URL: "registry:80"}, {URL: "ftp://x"}, {URL: "http://x", MaxStale: -1}} {
		assert.ErrorIs(t, cfg.Validate(), ErrInvalid, "%+v is invalid", cfg)
		assert.Panics(t, func() { NewClient(cfg) })
	}
	assert.NoError(t, ClientConfig{URL: "https://registry.internal:8500"}.Validate())
}

func TestClientBoundsResponses(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 4096))
	}))
	defer big.Close()
	c := newTestClient(t, big.URL, ClientConfig{MaxResponseBytes: 1024})
	_, err := c.Lookup(context.Background(), "api")
	assert.ErrorIs(t, err, ErrLimit, "an oversized answer is refused")
	assert.ErrorIs(t, err, ErrUnavailable)
}

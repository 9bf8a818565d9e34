package lb_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

// backend is an httptest server that records the requests it serves.
type backend struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hosts  []string
	paths  []string
	status int
}

func newBackend(t *testing.T, status int) *backend {
	be := &backend{status: status}
	be.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		be.mu.Lock()
		be.hosts = append(be.hosts, r.Host)
		be.paths = append(be.paths, r.URL.Path)
		be.mu.Unlock()
		w.WriteHeader(be.status)
		_, _ = io.WriteString(w, be.srv.URL)
	}))
	t.Cleanup(be.srv.Close)
	return be
}

func (be *backend) addr() string { return strings.TrimPrefix(be.srv.URL, "http://") }

func (be *backend) served() int {
	be.mu.Lock()
	defer be.mu.Unlock()
	return len(be.paths)
}

// tr returns a client transport whose connections close when the test ends,
// so no keep-alive goroutine outlives it.
func tr(t *testing.T) *http.Transport {
	rt := &http.Transport{}
	t.Cleanup(rt.CloseIdleConnections)
	return rt
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "read body")
	return resp.StatusCode, string(body)
}

func TestTransportSpreadsRequests(t *testing.T) {
	backs := []*backend{newBackend(t, 200), newBackend(t, 200), newBackend(t, 200)}
	b := lb.New(lb.Config{})
	eps := make([]lb.Endpoint, len(backs))
	for i, be := range backs {
		eps[i] = lb.Endpoint{Addr: be.addr(), Weight: i + 1}
	}
	require.NoError(t, b.Update(eps), "Update")
	c := &http.Client{Transport: lb.Transport(b, tr(t))}
	for range 60 {
		code, _ := get(t, c, "http://orders.internal/v1/orders?id=7")
		require.Equal(t, http.StatusOK, code, "status")
	}
	for i, be := range backs {
		assert.Equal(t, 10*(i+1), be.served(), "backend %d serves its weighted share", i)
		be.mu.Lock()
		assert.Equal(t, "orders.internal", be.hosts[0], "the logical host travels as the Host header")
		assert.Equal(t, "/v1/orders", be.paths[0], "the path is kept")
		be.mu.Unlock()
	}
}

func TestTransportDoesNotModifyTheRequest(t *testing.T) {
	be := newBackend(t, 200)
	b := newBalancer(t, lb.Config{}, []lb.Endpoint{{Addr: "http://" + be.addr()}})
	req, err := http.NewRequest(http.MethodGet, "https://svc/x", nil)
	require.NoError(t, err, "NewRequest")
	resp, err := lb.Transport(b, be.srv.Client().Transport).RoundTrip(req)
	require.NoError(t, err, "an endpoint with http:// overrides the https scheme")
	resp.Body.Close()
	assert.Equal(t, "https://svc/x", req.URL.String(), "the caller's URL is untouched")
	assert.Equal(t, "svc", req.Host, "the caller's Host is untouched")
}

func TestTransportEjectsServerErrors(t *testing.T) {
	good, bad := newBackend(t, 200), newBackend(t, 503)
	var ejected []string
	var mu sync.Mutex
	b := lb.New(lb.Config{
		Ejection: lb.Ejection{ConsecutiveFailures: 2, MaxPercent: 50},
		OnEject: func(ep lb.Endpoint, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			ejected = append(ejected, ep.Addr)
		},
	})
	require.NoError(t, b.Update([]lb.Endpoint{{Addr: good.addr()}, {Addr: bad.addr()}}), "Update")
	c := &http.Client{Transport: lb.Transport(b, tr(t))}
	codes := map[int]int{}
	for range 20 {
		code, _ := get(t, c, "http://svc/")
		codes[code]++
	}
	assert.Equal(t, 2, codes[http.StatusServiceUnavailable], "two 503s in a row eject the failing backend")
	assert.Equal(t, 18, codes[http.StatusOK], "the rest go to the healthy backend")
	mu.Lock()
	assert.Equal(t, []string{bad.addr()}, ejected, "OnEject names it")
	mu.Unlock()
}

func TestTransportCountsTransportErrors(t *testing.T) {
	b := newBalancer(t, lb.Config{Ejection: lb.Ejection{ConsecutiveFailures: 1, MaxPercent: 50}},
		[]lb.Endpoint{{Addr: "127.0.0.1:1"}, {Addr: newBackend(t, 200).addr()}})
	c := &http.Client{Transport: lb.Transport(b, tr(t))}
	var err error
	for range 2 { // the first pick may be the live backend
		var resp *http.Response
		if resp, err = c.Get("http://svc/"); err != nil {
			break
		}
		resp.Body.Close()
	}
	require.Error(t, err, "a refused connection surfaces")
	assert.True(t, stat(t, b, "127.0.0.1:1").Ejected, "and counts as the endpoint's failure")
}

func TestTransportIgnoresCallerCancellation(t *testing.T) {
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done() // hang until the client goes away
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	b := newBalancer(t, lb.Config{Policy: lb.LeastLoaded, Ejection: lb.Ejection{ConsecutiveFailures: 5}},
		[]lb.Endpoint{{Addr: addr}})
	rt := lb.Transport(b, tr(t))

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://svc/", nil)
	require.NoError(t, err, "NewRequest")
	errc := make(chan error, 1)
	go func() {
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	assert.Equal(t, int64(1), stat(t, b, addr).InFlight, "the request is in flight while the server works")
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled, "the caller's cancellation surfaces")
	e := stat(t, b, addr)
	assert.Zero(t, e.ConsecutiveFailures, "but is not held against the endpoint")
	assert.Zero(t, e.InFlight, "and the request is no longer in flight")

	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://svc/", nil)
	require.NoError(t, err, "NewRequest")
	_, err = rt.RoundTrip(req)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a request that times out fails")
	assert.Equal(t, 1, stat(t, b, addr).ConsecutiveFailures, "and a timeout counts against the endpoint")
}

func TestTransportRejectsRequestWithoutURL(t *testing.T) {
	b := newBalancer(t, lb.Config{}, equal(1))
	body := &closeRecorder{}
	_, err := lb.Transport(b, tr(t)).RoundTrip(&http.Request{Method: http.MethodGet, Body: body})
	require.Error(t, err, "a request without a URL cannot be sent")
	assert.True(t, body.closed, "its body is closed, as RoundTrip must")
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}

func TestTransportWithoutEndpoints(t *testing.T) {
	c := &http.Client{Transport: lb.Transport(lb.New(lb.Config{}), tr(t))}
	_, err := c.Get("http://svc/")
	require.ErrorIs(t, err, lb.ErrNoEndpoints, "no endpoints is reported")
}

func TestTransportHashesRequestKeys(t *testing.T) {
	backs := []*backend{newBackend(t, 200), newBackend(t, 200), newBackend(t, 200)}
	eps := make([]lb.Endpoint, len(backs))
	for i, be := range backs {
		eps[i] = lb.Endpoint{Addr: be.addr()}
	}
	b := newBalancer(t, lb.Config{
		Policy:     lb.ConsistentHash,
		RequestKey: func(r *http.Request) string { return r.Header.Get("X-User") },
	}, eps)
	c := &http.Client{Transport: lb.Transport(b, tr(t))}
	servedBy := map[string]string{}
	for round := range 3 {
		for _, user := range []string{"ann", "bob", "cyd", "dee", "eve", "fay"} {
			req, err := http.NewRequest(http.MethodGet, "http://svc/cart", nil)
			require.NoError(t, err, "NewRequest")
			req.Header.Set("X-User", user)
			resp, err := c.Do(req)
			require.NoError(t, err, "Do")
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if round == 0 {
				servedBy[user] = string(body)
			}
			assert.Equal(t, servedBy[user], string(body), "user %s always reaches the same backend", user)
		}
	}
}

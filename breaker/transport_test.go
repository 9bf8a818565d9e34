package breaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

// statusServer answers every request with the status in its "code" query
// parameter and a body naming it.
func statusServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		code := http.StatusOK
		switch r.URL.Query().Get("code") {
		case "500":
			code = http.StatusInternalServerError
		case "503":
			code = http.StatusServiceUnavailable
		case "429":
			code = http.StatusTooManyRequests
		case "404":
			code = http.StatusNotFound
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "status "+http.StatusText(code))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	return c.Do(req)
}

func TestTransportCountsServerErrorsAndThrottling(t *testing.T) {
	srv, hits := statusServer(t)
	tests := []struct {
		code     string
		failures int
	}{{"200", 0}, {"404", 0}, {"500", 1}, {"503", 1}, {"429", 1}}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			b := breaker.New(breaker.Config{WindowSize: 10})
			c := &http.Client{Transport: breaker.Transport(b, srv.Client().Transport)}
			resp, err := get(t, c, srv.URL+"?code="+tt.code)
			require.NoError(t, err, "a status code is not a transport error")
			s := b.Stats()
			assert.Equal(t, 1, s.Calls)
			assert.Equal(t, tt.failures, s.Failures, "status %s", tt.code)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.True(t, strings.HasPrefix(string(body), "status "), "the body is left for the caller: %q", body)
		})
	}
	assert.Equal(t, int64(len(tests)), hits.Load())
}

func TestTransportRejectsWhenOpen(t *testing.T) {
	srv, hits := statusServer(t)
	b := breaker.New(breaker.Config{ConsecutiveFailures: 2})
	c := &http.Client{Transport: breaker.Transport(b, nil)} // nil: http.DefaultTransport
	for range 2 {
		resp, err := get(t, c, srv.URL+"?code=503")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	require.Equal(t, breaker.StateOpen, b.State())

	body := &closeTracker{Reader: strings.NewReader("payload")}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, body)
	require.NoError(t, err)
	resp, err := breaker.Transport(b, srv.Client().Transport).RoundTrip(req)
	require.ErrorIs(t, err, breaker.ErrOpen, "an open breaker rejects the request")
	assert.Nil(t, resp)
	assert.True(t, body.closed, "the request body is closed, as RoundTripper must")

	_, err = get(t, c, srv.URL)
	require.ErrorIs(t, err, breaker.ErrOpen, "the client's error wraps the rejection")
	assert.Equal(t, int64(2), hits.Load(), "rejected requests never reach the server")
}

type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestTransportCustomFailureAndErrors(t *testing.T) {
	srv, _ := statusServer(t)
	b := breaker.New(breaker.Config{WindowSize: 10})
	rt := &breaker.RoundTripper{
		Breaker:   b,
		Next:      srv.Client().Transport,
		IsFailure: func(r *http.Response) bool { return r.StatusCode == http.StatusNotFound },
	}
	c := &http.Client{Transport: rt}
	for _, code := range []string{"404", "500"} {
		resp, err := get(t, c, srv.URL+"?code="+code)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	s := b.Stats()
	assert.Equal(t, 2, s.Calls)
	assert.Equal(t, 1, s.Failures, "only what IsFailure says fails")

	failing := breaker.Transport(b, roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	}))
	_, err := (&http.Client{Transport: failing}).Get(srv.URL)
	require.Error(t, err)
	assert.Equal(t, 2, b.Stats().Failures, "a transport error is a failure")

	ctx, cancel := context.WithCancel(context.Background())
	canceling := breaker.Transport(b, roundTripFunc(func(r *http.Request) (*http.Response, error) {
		cancel()
		return nil, r.Context().Err()
	}))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = canceling.RoundTrip(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 3, b.Stats().Calls, "the caller's cancellation is not recorded")
}

func TestTransportPanicReleasesProbe(t *testing.T) {
	b := breaker.New(breaker.Config{ConsecutiveFailures: 1})
	rt := breaker.Transport(b, roundTripFunc(func(*http.Request) (*http.Response, error) { panic("transport bug") }))
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://example.invalid", nil)
	require.NoError(t, err)
	require.PanicsWithValue(t, "transport bug", func() { _, _ = rt.RoundTrip(req) })
	assert.Equal(t, breaker.StateOpen, b.State(), "the panic counted as a failure")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

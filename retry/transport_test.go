package retry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/retry"
)

// flakyServer fails the first `failures` requests with status, then
// answers 200 "ok". It records every request body it saw.
type flakyServer struct {
	failures int
	status   int
	mu       sync.Mutex
	bodies   []string
}

func (s *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	n := len(s.bodies)
	s.mu.Unlock()
	if n <= s.failures {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, "failure "+strconv.Itoa(n))
		return
	}
	_, _ = io.WriteString(w, "ok")
}

func (s *flakyServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// closeCounter wraps a RoundTripper and counts response bodies closed.
type closeCounter struct {
	next   http.RoundTripper
	opened atomic.Int32
	closed atomic.Int32
}

func (c *closeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.opened.Add(1)
		resp.Body = &countingBody{ReadCloser: resp.Body, closed: &c.closed}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	closed *atomic.Int32
}

func (b *countingBody) Close() error {
	b.closed.Add(1)
	return b.ReadCloser.Close()
}

func quickPolicy(attempts int) *retry.Policy {
	return retry.New(retry.Config{MaxAttempts: attempts, DelayFunc: func(int, error) time.Duration { return time.Millisecond }})
}

func TestTransportRewindsBody(t *testing.T) {
	srv := &flakyServer{failures: 2, status: http.StatusServiceUnavailable}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	counter := &closeCounter{next: http.DefaultTransport}
	client := &http.Client{Transport: retry.Transport(quickPolicy(3), counter)}

	req, err := http.NewRequest(http.MethodPut, ts.URL, strings.NewReader("payload"))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	assert.Equal(t, http.StatusOK, resp.StatusCode, "the third attempt succeeds")
	assert.Equal(t, "ok", string(body))
	assert.Equal(t, []string{"payload", "payload", "payload"}, srv.seen(), "every attempt sends the whole body again")
	assert.Equal(t, counter.opened.Load(), counter.closed.Load(), "every response body, discarded or returned, is closed")
}

func TestTransportIdempotency(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		key      string
		attempts int
	}{
		{"GET retried", http.MethodGet, "", 3},
		{"DELETE retried", http.MethodDelete, "", 3},
		{"POST not retried", http.MethodPost, "", 1},
		{"PATCH not retried", http.MethodPatch, "", 1},
		{"POST with Idempotency-Key retried", http.MethodPost, "k-1", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &flakyServer{failures: 10, status: http.StatusServiceUnavailable}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			counter := &closeCounter{next: http.DefaultTransport}
			client := &http.Client{Transport: retry.Transport(quickPolicy(3), counter)}
			req, err := http.NewRequest(tt.method, ts.URL, strings.NewReader("x"))
			require.NoError(t, err)
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			resp, err := client.Do(req)
			require.NoError(t, err, "a final failing status is a response, not an error")
			body, _ := io.ReadAll(resp.Body)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Equal(t, "failure "+strconv.Itoa(tt.attempts), string(body), "the last response is returned with its body intact")
			assert.Len(t, srv.seen(), tt.attempts)
			assert.Equal(t, counter.opened.Load(), counter.closed.Load(), "discarded bodies are closed")
		})
	}
}

type onceReader struct{ r io.Reader }

func (o *onceReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestTransportBodyWithoutGetBodyNotRetried(t *testing.T) {
	srv := &flakyServer{failures: 10, status: http.StatusServiceUnavailable}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := &http.Client{Transport: retry.Transport(quickPolicy(3), nil)}
	req, err := http.NewRequest(http.MethodPut, ts.URL, &onceReader{strings.NewReader("once")})
	require.NoError(t, err)
	require.Nil(t, req.GetBody, "an unknown reader has no GetBody")
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, []string{"once"}, srv.seen(), "a body that cannot be rewound is sent once")
}

func TestTransportConnectionErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := ts.URL
	ts.Close() // nothing listens any more
	client := &http.Client{Transport: retry.Transport(quickPolicy(2), nil)}
	_, err := client.Get(url)
	var rerr *retry.Error
	require.ErrorAs(t, err, &rerr, "transport errors end in *Error")
	assert.Equal(t, 2, rerr.Attempts)
	assert.ErrorIs(t, err, retry.ErrAttempts)
}

// fakeTransport answers from a list of canned responses.
type fakeTransport struct {
	responses []func(*http.Request) *http.Response
	calls     int
	ctxs      []context.Context
}

func (f *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.ctxs = append(f.ctxs, r.Context())
	resp := f.responses[min(f.calls, len(f.responses)-1)](r)
	f.calls++
	return resp, nil
}

func respond(status int, retryAfter string) func(*http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("b")), Request: r}
	}
}

func TestTransportHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delays []time.Duration
		p := retry.New(retry.Config{
			MaxAttempts: 6, InitialDelay: 100 * time.Millisecond, MaxDelay: time.Minute, Jitter: retry.JitterNone,
			OnRetry: func(_ int, _ error, d time.Duration) { delays = append(delays, d) },
		})
		// A date 20s from now, read after the first 3s wait: 17s to go.
		date := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
		fake := &fakeTransport{responses: []func(*http.Request) *http.Response{
			respond(http.StatusTooManyRequests, "3"),
			respond(http.StatusServiceUnavailable, date),
			respond(http.StatusBadGateway, "7"),        // Retry-After ignored on 502
			respond(http.StatusTooManyRequests, "x"),   // malformed: backoff
			respond(http.StatusTooManyRequests, "600"), // capped at MaxDelay
			respond(http.StatusOK, ""),
		}}
		req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		require.NoError(t, err)
		resp, err := retry.Transport(p, fake).RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, []time.Duration{3 * time.Second, 17 * time.Second, 400 * time.Millisecond, 800 * time.Millisecond, time.Minute}, delays,
			"Retry-After seconds and dates replace the backoff on 429/503 only, capped at MaxDelay")
	})
}

func TestTransportNonRetryableStatusPassesThrough(t *testing.T) {
	fake := &fakeTransport{responses: []func(*http.Request) *http.Response{respond(http.StatusInternalServerError, "")}}
	req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	require.NoError(t, err)
	resp, err := retry.Transport(quickPolicy(3), fake).RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 1, fake.calls, "a 500 is an answer, not retried")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
}

func TestTransportRetryableConsulted(t *testing.T) {
	p := retry.New(retry.Config{MaxAttempts: 3, DelayFunc: func(int, error) time.Duration { return 0 },
		Retryable: func(err error) bool {
			var serr *retry.StatusError
			return !errors.As(err, &serr) || serr.StatusCode != http.StatusBadGateway
		}})
	fake := &fakeTransport{responses: []func(*http.Request) *http.Response{respond(http.StatusBadGateway, "")}}
	req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	require.NoError(t, err)
	resp, err := retry.Transport(p, fake).RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 1, fake.calls, "Retryable can refuse to retry a status")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
}

func TestTransportAttemptTimeoutCoversBody(t *testing.T) {
	p := retry.New(retry.Config{MaxAttempts: 2, AttemptTimeout: time.Hour})
	fake := &fakeTransport{responses: []func(*http.Request) *http.Response{respond(http.StatusOK, "")}}
	req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	require.NoError(t, err)
	resp, err := retry.Transport(p, fake).RoundTrip(req)
	require.NoError(t, err)
	require.Len(t, fake.ctxs, 1)
	_, hasDeadline := fake.ctxs[0].Deadline()
	assert.True(t, hasDeadline, "the attempt runs under its own timeout")
	assert.NoError(t, fake.ctxs[0].Err(), "the attempt's context outlives RoundTrip so the body can be read")
	require.NoError(t, resp.Body.Close())
	assert.ErrorIs(t, fake.ctxs[0].Err(), context.Canceled, "closing the body releases the attempt's context")
}

func TestTransportCanceledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Hour})
		counter := &closeCounter{next: &fakeTransport{responses: []func(*http.Request) *http.Response{respond(http.StatusServiceUnavailable, "")}}}
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://example.invalid/", nil)
		require.NoError(t, err)
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		resp, err := retry.Transport(p, counter).RoundTrip(req)
		assert.Nil(t, resp)
		assert.ErrorIs(t, err, context.Canceled, "a canceled request ends with the context's error")
		assert.Equal(t, int32(1), counter.closed.Load(), "the held response is closed")
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"86400", 24 * time.Hour, true},
		{"86401", 24 * time.Hour, true},
		{"99999999999999999999999", 24 * time.Hour, true},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Saturday, 01-Mar-25 12:01:00 GMT", time.Minute, true},
		{"Sat Mar  1 12:00:10 2025", 10 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},
		{"Sun, 01 Mar 2026 12:00:00 GMT", 24 * time.Hour, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"2025-03-01T12:00:30Z", 0, false},
		{strings.Repeat("1", 65), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, ok := retry.ParseRetryAfter(tt.value, now)
			assert.Equal(t, tt.ok, ok, "validity of %q", tt.value)
			assert.Equal(t, tt.want, got, "duration of %q", tt.value)
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"0", "120", "Sat, 01 Mar 2025 12:00:30 GMT", "Saturday, 01-Mar-25 12:01:00 GMT", "Sat Mar  1 12:00:10 2025", "-1", "", "99999999999999999999"} {
		f.Add(seed)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, value string) {
		d, ok := retry.ParseRetryAfter(value, now)
		if !ok && d != 0 {
			t.Fatalf("invalid %q gave %v", value, d)
		}
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("%q gave %v, outside [0, 24h]", value, d)
		}
	})
}

package retry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxDrainBytes is how much of a discarded response body a Transport reads
// before closing it, so that the connection can be reused; a longer body
// is closed unread and its connection dropped.
const MaxDrainBytes = 64 << 10

// maxRetryAfterLen bounds the Retry-After values ParseRetryAfter looks at;
// an HTTP-date is 29 bytes.
const maxRetryAfterLen = 64

// maxRetryAfter caps parsed hints; MaxDelay caps them further.
const maxRetryAfter = 24 * time.Hour

// StatusError is the error a Transport's attempt fails with when the
// server answers with a status worth retrying: 429, 502, 503 or 504.
// Config.Retryable sees it and may refuse the retry. It implements Hinter
// with the response's Retry-After on 429 and 503.
type StatusError struct {
	StatusCode int // the response's status code
	// After is the parsed Retry-After, zero when absent or invalid.
	After time.Duration
	// HasAfter reports whether the response carried a valid Retry-After
	// that applies (429 and 503 only).
	HasAfter bool
}

// Error names the status.
func (e *StatusError) Error() string {
	return "retry: server answered " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
}

// RetryAfter returns the server's hint; without one it returns a negative
// duration, which the policy ignores in favour of its backoff.
func (e *StatusError) RetryAfter() time.Duration {
	if !e.HasAfter {
		return -1
	}
	return e.After
}

// Transport returns an http.RoundTripper that sends requests through next
// (http.DefaultTransport if nil) and retries them under p.
//
// Only idempotent requests are retried: GET, HEAD, OPTIONS, TRACE, PUT and
// DELETE, and any request with an Idempotency-Key header. A request with a
// body is retried only if it has GetBody (http.NewRequest sets it for the
// common body types), which rewinds the body for each attempt. Other
// requests go through next once.
//
// An attempt fails when next returns an error or the response status is
// 429, 502, 503 or 504. On 429 and 503 a Retry-After header (seconds or an
// HTTP date) replaces the backoff delay, capped at MaxDelay. Each discarded
// response's body is drained (up to MaxDrainBytes) and closed.
//
// When the policy gives up after a failing status, the last response is
// returned as is, with a nil error, as any RoundTripper would return it;
// when it gives up after a transport error or because the request's
// context ended, the error is an *Error. A per-attempt timeout applies
// until the winning response's body is closed.
func Transport(p *Policy, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	inner := *p
	inner.attemptTimeout = 0 // applied by roundTrip so that it covers the body
	return &transport{policy: &inner, attemptTimeout: p.attemptTimeout, next: next}
}

type transport struct {
	policy         *Policy
	attemptTimeout time.Duration
	next           http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !canRetry(req) {
		return t.next.RoundTrip(req)
	}
	var held *http.Response // the last failing response, kept in case it is the answer
	attempts := 0
	resp, err := Do(req.Context(), t.policy, func(ctx context.Context) (*http.Response, error) {
		if held != nil {
			drainClose(held)
			held = nil
		}
		attempts++
		r, cancel, err := t.prepare(ctx, req, attempts)
		if err != nil {
			return nil, Permanent(err)
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			if cancel != nil {
				cancel()
			}
			return nil, err
		}
		if cancel != nil {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}
		if serr := statusError(resp); serr != nil {
			held = resp
			return nil, serr
		}
		return resp, nil
	})
	if err == nil {
		return resp, nil
	}
	if held != nil {
		var serr *StatusError
		if errors.As(err, &serr) && req.Context().Err() == nil {
			return held, nil
		}
		drainClose(held)
	}
	return nil, err
}

// prepare returns the request for attempt number n: the original one for
// the first attempt without a timeout, otherwise a clone with the attempt's
// context and a fresh body. cancel releases the attempt's timer; it is nil
// when there is none.
func (t *transport) prepare(ctx context.Context, req *http.Request, n int) (*http.Request, context.CancelFunc, error) {
	var cancel context.CancelFunc
	if t.attemptTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.attemptTimeout)
	}
	if n == 1 && t.attemptTimeout <= 0 {
		return req, cancel, nil
	}
	r := req.Clone(ctx)
	if n > 1 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			if cancel != nil {
				cancel()
			}
			return nil, nil, err
		}
		r.Body = body
	}
	return r, cancel, nil
}

// canRetry reports whether req is idempotent and its body can be replayed.
func canRetry(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// statusError returns the StatusError for a response worth retrying, or
// nil.
func statusError(resp *http.Response) *StatusError {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return &StatusError{StatusCode: resp.StatusCode, After: d, HasAfter: ok}
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return &StatusError{StatusCode: resp.StatusCode}
	}
	return nil
}

// ParseRetryAfter parses an HTTP Retry-After value: a number of seconds or
// an HTTP date, relative to now. It reports false for an empty, malformed
// or overlong (over 64 bytes) value. A date in the past gives zero; any
// value is capped at 24 hours.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	if len(value) > maxRetryAfterLen {
		return 0, false
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if isDigits(value) {
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // all digits, so only too large
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return min(max(at.Sub(now), 0), maxRetryAfter), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// drainClose reads what is left of resp's body, up to MaxDrainBytes, and
// closes it.
func drainClose(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, MaxDrainBytes)
	_ = resp.Body.Close()
}

// cancelOnClose ends an attempt's context when its response body is
// closed, so that a per-attempt timeout covers reading the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

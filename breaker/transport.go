package breaker

import "net/http"

// RoundTripper is an http.RoundTripper guarded by a breaker. Build it with
// Transport or as a literal; its fields must not change once in use.
type RoundTripper struct {
	// Breaker guards every request.
	Breaker *Breaker
	// Next sends the requests the breaker admits. Nil means
	// http.DefaultTransport.
	Next http.RoundTripper
	// IsFailure decides whether a response counts as a failure. Nil means
	// DefaultIsFailure: status 5xx or 429.
	IsFailure func(*http.Response) bool
}

// Transport returns a RoundTripper that sends requests through next while
// b admits them. Responses with status 5xx or 429 count as failures,
// transport errors are classified by b's Config.Classify, and requests
// whose own context was canceled are ignored.
//
// The breaker records each outcome when the response headers arrive: the
// body is neither read nor closed, and a slow-call threshold measures the
// time to the headers.
func Transport(b *Breaker, next http.RoundTripper) *RoundTripper {
	return &RoundTripper{Breaker: b, Next: next}
}

// DefaultIsFailure reports whether resp has status 5xx (the server failed)
// or 429 (the server is shedding load).
func DefaultIsFailure(resp *http.Response) bool {
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
}

// RoundTrip sends req if the breaker admits it. A rejection returns a nil
// response and the breaker's *OpenError (errors.Is(err, ErrOpen)), after
// closing req.Body as the http.RoundTripper contract asks.
func (t *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	p, err := t.Breaker.Allow()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	returned := false
	defer func() {
		if !returned {
			p.failPanicked()
		}
	}()
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	returned = true
	outcome := t.Breaker.classify(req.Context(), err)
	if err == nil {
		isFailure := t.IsFailure
		if isFailure == nil {
			isFailure = DefaultIsFailure
		}
		if isFailure(resp) {
			outcome = Failure
		}
	}
	t.Breaker.finish(p, outcome)
	return resp, err
}

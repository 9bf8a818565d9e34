package lb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Transport returns an http.RoundTripper that sends each request to an
// endpoint picked by b through next (nil means http.DefaultTransport).
// It rewrites the URL's host to the endpoint's, and its scheme if the
// endpoint's Addr has one, keeping the original host as the Host header so
// virtual hosting still works; the caller's request is not modified. Under
// ConsistentHash the key is Config.RequestKey of the request (the URL path
// by default).
//
// A transport error or a 5xx response counts as the endpoint's failure
// (reported to Pick.Done as the error, or as ErrServerError), unless the
// request's own context was canceled. The endpoint's in-flight count and
// latency cover the time until the response headers arrive. If no
// endpoint is available, RoundTrip returns an error wrapping ErrNoEndpoints.
func Transport(b *Balancer, next http.RoundTripper) http.RoundTripper {
	if b == nil {
		panic("lb: Transport with a nil Balancer")
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{b: b, next: next}
}

type outbound struct {
	req http.Request
	url url.URL
}

type transport struct {
	b    *Balancer
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, errors.New("lb: request without a URL")
	}
	var (
		p   Pick
		err error
	)
	if t.b.cfg.Policy == ConsistentHash {
		key := req.URL.Path
		if t.b.cfg.RequestKey != nil {
			key = t.b.cfg.RequestKey(req)
		}
		p, err = t.b.PickKey(key)
	} else {
		p, err = t.b.Pick()
	}
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip must close the body, even on errors
		}
		return nil, fmt.Errorf("lb: %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	// One allocation for the copied request and its URL.
	o := &outbound{req: *req, url: *req.URL}
	if p.m.scheme != "" {
		o.url.Scheme = p.m.scheme
	} else if o.url.Scheme == "" {
		o.url.Scheme = "http"
	}
	o.url.Host = p.m.host
	o.req.URL = &o.url
	if o.req.Host == "" {
		o.req.Host = req.URL.Host
	}
	resp, err := t.next.RoundTrip(&o.req)
	switch {
	case err != nil && errors.Is(req.Context().Err(), context.Canceled):
		p.Done(context.Canceled) // the caller gave up; not the endpoint's fault
	case err != nil:
		p.Done(err)
	case resp.StatusCode >= 500:
		p.Done(ErrServerError)
	default:
		p.Done(nil)
	}
	return resp, err
}

package lb

import (
	"fmt"
	"maps"
	"net/url"
	"strings"
)

// Limits on one endpoint. Update rejects an endpoint beyond them.
const (
	// MaxWeight is the largest Endpoint.Weight.
	MaxWeight = 1_000_000
	// MaxAddrLen is the longest Endpoint.Addr in bytes.
	MaxAddrLen = 512
	// MaxZoneLen is the longest Endpoint.Zone in bytes.
	MaxZoneLen = 128
	// MaxMetaEntries is the most entries in Endpoint.Meta.
	MaxMetaEntries = 64
	// MaxMetaLen is the longest key or value in Endpoint.Meta in bytes.
	MaxMetaLen = 1024
)

// Endpoint is one backend a Balancer can pick: an address with a relative
// weight and optional placement data. It is deliberately plain so that a
// service registry's instances convert to it in a few lines.
type Endpoint struct {
	// Addr identifies the endpoint: "host:port" (or a bare host), which
	// Transport turns into the URL's host, optionally prefixed with
	// "http://" or "https://" to set the scheme too.
	// Update matches endpoints by Addr: state such as in-flight counts,
	// ejections and latency survives an Update that keeps the Addr.
	Addr string
	// Weight is the endpoint's share relative to the others, 1 to
	// MaxWeight; zero means 1. RoundRobin and ConsistentHash's ring use it
	// as documented on each Policy.
	Weight int
	// Zone is an optional locality label (a data center or availability
	// zone). The balancer carries it for the caller; it does not route on it.
	Zone string
	// Meta is optional metadata, carried for the caller. Update copies it;
	// treat the map returned by Pick.Endpoint as read-only.
	Meta map[string]string
}

func (e Endpoint) weight() uint64 {
	if e.Weight == 0 {
		return 1
	}
	return uint64(e.Weight)
}

// EndpointError reports why Update rejected an endpoint. It wraps
// ErrInvalidEndpoint.
type EndpointError struct {
	Index  int    // position in the slice given to Update
	Addr   string // the endpoint's address, truncated to MaxAddrLen
	Reason string // what is wrong
}

// Error names the endpoint by position and address and says what is wrong.
func (e *EndpointError) Error() string {
	return fmt.Sprintf("lb: endpoint %d (%q): %s", e.Index, e.Addr, e.Reason)
}

// Unwrap returns ErrInvalidEndpoint.
func (e *EndpointError) Unwrap() error { return ErrInvalidEndpoint }

// checkEndpoint returns why e cannot be used, or "".
func checkEndpoint(e Endpoint) string {
	switch {
	case e.Addr == "":
		return "empty address"
	case len(e.Addr) > MaxAddrLen:
		return fmt.Sprintf("address longer than %d bytes", MaxAddrLen)
	case strings.ContainsFunc(e.Addr, isSpaceOrControl):
		return "address contains a space or control character"
	case e.Weight < 0:
		return "negative weight"
	case e.Weight > MaxWeight:
		return fmt.Sprintf("weight above %d", MaxWeight)
	case len(e.Zone) > MaxZoneLen:
		return fmt.Sprintf("zone longer than %d bytes", MaxZoneLen)
	case len(e.Meta) > MaxMetaEntries:
		return fmt.Sprintf("more than %d metadata entries", MaxMetaEntries)
	}
	for k, v := range e.Meta {
		if len(k) > MaxMetaLen || len(v) > MaxMetaLen {
			return fmt.Sprintf("metadata key or value longer than %d bytes", MaxMetaLen)
		}
	}
	if _, _, ok := parseAddr(e.Addr); !ok {
		return "address must be host[:port], optionally after http:// or https://"
	}
	return ""
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// splitAddr returns the scheme ("" if none) and the rest of an Addr.
func splitAddr(addr string) (scheme, rest string) {
	if s, r, ok := strings.Cut(addr, "://"); ok {
		return s, r
	}
	return "", addr
}

// parseAddr returns the scheme ("" if none) and the URL host (unescaped,
// as url.URL.Host holds it) of addr, and whether addr is a valid Addr.
func parseAddr(addr string) (scheme, host string, ok bool) {
	scheme, rest := splitAddr(addr)
	if scheme != "" && scheme != "http" && scheme != "https" {
		return "", "", false
	}
	u, err := url.Parse("http://" + rest)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" ||
		u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return "", "", false
	}
	return scheme, u.Host, true
}

// clone returns e with its own copy of Meta.
func (e Endpoint) clone() Endpoint {
	if e.Meta != nil {
		e.Meta = maps.Clone(e.Meta)
	}
	return e
}

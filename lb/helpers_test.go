package lb_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

// addrs returns n endpoint addresses.
func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.1.%d.%d:80", i/256, i%256)
	}
	return out
}

// equal returns n endpoints of weight 1.
func equal(n int) []lb.Endpoint {
	eps := make([]lb.Endpoint, n)
	for i, a := range addrs(n) {
		eps[i] = lb.Endpoint{Addr: a}
	}
	return eps
}

// weighted returns endpoints with the given weights.
func weighted(ws ...int) []lb.Endpoint {
	eps := make([]lb.Endpoint, len(ws))
	for i, a := range addrs(len(ws)) {
		eps[i] = lb.Endpoint{Addr: a, Weight: ws[i]}
	}
	return eps
}

func newBalancer(t testing.TB, cfg lb.Config, eps []lb.Endpoint) *lb.Balancer {
	t.Helper()
	b := lb.New(cfg)
	require.NoError(t, b.Update(eps), "Update with valid endpoints")
	return b
}

// countPicks makes n picks, reporting err to each, and counts them by address.
func countPicks(t testing.TB, b *lb.Balancer, n int, err error) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		p, perr := b.Pick()
		require.NoError(t, perr, "Pick with endpoints available")
		counts[p.Addr()]++
		p.Done(err)
	}
	return counts
}

// fail reports n failures to addr by picking until it is picked n times.
// Every other pick succeeds.
func fail(t testing.TB, b *lb.Balancer, addr string, n int) {
	t.Helper()
	for tries := 0; n > 0; tries++ {
		require.Less(t, tries, 100_000, "%s is never picked", addr)
		p, err := b.Pick()
		require.NoError(t, err, "Pick with endpoints available")
		if p.Addr() == addr {
			p.Done(errBoom)
			n--
		} else {
			p.Done(nil)
		}
	}
}

var errBoom = fmt.Errorf("boom")

func stat(t testing.TB, b *lb.Balancer, addr string) lb.EndpointStats {
	t.Helper()
	for _, e := range b.Stats().PerEndpoint {
		if e.Addr == addr {
			return e
		}
	}
	require.Failf(t, "no such endpoint", "%s not in Stats", addr)
	return lb.EndpointStats{}
}

package lb_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

// checker is a health check whose answers the test sets per address.
type checker struct {
	mu    sync.Mutex
	down  map[string]bool
	calls map[string]int
}

func newChecker() *checker {
	return &checker{down: map[string]bool{}, calls: map[string]int{}}
}

func (c *checker) set(addr string, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down[addr] = down
}

func (c *checker) count(addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[addr]
}

func (c *checker) check(ctx context.Context, ep lb.Endpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[ep.Addr]++
	if c.down[ep.Addr] {
		return errors.New("down")
	}
	return nil
}

func healthConfig(c *checker) lb.Config {
	return lb.Config{HealthCheck: lb.HealthCheck{
		Check:          c.check,
		Interval:       time.Second,
		UnhealthyAfter: 2,
		HealthyAfter:   3,
	}}
}

// run starts RunHealthChecks and returns a function that stops it and
// returns its error.
func run(b *lb.Balancer) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunHealthChecks(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func TestHealthChecksTakeEndpointsOutAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker()
		cfg := healthConfig(c)
		var mu sync.Mutex
		var changes []string
		cfg.OnHealthChange = func(ep lb.Endpoint, healthy bool) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, ep.Addr+map[bool]string{true: " up", false: " down"}[healthy])
		}
		b := newBalancer(t, cfg, equal(3))
		bad := addrs(3)[2]
		stop := run(b)

		synctest.Wait()
		assert.Equal(t, 1, c.count(bad), "the first round runs at once")
		c.set(bad, true)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.True(t, stat(t, b, bad).Healthy, "one failed check is below UnhealthyAfter")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.False(t, stat(t, b, bad).Healthy, "two failed checks in a row mark it unhealthy")
		assert.Zero(t, countPicks(t, b, 300, nil)[bad], "an unhealthy endpoint is not picked")

		c.set(bad, false)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.False(t, stat(t, b, bad).Healthy, "two passes are below HealthyAfter")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.True(t, stat(t, b, bad).Healthy, "three passes in a row bring it back")
		assert.Equal(t, 100, countPicks(t, b, 300, nil)[bad], "and it is picked again")

		require.ErrorIs(t, stop(), context.Canceled, "RunHealthChecks returns ctx.Err() when stopped")
		mu.Lock()
		assert.Equal(t, []string{bad + " down", bad + " up"}, changes, "OnHealthChange reports both transitions")
		mu.Unlock()
	})
}

func TestHealthChecksFailOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newChecker()
		b := newBalancer(t, healthConfig(c), equal(2))
		for _, a := range addrs(2) {
			c.set(a, true)
		}
		stop := run(b)
		time.Sleep(time.Second)
		synctest.Wait()
		st := b.Stats()
		assert.Equal(t, 2, st.Unhealthy, "both endpoints fail their checks")
		assert.True(t, st.FailOpen, "with none healthy the balancer uses them all")
		counts := countPicks(t, b, 100, nil)
		assert.Equal(t, 50, counts[addrs(2)[0]], "picks still spread over every endpoint")
		require.ErrorIs(t, stop(), context.Canceled, "stopped")
	})
}

func TestHealthChecksTimeoutAndConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, peak := 0, 0
		cfg := lb.Config{HealthCheck: lb.HealthCheck{
			Concurrency:    3,
			Timeout:        time.Second,
			UnhealthyAfter: 1,
			Check: func(ctx context.Context, ep lb.Endpoint) error {
				mu.Lock()
				running++
				peak = max(peak, running)
				mu.Unlock()
				defer func() {
					mu.Lock()
					running--
					mu.Unlock()
				}()
				if ep.Addr == addrs(10)[0] {
					<-ctx.Done() // hangs until the timeout
					return ctx.Err()
				}
				time.Sleep(100 * time.Millisecond)
				return nil
			},
		}}
		b := newBalancer(t, cfg, equal(10))
		stop := run(b)
		time.Sleep(2 * time.Second)
		mu.Lock()
		assert.Equal(t, 3, peak, "no more than Concurrency checks at once")
		mu.Unlock()
		assert.False(t, stat(t, b, addrs(10)[0]).Healthy, "a check that outlives Timeout fails")
		require.ErrorIs(t, stop(), context.Canceled, "stopped")
	})
}

func TestHealthChecksStopMidRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		cfg := lb.Config{HealthCheck: lb.HealthCheck{
			UnhealthyAfter: 1,
			Check: func(ctx context.Context, ep lb.Endpoint) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			},
		}}
		b := newBalancer(t, cfg, equal(1))
		stop := run(b)
		<-started
		require.ErrorIs(t, stop(), context.Canceled, "RunHealthChecks returns once its checks return")
		assert.True(t, stat(t, b, addrs(1)[0]).Healthy, "an interrupted round is discarded, not counted as failures")
	})
}

func TestHealthCheckPanicIsRaisedInTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := lb.Config{HealthCheck: lb.HealthCheck{
			Check: func(ctx context.Context, ep lb.Endpoint) error {
				if ep.Addr == addrs(4)[1] {
					panic("check exploded")
				}
				return nil
			},
		}}
		b := newBalancer(t, cfg, equal(4))
		assert.PanicsWithValue(t, "check exploded", func() { _ = b.RunHealthChecks(context.Background()) },
			"a panic in a check reaches RunHealthChecks's caller")
	})
}

func TestRunHealthChecksWithoutCheck(t *testing.T) {
	b := lb.New(lb.Config{})
	require.ErrorIs(t, b.RunHealthChecks(context.Background()), lb.ErrNoHealthCheck, "no Check configured")
}

func TestHTTPHealthCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	for _, addr := range []string{host, srv.URL} {
		require.NoError(t, lb.HTTPHealthCheck(srv.Client(), "/healthz")(ctx, lb.Endpoint{Addr: addr}),
			"a 2xx answer passes for %s", addr)
	}
	defer http.DefaultClient.CloseIdleConnections()
	err := lb.HTTPHealthCheck(nil, "/other")(ctx, lb.Endpoint{Addr: host})
	require.ErrorIs(t, err, lb.ErrUnhealthyStatus, "a 503 fails")
	assert.Contains(t, err.Error(), "503", "the error names the status")
	require.Error(t, lb.HTTPHealthCheck(nil, "/healthz")(ctx, lb.Endpoint{Addr: "127.0.0.1:1"}),
		"a refused connection fails")
}

package discovery

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDialer answers TCP checks: up or down, counting dials.
type fakeDialer struct {
	down  atomic.Bool
	hang  atomic.Bool // block until the probe's context ends
	dials atomic.Int64
	gate  chan struct{} // if not nil, the first dial waits for it
}

func (d *fakeDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.dials.Add(1) == 1 && d.gate != nil {
		<-d.gate
	}
	if d.hang.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if d.down.Load() {
		return nil, errors.New("connection refused")
	}
	a, b := net.Pipe()
	_ = b.Close()
	return a, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func statusOf(r *Registry, service string) Status {
	return r.Lookup(service).Instances[0].Status
}

func TestTCPCheck(t *testing.T) {
	d := &fakeDialer{}
	synctestRegistry(t, Config{Dial: d.dial}, func(t *testing.T, r *Registry) {
		d.gate = make(chan struct{}) // made in the bubble, so waiting on it is durable
		ctx := context.Background()
		l, err := r.Register(ctx, Registration{Instance: inst("api", "a"), TTL: time.Hour,
			Check: &Check{TCP: "a.local:80", Interval: time.Second}})
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, StatusCritical, statusOf(r, "api"), "critical until the first probe passes")
		close(d.gate)
		synctest.Wait()
		assert.Equal(t, StatusPassing, statusOf(r, "api"), "the first probe runs at once")
		assert.Equal(t, int64(1), d.dials.Load())

		d.down.Store(true)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, StatusCritical, statusOf(r, "api"), "a failed probe makes it critical")
		assert.Empty(t, r.Lookup("api").Routable, "critical instances are not routable")

		d.down.Store(false)
		require.NoError(t, r.Heartbeat(ctx, l, StatusWarning))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, StatusWarning, statusOf(r, "api"), "the effective status is the worst of check and heartbeat")

		// Re-registering with the same check keeps its status: no flap.
		rev := r.Lookup("api").Revision
		_, err = r.Register(ctx, Registration{Instance: Instance{Service: "api", ID: "a", Address: "a.local:80", Status: StatusWarning},
			TTL: time.Hour, Token: l.Token, Check: &Check{TCP: "a.local:80", Interval: time.Second}})
		require.NoError(t, err)
		assert.Equal(t, rev, r.Lookup("api").Revision, "an identical re-registration publishes nothing")

		// Deregistration stops the probes.
		require.NoError(t, r.Deregister(ctx, l))
		dials := d.dials.Load()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, dials, d.dials.Load(), "no probe runs after deregistration")
	})
}

func TestCheckFailuresBeforeCritical(t *testing.T) {
	d := &fakeDialer{}
	synctestRegistry(t, Config{Dial: d.dial}, func(t *testing.T, r *Registry) {
		_, err := r.Register(context.Background(), Registration{Instance: inst("api", "a"), TTL: time.Hour,
			Check: &Check{TCP: "a.local:80", Interval: time.Second, FailuresBeforeCritical: 3}})
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, StatusPassing, statusOf(r, "api"))
		d.down.Store(true)
		for i := 1; i <= 2; i++ {
			time.Sleep(time.Second)
			synctest.Wait()
			assert.Equal(t, StatusPassing, statusOf(r, "api"), "failure %d of 3 keeps it passing", i)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, StatusCritical, statusOf(r, "api"), "the third consecutive failure makes it critical")
	})
}

func TestHTTPCheck(t *testing.T) {
	var code atomic.Int64
	var fail atomic.Bool
	client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if fail.Load() {
			return nil, errors.New("unreachable")
		}
		if req.URL.String() != "http://a.local/health" || req.Method != http.MethodGet {
			return nil, errors.New("unexpected request " + req.Method + " " + req.URL.String())
		}
		return &http.Response{StatusCode: int(code.Load()), Body: io.NopCloser(strings.NewReader(strings.Repeat("x", 10000)))}, nil
	})}
	cases := []struct {
		code int
		fail bool
		want Status
	}{
		{200, false, StatusPassing},
		{204, false, StatusPassing},
		{429, false, StatusWarning},
		{503, false, StatusCritical},
		{301, false, StatusCritical},
		{200, true, StatusCritical},
	}
	synctestRegistry(t, Config{HTTPClient: client}, func(t *testing.T, r *Registry) {
		code.Store(200)
		_, err := r.Register(context.Background(), Registration{Instance: inst("api", "a"), TTL: time.Hour,
			Check: &Check{HTTP: "http://a.local/health", Interval: time.Second}})
		require.NoError(t, err)
		synctest.Wait()
		for _, tc := range cases {
			code.Store(int64(tc.code))
			fail.Store(tc.fail)
			time.Sleep(time.Second)
			synctest.Wait()
			assert.Equal(t, tc.want, statusOf(r, "api"), "HTTP %d (transport error %v)", tc.code, tc.fail)
		}
	})
}

func TestCloseCancelsRunningProbe(t *testing.T) {
	d := &fakeDialer{}
	d.hang.Store(true)
	synctest.Test(t, func(t *testing.T) {
		r := New(Config{Dial: d.dial})
		_, err := r.Register(context.Background(), Registration{Instance: inst("api", "a"), TTL: time.Hour,
			Check: &Check{TCP: "a.local:80", Interval: time.Minute, Timeout: time.Minute}})
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, int64(1), d.dials.Load(), "the probe is running")
		start := time.Now()
		require.NoError(t, r.Close())
		assert.Zero(t, time.Since(start), "Close cancels the probe instead of waiting for its timeout")
	})
}

func TestProbeTimeout(t *testing.T) {
	d := &fakeDialer{}
	synctestRegistry(t, Config{Dial: d.dial}, func(t *testing.T, r *Registry) {
		_, err := r.Register(context.Background(), Registration{Instance: inst("api", "a"), TTL: time.Hour,
			Check: &Check{TCP: "a.local:80", Interval: 10 * time.Second, Timeout: 2 * time.Second}})
		require.NoError(t, err)
		synctest.Wait()
		require.Equal(t, StatusPassing, statusOf(r, "api"))
		d.hang.Store(true)
		time.Sleep(10*time.Second + 2*time.Second)
		synctest.Wait()
		assert.Equal(t, StatusCritical, statusOf(r, "api"), "a probe that times out fails")
	})
}

package discovery

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSRV answers SRV lookups from a settable table.
type fakeSRV struct {
	mu      sync.Mutex
	records []*net.SRV
	err     error
	calls   int
	args    [3]string
	gate    chan struct{} // if set, lookups wait for it
}

func (f *fakeSRV) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	f.mu.Lock()
	f.calls++
	f.args = [3]string{service, proto, name}
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return name, f.records, f.err
}

func (f *fakeSRV) set(err error, records ...*net.SRV) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records, f.err = records, err
}

func (f *fakeSRV) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func srv(target string, port, priority, weight uint16) *net.SRV {
	return &net.SRV{Target: target, Port: port, Priority: priority, Weight: weight}
}

func TestDNSResolve(t *testing.T) {
	f := &fakeSRV{}
	f.set(nil,
		srv("B.example.com.", 80, 10, 5),
		srv("a.example.com.", 80, 10, 0),
		srv("a.example.com.", 80, 10, 0), // duplicate
		srv("backup.example.com.", 80, 20, 100),
	)
	d := NewDNS(DNSConfig{Resolver: f, Domain: "example.com"})
	got, err := d.Resolve(context.Background(), "api")
	require.NoError(t, err)
	assert.Equal(t, [3]string{"api", "tcp", "example.com"}, f.args, "Domain makes _api._tcp.example.com")
	assert.Equal(t, []Instance{
		{Service: "api", ID: "a.example.com:80", Address: "a.example.com:80", Weight: 1, ModRevision: 2},
		{Service: "api", ID: "b.example.com:80", Address: "b.example.com:80", Weight: 5, ModRevision: 2},
	}, got, "lowest priority only, weight 0 becomes 1, names normalized, duplicates merged")

	full := NewDNS(DNSConfig{Resolver: f})
	_, err = full.Resolve(context.Background(), "_api._tcp.example.com")
	require.NoError(t, err)
	assert.Equal(t, [3]string{"", "", "_api._tcp.example.com"}, f.args, "without Domain the name is looked up as given")

	f.set(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true})
	nx := NewDNS(DNSConfig{Resolver: f})
	got, err = nx.Resolve(context.Background(), "_x._tcp.example.com")
	assert.NoError(t, err, "NXDOMAIN is an answer")
	assert.Empty(t, got)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Resolve(canceled, "api")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Panics(t, func() { NewDNS(DNSConfig{Refresh: -1}) })
}

func TestDNSCacheAndStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSRV{}
		f.set(nil, srv("a.", 1, 0, 1))
		d := NewDNS(DNSConfig{Resolver: f, Refresh: 10 * time.Second, MaxStale: time.Minute})
		ctx := context.Background()
		snap, err := d.Lookup(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, uint64(2), snap.Revision)

		time.Sleep(9 * time.Second)
		_, err = d.Lookup(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, 1, f.callCount(), "answers are reused for Refresh")

		time.Sleep(time.Second)
		again, err := d.Lookup(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, 2, f.callCount(), "after Refresh DNS is asked again")
		assert.Equal(t, snap.Revision, again.Revision, "an unchanged answer keeps its revision")

		f.set(nil, srv("a.", 1, 0, 1), srv("b.", 1, 0, 1))
		time.Sleep(10 * time.Second)
		changed, err := d.Lookup(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, snap.Revision+1, changed.Revision, "a changed answer moves the revision")
		assert.Equal(t, snap.Revision, changed.Instances[0].ModRevision, "an unchanged record keeps its ModRevision")

		f.set(errors.New("SERVFAIL"))
		time.Sleep(10 * time.Second)
		stale, err := d.Lookup(ctx, "s")
		var se *StaleError
		require.ErrorAs(t, err, &se, "a failed lookup serves the last good answer")
		assert.Equal(t, 10*time.Second, se.Age)
		assert.ErrorIs(t, err, ErrUnavailable)
		assert.Equal(t, changed, stale)

		time.Sleep(time.Minute)
		_, err = d.Lookup(ctx, "s")
		assert.ErrorIs(t, err, ErrUnavailable)
		assert.False(t, errors.As(err, &se), "beyond MaxStale nothing is served")
	})
}

func TestDNSSharesConcurrentLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSRV{gate: make(chan struct{})}
		f.set(nil, srv("a.", 1, 0, 1))
		d := NewDNS(DNSConfig{Resolver: f})
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				got, err := d.Resolve(context.Background(), "s")
				assert.NoError(t, err)
				assert.Len(t, got, 1)
			})
		}
		// One caller gives up; the others still get the shared answer.
		ctx, cancel := context.WithCancel(context.Background())
		wg.Go(func() {
			_, err := d.Resolve(ctx, "s")
			assert.ErrorIs(t, err, context.Canceled)
		})
		synctest.Wait()
		cancel()
		synctest.Wait()
		close(f.gate)
		wg.Wait()
		assert.Equal(t, 1, f.callCount(), "concurrent resolves share one query")
	})
}

func TestDNSWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSRV{}
		f.set(nil, srv("a.", 1, 0, 1))
		d := NewDNS(DNSConfig{Resolver: f, Refresh: time.Second, MaxStale: time.Nanosecond})
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var events []Event
		var errs []error
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range d.Watch(ctx, "s", 0) {
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					events = append(events, ev)
				}
				mu.Unlock()
			}
		}()
		synctest.Wait()
		// Change the answer between polls (which run on whole seconds).
		time.Sleep(5*time.Second + time.Second/2)
		f.set(nil, srv("a.", 1, 0, 1), srv("b.", 1, 0, 1))
		time.Sleep(time.Second)
		f.set(errors.New("SERVFAIL"))
		time.Sleep(time.Second)
		f.set(nil, srv("b.", 1, 0, 1))
		time.Sleep(time.Second)
		cancel()
		<-done
		require.Len(t, events, 3, "a reset, then one event per changed answer: %+v", events)
		assert.True(t, events[0].Reset)
		assert.Equal(t, []Change{{Kind: Added, Instance: events[1].Instances[1]}}, events[1].Changes)
		assert.Equal(t, Removed, events[2].Changes[0].Kind)
		assert.Equal(t, []string{"b:1"}, ids(events[2].Instances))
		require.Len(t, errs, 2, "the failed poll and the end of the context")
		assert.ErrorIs(t, errs[0], ErrUnavailable)
		assert.ErrorIs(t, errs[1], context.Canceled)

		// Resuming at the current revision skips the reset.
		rev := events[2].Revision
		ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel2()
		n := 0
		for _, err := range d.Watch(ctx2, "s", rev) {
			if err == nil {
				n++
			}
		}
		assert.Zero(t, n, "nothing changed since the resumed revision")
	})
}

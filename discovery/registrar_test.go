package discovery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flaky is a Registrant that fails every call while down.
type flaky struct {
	Registrant
	down atomic.Bool
}

var errOutage = errors.New("network outage")

func (f *flaky) Register(ctx context.Context, reg Registration) (Lease, error) {
	if f.down.Load() {
		return Lease{}, errOutage
	}
	return f.Registrant.Register(ctx, reg)
}

func (f *flaky) Heartbeat(ctx context.Context, l Lease, s Status) error {
	if f.down.Load() {
		return errOutage
	}
	return f.Registrant.Heartbeat(ctx, l, s)
}

func (f *flaky) Deregister(ctx context.Context, l Lease) error {
	if f.down.Load() {
		return errOutage
	}
	return f.Registrant.Deregister(ctx, l)
}

func TestRegistrarRunReregistersAfterOutage(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		to := &flaky{Registrant: r}
		var mu sync.Mutex
		var again []bool
		var failures int
		rr := NewRegistrar(to, Registration{Instance: inst("api", "a"), TTL: 3 * time.Second}, RegistrarConfig{
			Status: func() Status { return StatusWarning },
			OnRegister: func(_ Lease, a bool) {
				mu.Lock()
				defer mu.Unlock()
				again = append(again, a)
			},
			OnError: func(error) {
				mu.Lock()
				defer mu.Unlock()
				failures++
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() { result <- rr.Run(ctx) }()

		synctest.Wait()
		require.Len(t, r.Lookup("api").Instances, 1, "Run registers at once")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Len(t, r.Lookup("api").Instances, 1, "heartbeats every TTL/3 keep the lease")
		assert.Equal(t, StatusWarning, r.Lookup("api").Instances[0].Status, "heartbeats carry the reported status")
		beats := rr.Stats().Heartbeats
		assert.GreaterOrEqual(t, beats, uint64(9), "about one heartbeat per second")

		to.down.Store(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Empty(t, r.Lookup("api").Instances, "the lease expired during the outage")
		mu.Lock()
		assert.Positive(t, failures, "OnError saw the failed beats")
		mu.Unlock()
		assert.LessOrEqual(t, rr.Stats().Failures, uint64(10/0.5+2), "backoff spaces the retries")

		to.down.Store(false)
		time.Sleep(time.Second + time.Nanosecond)
		synctest.Wait()
		assert.Len(t, r.Lookup("api").Instances, 1, "within one heartbeat interval the instance is registered again")
		mu.Lock()
		assert.Equal(t, []bool{false, true}, again, "the second registration replaced a lost lease")
		mu.Unlock()
		assert.Equal(t, uint64(1), rr.Stats().Reregistrations)

		cancel()
		assert.ErrorIs(t, <-result, context.Canceled, "Run ends with the context")
		assert.Empty(t, r.Lookup("api").Instances, "Run deregisters when it stops")
		_, held := rr.Lease()
		assert.False(t, held)
	})
}

func TestRegistrarRunReportsFailedDeregistration(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		to := &flaky{Registrant: r}
		rr := NewRegistrar(to, Registration{Instance: inst("api", "a"), TTL: 3 * time.Second}, RegistrarConfig{DeregisterTimeout: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() { result <- rr.Run(ctx) }()
		synctest.Wait()
		to.down.Store(true)
		cancel()
		err := <-result
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, errOutage, "a failed deregistration is reported")
	})
}

func TestRegistrarBeatTakenOver(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		rr := NewRegistrar(r, Registration{Instance: inst("api", "a"), TTL: time.Minute}, RegistrarConfig{})
		require.NoError(t, rr.Beat(ctx))
		// An operator removes it and someone else registers the same ID.
		require.NoError(t, r.Remove(ctx, "api", "a"))
		register(t, r, inst("api", "a"), time.Minute)
		err := rr.Beat(ctx)
		assert.ErrorIs(t, err, ErrConflict, "a live lease of someone else is not stolen")
		_, held := rr.Lease()
		assert.False(t, held)
		assert.Panics(t, func() { NewRegistrar(nil, Registration{}, RegistrarConfig{}) })
		assert.Panics(t, func() { NewRegistrar(r, Registration{}, RegistrarConfig{Interval: -1}) })
		assert.ErrorIs(t, RegistrarConfig{BackoffMax: -1}.Validate(), ErrInvalid)
		assert.ErrorIs(t, DNSConfig{Timeout: -1}.Validate(), ErrInvalid)
		assert.NoError(t, RegistrarConfig{}.Validate())
	})
}

// handlerTransport serves requests with an in-memory Handler, so that the
// client and server can run inside a synctest bubble. A nil handler is a
// server that is down.
type handlerTransport struct {
	h atomic.Pointer[http.Handler]
}

func (tr *handlerTransport) set(h http.Handler) {
	if h == nil {
		tr.h.Store(nil)
		return
	}
	tr.h.Store(&h)
}

func (tr *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := tr.h.Load()
	if h == nil {
		return nil, errors.New("connection refused")
	}
	rec := httptest.NewRecorder()
	(*h).ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// TestClientRegistrarAndWatchOverOutage runs a Client, a Registrar and a
// Watch through an outage and a registry restart, with time controlled.
func TestClientRegistrarAndWatchOverOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &handlerTransport{}
		reg1 := New(Config{})
		defer reg1.Close()
		tr.set(Handler(reg1, HandlerConfig{}))
		c := NewClient(ClientConfig{URL: "http://registry", HTTPClient: &http.Client{Transport: tr},
			WatchWait: 30 * time.Second, BackoffMin: 100 * time.Millisecond, BackoffMax: 2 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		rr := NewRegistrar(c, Registration{Instance: inst("api", "a"), TTL: 3 * time.Second}, RegistrarConfig{})
		var wg sync.WaitGroup
		wg.Go(func() { _ = rr.Run(ctx) })

		var mu sync.Mutex
		var events []Event
		var watchErrs int
		wg.Go(func() {
			for ev, err := range c.Watch(ctx, "api", 0) {
				mu.Lock()
				if err != nil {
					watchErrs++
				} else {
					events = append(events, ev)
				}
				mu.Unlock()
			}
		})
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		require.NotEmpty(t, events)
		assert.Equal(t, []string{"a"}, ids(events[len(events)-1].Instances), "the watch sees the registration")
		mu.Unlock()

		// Outage: the server is unreachable for a minute, then comes back
		// with an empty registry.
		tr.set(nil)
		_ = reg1.Close()
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		errsDuringOutage := watchErrs
		mu.Unlock()
		assert.Positive(t, errsDuringOutage, "the watch reports the outage")
		assert.Less(t, errsDuringOutage, 60, "and backs off instead of spinning")

		reg2 := New(Config{})
		defer reg2.Close()
		tr.set(Handler(reg2, HandlerConfig{}))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Len(t, reg2.Lookup("api").Instances, 1, "the registrar registered with the new registry")
		assert.Equal(t, uint64(1), rr.Stats().Reregistrations)
		mu.Lock()
		last := events[len(events)-1]
		mu.Unlock()
		assert.Equal(t, reg2.Lookup("api").Revision, last.Revision, "the watch caught up with the new registry")
		assert.Equal(t, []string{"a"}, ids(last.Instances))

		cancel()
		wg.Wait()
		assert.Empty(t, reg2.Lookup("api").Instances, "Run deregistered on the way out")
	})
}

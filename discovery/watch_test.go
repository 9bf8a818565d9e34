package discovery

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watchState applies a watch stream to a local copy and checks each event
// against it.
type watchState struct {
	mu     sync.Mutex // the test reads rev while the watcher runs
	byID   map[string]Instance
	rev    uint64
	events int
}

func (s *watchState) apply(ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Revision <= s.rev {
		return fmt.Errorf("revision %d after %d: revisions must strictly increase", ev.Revision, s.rev)
	}
	if ev.Reset {
		if ev.Changes != nil {
			return fmt.Errorf("reset event at %d carries changes", ev.Revision)
		}
		s.byID = make(map[string]Instance)
		for _, i := range ev.Instances {
			s.byID[i.ID] = i
		}
	} else {
		if s.byID == nil {
			return fmt.Errorf("first event at %d is not a reset", ev.Revision)
		}
		if len(ev.Changes) == 0 {
			return fmt.Errorf("change event at %d changes nothing", ev.Revision)
		}
		for _, c := range ev.Changes {
			_, had := s.byID[c.Instance.ID]
			if had != (c.Kind != Added) {
				return fmt.Errorf("%s of %s, listed before: %v", c.Kind, c.Instance.ID, had)
			}
			if c.Kind == Removed {
				delete(s.byID, c.Instance.ID)
			} else {
				s.byID[c.Instance.ID] = c.Instance
			}
		}
	}
	if len(ev.Instances) != len(s.byID) {
		return fmt.Errorf("at %d: %d instances listed, %d after applying changes", ev.Revision, len(ev.Instances), len(s.byID))
	}
	for _, i := range ev.Instances {
		if s.byID[i.ID].ModRevision != i.ModRevision {
			return fmt.Errorf("at %d: %s differs after applying changes", ev.Revision, i.ID)
		}
	}
	routable := slices.DeleteFunc(slices.Clone(ev.Instances), func(i Instance) bool { return !i.Routable() })
	if !slices.Equal(ids(routable), ids(ev.Routable)) {
		return fmt.Errorf("at %d: Routable is not the routable subset", ev.Revision)
	}
	s.rev = ev.Revision
	s.events++
	return nil
}

// randomChange makes one visible change to service "api" out of ids IDs.
func randomChange(t *testing.T, r *Registry, rng *rand.Rand, leases map[string]Lease, nIDs int, md map[string]string) {
	ctx := context.Background()
	before := r.Lookup("api").Revision
	for r.Lookup("api").Revision == before {
		id := fmt.Sprintf("i%02d", rng.IntN(nIDs))
		l, ok := leases[id]
		switch {
		case !ok:
			reg := Registration{Instance: Instance{Service: "api", ID: id, Address: id + ":80", Metadata: md}}
			l, err := r.Register(ctx, reg)
			require.NoError(t, err)
			leases[id] = l
		case rng.IntN(4) == 0:
			require.NoError(t, r.Deregister(ctx, l))
			delete(leases, id)
		case rng.IntN(2) == 0:
			require.NoError(t, r.Drain(ctx, l, rng.IntN(2) == 0))
		default:
			require.NoError(t, r.Heartbeat(ctx, l, Status(rng.IntN(3))))
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestWatchersOneSlow runs eight watchers, one of them slow (it takes a
// second per event), over 1,000 changes: every stream is ordered and
// consistent, fast watchers see every revision, the slow one sees a few
// coalesced events, all end on the final state, the writer never waits for
// anyone, and a watcher that is behind holds no backlog.
func TestWatchersOneSlow(t *testing.T) {
	const (
		watchers = 8
		changes  = 1000
		burst    = 500 // changes made while the slow watcher sleeps
		nIDs     = 50
	)
	md := map[string]string{"blob": strings.Repeat("x", 400)}
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rng := rand.New(rand.NewPCG(1, 2))
		leases := make(map[string]Lease)

		states := make([]*watchState, watchers)
		var wg sync.WaitGroup
		for w := range watchers {
			states[w] = &watchState{}
			wg.Go(func() {
				for ev, err := range r.Watch(ctx, "api", 0) {
					if err != nil {
						assert.ErrorIs(t, err, context.Canceled, "the watch ends with the context")
						return
					}
					if err := states[w].apply(ev); err != nil {
						t.Errorf("watcher %d: %v", w, err)
						return
					}
					if w == 0 {
						time.Sleep(time.Second) // the slow consumer
					}
				}
			})
		}
		synctest.Wait()

		// A burst while the slow watcher sleeps: the bubble's clock stands
		// still, so it stays a second behind for all of it.
		before := heapInUse()
		for range burst {
			randomChange(t, r, rng, leases, nIDs, md)
			synctest.Wait()
		}
		grown := int64(heapInUse()) - int64(before)
		// 500 retained states of ~50 instances with 400-byte metadata
		// would be ~10 MB; a watcher that is behind holds one.
		assert.Less(t, grown, int64(1<<20), "a watcher that is behind accumulates no backlog")

		// The rest with time passing now and then: the slow watcher wakes
		// up every second and gets everything it missed in one event.
		for i := range changes - burst {
			randomChange(t, r, rng, leases, nIDs, md)
			synctest.Wait()
			if i%50 == 49 {
				time.Sleep(time.Second)
			}
		}
		final := r.Lookup("api")
		require.Equal(t, uint64(1+changes), final.Revision, "1,000 changes, 1,000 revisions")

		for !func() bool {
			synctest.Wait()
			for _, s := range states {
				s.mu.Lock()
				rev := s.rev
				s.mu.Unlock()
				if rev != final.Revision {
					return false
				}
			}
			return true
		}() {
			time.Sleep(time.Second)
		}
		cancel()
		wg.Wait()
		for w, s := range states {
			assert.Equal(t, final.Revision, s.rev, "watcher %d ends on the final revision", w)
			assert.Equal(t, len(final.Instances), len(s.byID), "watcher %d ends on the final state", w)
			if w > 0 {
				assert.Equal(t, changes+1, s.events, "fast watcher %d saw the snapshot and every change", w)
			}
		}
		slow := states[0].events
		assert.GreaterOrEqual(t, slow, 10, "the slow watcher got an event each time it woke up")
		assert.LessOrEqual(t, slow, 13, "and each coalesced everything it had missed")
		assert.Zero(t, r.Stats().Watchers, "every watch ended")
	})
}

func TestWatchResumeAndReset(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		register(t, r, inst("api", "a"), time.Minute)
		rev := r.Lookup("api").Revision

		var got []Event
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range r.Watch(ctx, "api", rev) {
				if err != nil {
					return
				}
				got = append(got, ev)
				if len(got) == 1 {
					return
				}
			}
		}()
		synctest.Wait()
		assert.Empty(t, got, "resuming at the current revision starts with the next change")
		register(t, r, inst("api", "b"), time.Minute)
		<-done
		require.Len(t, got, 1)
		assert.False(t, got[0].Reset)
		assert.Equal(t, []Change{{Kind: Added, Instance: r.Lookup("api").Instances[1]}}, got[0].Changes)

		for _, from := range []uint64{0, rev, rev + 100} {
			for ev, err := range r.Watch(ctx, "api", from) {
				require.NoError(t, err)
				assert.True(t, ev.Reset, "from revision %d the stream starts with a reset", from)
				assert.Equal(t, []string{"a", "b"}, ids(ev.Instances))
				break
			}
		}
	})
}

func TestWatchUnknownServiceAndIsolation(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		var got []Event
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range r.Watch(ctx, "api", 0) {
				if err != nil {
					return
				}
				mu.Lock()
				got = append(got, ev)
				mu.Unlock()
			}
		}()
		synctest.Wait()
		mu.Lock()
		require.Len(t, got, 1)
		assert.Equal(t, Event{Service: "api", Revision: 1, Reset: true}, got[0], "an unknown service starts empty at revision 1")
		mu.Unlock()

		for i := range 20 {
			register(t, r, inst("db", fmt.Sprint(i)), time.Minute)
		}
		synctest.Wait()
		mu.Lock()
		assert.Len(t, got, 1, "writes to another service wake nobody here")
		mu.Unlock()

		register(t, r, inst("api", "a"), time.Minute)
		synctest.Wait()
		mu.Lock()
		require.Len(t, got, 2)
		assert.Equal(t, Added, got[1].Changes[0].Kind)
		assert.Equal(t, uint64(2), got[1].Revision)
		mu.Unlock()
		cancel()
		<-done
	})
}

func TestWatchEnds(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var last error
			for _, err := range r.Watch(ctx, "api", 0) {
				last = err
			}
			assert.ErrorIs(t, last, context.DeadlineExceeded, "the stream ends with the context's error")
		})
	})
	t.Run("close", func(t *testing.T) {
		synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
			errs := make(chan error, 1)
			go func() {
				var last error
				for _, err := range r.Watch(context.Background(), "api", 0) {
					last = err
				}
				errs <- last
			}()
			synctest.Wait()
			assert.Equal(t, 1, r.Stats().Watchers)
			require.NoError(t, r.Close())
			assert.ErrorIs(t, <-errs, ErrClosed, "closing the registry ends its watches")
		})
	})
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	// Each case starts with "api" holding one instance at revision rev.
	cases := []struct {
		name string
		run  func(t *testing.T, r *Registry, rev uint64)
	}{
		{"stale, future and zero indexes return at once", func(t *testing.T, r *Registry, rev uint64) {
			for _, index := range []uint64{0, rev - 1, rev + 7} {
				start := time.Now()
				snap, err := r.Query(ctx, "api", index, time.Minute)
				require.NoError(t, err)
				assert.Equal(t, rev, snap.Revision, "index %d returns the current state", index)
				assert.Zero(t, time.Since(start), "index %d returns at once", index)
			}
		}},
		{"times out with jitter", func(t *testing.T, r *Registry, rev uint64) {
			start := time.Now()
			snap, err := r.Query(ctx, "api", rev, time.Minute)
			require.NoError(t, err)
			assert.Equal(t, rev, snap.Revision, "nothing changed")
			waited := time.Since(start)
			assert.GreaterOrEqual(t, waited, time.Minute)
			assert.Less(t, waited, time.Minute+time.Minute/16, "the jitter is below wait/16")
		}},
		{"returns on change of this service only", func(t *testing.T, r *Registry, rev uint64) {
			result := make(chan Snapshot, 1)
			go func() {
				snap, err := r.Query(ctx, "api", rev, time.Minute)
				assert.NoError(t, err)
				result <- snap
			}()
			synctest.Wait()
			register(t, r, inst("db", "x"), time.Hour)
			synctest.Wait()
			assert.Empty(t, result, "a write to db does not end a query on api")
			time.Sleep(time.Second)
			register(t, r, inst("api", "b"), time.Hour)
			snap := <-result
			assert.Equal(t, rev+1, snap.Revision)
			assert.Equal(t, time.Second, time.Since(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), "it returned at the change")
		}},
		{"unknown service waits for its creation", func(t *testing.T, r *Registry, rev uint64) {
			result := make(chan Snapshot, 1)
			go func() {
				snap, err := r.Query(ctx, "new", 1, time.Minute)
				assert.NoError(t, err)
				result <- snap
			}()
			synctest.Wait()
			register(t, r, inst("other", "x"), time.Hour)
			synctest.Wait()
			assert.Empty(t, result, "creating another service changes nothing for this one")
			register(t, r, inst("new", "x"), time.Hour)
			assert.Equal(t, uint64(2), (<-result).Revision)
		}},
		{"canceled", func(t *testing.T, r *Registry, rev uint64) {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, err := r.Query(cctx, "api", rev, time.Minute)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"wait is capped", func(t *testing.T, r *Registry, rev uint64) {
			for _, wait := range []time.Duration{0, -1, time.Hour} {
				start := time.Now()
				_, err := r.Query(ctx, "api", rev, wait)
				require.NoError(t, err)
				waited := time.Since(start)
				assert.GreaterOrEqual(t, waited, DefaultMaxQueryWait, "wait %s means MaxQueryWait", wait)
				assert.Less(t, waited, DefaultMaxQueryWait+DefaultMaxQueryWait/16, "wait %s means MaxQueryWait", wait)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
				register(t, r, inst("api", "a"), time.Hour)
				tc.run(t, r, r.Lookup("api").Revision)
			})
		})
	}
}

func TestDiffViews(t *testing.T) {
	mk := func(rev uint64, pairs ...any) *view {
		v := &view{rev: rev}
		for i := 0; i < len(pairs); i += 2 {
			v.all = append(v.all, Instance{ID: pairs[i].(string), ModRevision: uint64(pairs[i+1].(int))})
		}
		return v
	}
	a := mk(5, "a", 1, "b", 2, "c", 3)
	b := mk(9, "b", 2, "c", 7, "d", 8)
	got := diffViews(a, b)
	kinds := make(map[string]ChangeKind)
	for _, c := range got {
		kinds[c.Instance.ID] = c.Kind
	}
	assert.Equal(t, map[string]ChangeKind{"a": Removed, "c": Updated, "d": Added}, kinds)
	assert.Empty(t, diffViews(a, a), "a view does not differ from itself")
	assert.True(t, slices.IsSortedFunc(got, func(x, y Change) int { return strings.Compare(x.Instance.ID, y.Instance.ID) }))
}

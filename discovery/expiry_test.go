package discovery

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expiryLog records OnExpire and OnGuard calls with the bubble's time.
type expiryLog struct {
	mu      sync.Mutex
	expired map[string]time.Time
	guard   []GuardEvent
}

func newExpiryLog(cfg *Config) *expiryLog {
	l := &expiryLog{expired: make(map[string]time.Time)}
	cfg.OnExpire = func(i Instance) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.expired[i.ID] = time.Now()
	}
	cfg.OnGuard = func(ev GuardEvent) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.guard = append(l.guard, ev)
	}
	return l
}

func (l *expiryLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.expired)
}

func (l *expiryLog) guardEvents() []GuardEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]GuardEvent(nil), l.guard...)
}

// TestLeasesExpireOnTime registers 200 instances at staggered times,
// renews some of them at staggered times, and checks every expiry against
// its deadline: none before TTL after the last renewal, all by TTL plus one
// CheckInterval.
func TestLeasesExpireOnTime(t *testing.T) {
	const (
		n     = 200
		ttl   = 10 * time.Second
		check = time.Second
	)
	cfg := Config{CheckInterval: check, GuardDisabled: true}
	log := newExpiryLog(&cfg)
	synctestRegistry(t, cfg, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		deadline := make(map[string]time.Time, n)
		leases := make([]Lease, n)
		for i := range n {
			id := fmt.Sprintf("i%03d", i)
			leases[i] = register(t, r, inst("api", id), ttl)
			deadline[id] = time.Now().Add(ttl)
			time.Sleep(37 * time.Millisecond)
		}
		// Renew every third instance a few times, at uneven instants.
		for round := range 3 {
			for i := 0; i < n; i += 3 {
				require.NoError(t, r.Heartbeat(ctx, leases[i], StatusPassing), "renewal %d of %d", round, i)
				deadline[leases[i].ID] = time.Now().Add(ttl)
				time.Sleep(11 * time.Millisecond)
			}
		}
		// Step through time and check the listing at every step.
		for step := 0; step < 400; step++ {
			synctest.Wait()
			now := time.Now()
			listed := make(map[string]bool)
			for _, inst := range r.Lookup("api").Instances {
				listed[inst.ID] = true
			}
			for id, d := range deadline {
				if now.Before(d) {
					assert.True(t, listed[id], "%s is listed before its deadline (%s early)", id, d.Sub(now))
				}
				if !now.Before(d.Add(check)) {
					assert.False(t, listed[id], "%s is gone by TTL + CheckInterval (%s late)", id, now.Sub(d))
				}
			}
			time.Sleep(97 * time.Millisecond)
		}
		synctest.Wait()
		require.Equal(t, n, log.count(), "every instance expired")
		for id, at := range log.expired {
			assert.False(t, at.Before(deadline[id]), "%s expired %s before its TTL", id, deadline[id].Sub(at))
			assert.LessOrEqual(t, at.Sub(deadline[id]), check, "%s expired within one CheckInterval of its TTL", id)
		}
		assert.Equal(t, uint64(n), r.Stats().Expirations)
		assert.Empty(t, log.guardEvents(), "the guard is disabled")
	})
}

func TestExpiryAtTheExactDeadline(t *testing.T) {
	cfg := Config{CheckInterval: time.Second}
	log := newExpiryLog(&cfg)
	synctestRegistry(t, cfg, func(t *testing.T, r *Registry) {
		register(t, r, inst("api", "a"), 5*time.Second)
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Len(t, r.Lookup("api").Instances, 1, "one nanosecond before the TTL the lease holds")
		assert.Zero(t, log.count())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Empty(t, r.Lookup("api").Instances, "the lease lapses at exactly its TTL")
		assert.Equal(t, 1, log.count())
	})
}

// heartbeatEvery renews a lease every interval until ctx is done.
func heartbeatEvery(ctx context.Context, r *Registry, l Lease, interval time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
			_ = r.Heartbeat(ctx, l, StatusPassing)
		}
	}
}

func TestGuardKeepsMassLapseAsSuspect(t *testing.T) {
	const ttl = 9 * time.Second
	cfg := Config{GuardMaxSuspect: time.Minute}
	log := newExpiryLog(&cfg)
	synctestRegistry(t, cfg, func(t *testing.T, r *Registry) {
		for i := range 10 {
			register(t, r, inst("api", fmt.Sprint(i)), ttl)
			time.Sleep(ttl / 3 / 10) // spread like heartbeats every TTL/3
		}
		// The registry hears nothing from anyone: its own outage.
		time.Sleep(ttl + 2*time.Second)
		synctest.Wait()
		snap := r.Lookup("api")
		require.Len(t, snap.Instances, 10, "the guard keeps every lapsed instance listed")
		for _, i := range snap.Instances {
			assert.True(t, i.Suspect, "%s is suspect", i.ID)
			assert.Equal(t, StatusWarning, i.Status, "suspect instances are reported as warning")
		}
		assert.Len(t, snap.Routable, 10, "suspect instances stay routable")
		assert.Zero(t, log.count(), "nothing expired while guarded")
		ev := log.guardEvents()
		require.NotEmpty(t, ev, "the guard reported")
		assert.Equal(t, GuardEvent{Service: "api", Active: true, Suspect: 1, Listed: 10}, ev[0], "the first event says the guard engaged")
		st := r.Stats()
		assert.Equal(t, 10, st.Suspect)
		assert.Equal(t, uint64(1), st.GuardEngagements)

		// Bounded: after GuardMaxSuspect they go anyway.
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Empty(t, r.Lookup("api").Instances, "suspects are removed after GuardMaxSuspect")
		assert.Equal(t, 10, log.count())
		ev = log.guardEvents()
		assert.Equal(t, GuardEvent{Service: "api", Active: false, Suspect: 0, Listed: 0}, ev[len(ev)-1], "the guard reported its release")
	})
}

func TestGuardRecovery(t *testing.T) {
	const ttl = 9 * time.Second
	cfg := Config{GuardMaxSuspect: 10 * time.Minute}
	log := newExpiryLog(&cfg)
	synctestRegistry(t, cfg, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		leases := make([]Lease, 10)
		for i := range leases {
			leases[i] = register(t, r, inst("api", fmt.Sprint(i)), ttl)
		}
		time.Sleep(ttl + time.Second)
		synctest.Wait()
		require.Equal(t, 10, r.Stats().Suspect, "all lapsed together and are suspect")

		// The outage ends: six instances come back, four were really gone.
		start := time.Now()
		hbCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, l := range leases[:6] {
			require.NoError(t, r.Heartbeat(ctx, l, StatusPassing), "a suspect may heartbeat")
			wg.Go(func() { heartbeatEvery(hbCtx, r, l, ttl/3) })
		}
		snap := r.Lookup("api")
		assert.Len(t, snap.Instances, 10)
		for _, i := range snap.Instances[:6] {
			assert.False(t, i.Suspect, "%s heartbeated and is live again", i.ID)
			assert.Equal(t, StatusPassing, i.Status)
		}
		// Suspects are now a minority: the rest get one TTL, not ten minutes.
		time.Sleep(ttl + time.Second + time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, []string{"0", "1", "2", "3", "4", "5"}, ids(r.Lookup("api").Instances)[:6])
		assert.Len(t, r.Lookup("api").Instances, 6, "the four silent suspects were removed")
		for id, at := range log.expired {
			assert.LessOrEqual(t, at.Sub(start), ttl+time.Second, "%s was removed within a TTL of the release", id)
		}
		ev := log.guardEvents()
		assert.Equal(t, []GuardEvent{{Service: "api", Active: true, Suspect: 10, Listed: 10},
			{Service: "api", Active: false, Suspect: 0, Listed: 6}}, ev, "the guard engaged once and released once")
		assert.Equal(t, 4, log.count(), "the four silent instances expired")
		stop()
		wg.Wait()
	})
}

func TestGuardIgnoresMinorityAndSmallServices(t *testing.T) {
	const ttl = 9 * time.Second
	cfg := Config{}
	log := newExpiryLog(&cfg)
	synctestRegistry(t, cfg, func(t *testing.T, r *Registry) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		for i := range 10 {
			l := register(t, r, inst("api", fmt.Sprint(i)), ttl)
			if i < 7 { // seven keep heartbeating, three die
				wg.Go(func() { heartbeatEvery(ctx, r, l, ttl/3) })
			}
		}
		register(t, r, inst("small", "a"), ttl)
		register(t, r, inst("small", "b"), ttl)

		time.Sleep(ttl + time.Second)
		synctest.Wait()
		assert.Len(t, r.Lookup("api").Instances, 7, "a minority lapse expires on time")
		assert.Empty(t, r.Lookup("small").Instances, "services below GuardMinInstances expire on time")
		assert.Equal(t, 5, log.count())
		assert.Empty(t, log.guardEvents(), "the guard never engaged")
		cancel()
		wg.Wait()
	})
}

func TestSuspectCanBeTakenOver(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		for i := range 4 {
			register(t, r, inst("api", fmt.Sprint(i)), 5*time.Second)
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		require.Equal(t, 4, r.Stats().Suspect)
		l, err := r.Register(context.Background(), Registration{Instance: inst("api", "0"), TTL: 5 * time.Second})
		require.NoError(t, err, "a suspect's ID can be registered again without its old token")
		assert.NotEmpty(t, l.Token)
		assert.Equal(t, 3, r.Stats().Suspect)
	})
}

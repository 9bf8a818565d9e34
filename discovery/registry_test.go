package discovery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func inst(service, id string) Instance {
	return Instance{Service: service, ID: id, Address: id + ".local:80"}
}

func register(t *testing.T, r *Registry, i Instance, ttl time.Duration) Lease {
	t.Helper()
	l, err := r.Register(context.Background(), Registration{Instance: i, TTL: ttl})
	require.NoError(t, err, "registering %s/%s should succeed", i.Service, i.ID)
	return l
}

func ids(list []Instance) []string {
	out := make([]string, len(list))
	for i := range list {
		out[i] = list[i].ID
	}
	return out
}

func TestRegisterLookupDeregister(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	ctx := context.Background()

	snap := r.Lookup("api")
	assert.Equal(t, uint64(1), snap.Revision, "an unknown service is at revision 1")
	assert.Empty(t, snap.Instances, "an unknown service lists nothing")

	lb := register(t, r, inst("api", "b"), 0)
	la := register(t, r, Instance{Service: "api", ID: "a", Address: "10.0.0.1:80", Zone: "z1", Weight: 3,
		Metadata: map[string]string{"v": "1"}}, 0)
	assert.Equal(t, DefaultTTL, la.TTL, "TTL 0 means Config.DefaultTTL")
	assert.NotEmpty(t, la.Token, "a lease carries a token")
	assert.NotEqual(t, la.Token, lb.Token, "every lease has its own token")

	snap = r.Lookup("api")
	assert.Equal(t, []string{"a", "b"}, ids(snap.Instances), "instances are sorted by ID")
	assert.Equal(t, uint64(3), snap.Revision, "two registrations, two revisions")
	assert.Equal(t, 3, snap.Instances[0].Weight, "weight is kept")
	assert.Equal(t, 1, snap.Instances[1].Weight, "weight 0 becomes 1")
	assert.Equal(t, "z1", snap.Instances[0].Zone)
	assert.Equal(t, uint64(3), snap.Instances[0].ModRevision, "ModRevision is the revision of the last change")
	assert.Equal(t, uint64(2), snap.Instances[1].ModRevision, "b did not change when a was added")

	require.NoError(t, r.Deregister(ctx, lb), "deregistering with the lease succeeds")
	assert.Equal(t, []string{"a"}, ids(r.Lookup("api").Instances), "b is gone")
	assert.ErrorIs(t, r.Deregister(ctx, lb), ErrLeaseNotFound, "a second deregistration finds nothing")
	assert.ErrorIs(t, r.Heartbeat(ctx, lb, StatusPassing), ErrLeaseNotFound, "heartbeats of a removed lease say so")

	st := r.Stats()
	assert.Equal(t, 1, st.Services)
	assert.Equal(t, 1, st.Instances)
	assert.Equal(t, uint64(2), st.Registrations)
	assert.Equal(t, uint64(1), st.Deregistrations)
}

func TestRegistrationCopiesMetadata(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	md := map[string]string{"v": "1"}
	register(t, r, Instance{Service: "api", ID: "a", Address: "x:1", Metadata: md}, 0)
	md["v"] = "2"
	assert.Equal(t, "1", r.Lookup("api").Instances[0].Metadata["v"], "the registry keeps its own copy of metadata")
}

func TestTokensGuardTheLease(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	ctx := context.Background()
	l := register(t, r, inst("api", "a"), 0)
	forged := l
	forged.Token = "guess"

	assert.ErrorIs(t, r.Heartbeat(ctx, forged, StatusPassing), ErrTokenMismatch, "a heartbeat needs the token")
	assert.ErrorIs(t, r.Drain(ctx, forged, true), ErrTokenMismatch, "a drain needs the token")
	assert.ErrorIs(t, r.Deregister(ctx, forged), ErrTokenMismatch, "a deregistration needs the token")
	_, err := r.Register(ctx, Registration{Instance: inst("api", "a")})
	assert.ErrorIs(t, err, ErrConflict, "a live registration is not replaced without its token")
	assert.Len(t, r.Lookup("api").Instances, 1, "the instance is still listed")

	again, err := r.Register(ctx, Registration{Instance: Instance{Service: "api", ID: "a", Address: "moved:80"}, Token: l.Token})
	require.NoError(t, err, "re-registering with the token updates the instance")
	assert.Equal(t, l.Token, again.Token, "re-registration keeps the token")
	assert.Equal(t, "moved:80", r.Lookup("api").Instances[0].Address, "the update is visible")
	assert.Equal(t, uint64(1), r.Stats().Reregistrations)

	require.NoError(t, r.Remove(ctx, "api", "a"), "an operator removes without a token")
	assert.Empty(t, r.Lookup("api").Instances)
	assert.ErrorIs(t, r.Remove(ctx, "api", "a"), ErrLeaseNotFound)
}

func TestDrainKeepsListedButNotRoutable(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	ctx := context.Background()
	la := register(t, r, inst("api", "a"), 0)
	register(t, r, inst("api", "b"), 0)

	require.NoError(t, r.Drain(ctx, la, true))
	snap := r.Lookup("api")
	assert.Equal(t, []string{"a", "b"}, ids(snap.Instances), "a draining instance stays listed")
	assert.True(t, snap.Instances[0].Draining)
	assert.Equal(t, []string{"b"}, ids(snap.Routable), "a draining instance is not routable")
	got, err := r.Resolve(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, ids(got), "Resolve returns routable instances only")

	rev := snap.Revision
	require.NoError(t, r.Drain(ctx, la, true))
	assert.Equal(t, rev, r.Lookup("api").Revision, "draining twice changes nothing")
	require.NoError(t, r.Drain(ctx, la, false))
	assert.Equal(t, []string{"a", "b"}, ids(r.Lookup("api").Routable), "undraining makes it routable again")
	assert.Equal(t, 0, r.Stats().Draining)
}

func TestHeartbeatStatus(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	ctx := context.Background()
	l := register(t, r, inst("api", "a"), 0)
	rev := r.Lookup("api").Revision

	require.NoError(t, r.Heartbeat(ctx, l, StatusPassing))
	assert.Equal(t, rev, r.Lookup("api").Revision, "a heartbeat that changes nothing visible publishes nothing")

	for _, tc := range []struct {
		status   Status
		routable bool
	}{{StatusWarning, true}, {StatusCritical, false}, {StatusPassing, true}} {
		t.Run(tc.status.String(), func(t *testing.T) {
			require.NoError(t, r.Heartbeat(ctx, l, tc.status))
			snap := r.Lookup("api")
			assert.Equal(t, tc.status, snap.Instances[0].Status, "the reported status is listed")
			assert.Equal(t, tc.routable, len(snap.Routable) == 1, "routability follows the status")
		})
	}
	assert.ErrorIs(t, r.Heartbeat(ctx, l, Status(9)), ErrInvalid, "an unknown status is rejected")
}

func TestServicesAreIndependent(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	register(t, r, inst("api", "a"), 0)
	before := r.Lookup("api").Revision
	for i := range 5 {
		register(t, r, inst("db", fmt.Sprint(i)), 0)
	}
	assert.Equal(t, before, r.Lookup("api").Revision, "writes to db do not move api's revision")
	assert.ElementsMatch(t, []string{"api", "db"}, r.Services())
}

func TestRegistrationValidation(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	long := strings.Repeat("x", MaxNameBytes+1)
	bigMD := map[string]string{}
	for i := range MaxMetadataEntries + 1 {
		bigMD[fmt.Sprint(i)] = "v"
	}
	cases := []struct {
		name string
		reg  Registration
		want error
	}{
		{"empty service", Registration{Instance: Instance{ID: "a", Address: "x:1"}}, ErrInvalid},
		{"service with slash", Registration{Instance: Instance{Service: "a/b", ID: "a", Address: "x:1"}}, ErrInvalid},
		{"long service", Registration{Instance: Instance{Service: long, ID: "a", Address: "x:1"}}, ErrInvalid},
		{"empty id", Registration{Instance: Instance{Service: "s", Address: "x:1"}}, ErrInvalid},
		{"control char id", Registration{Instance: Instance{Service: "s", ID: "a\n", Address: "x:1"}}, ErrInvalid},
		{"bad utf8 zone", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1", Zone: "\xff"}}, ErrInvalid},
		{"empty address", Registration{Instance: Instance{Service: "s", ID: "a"}}, ErrInvalid},
		{"negative weight", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1", Weight: -1}}, ErrInvalid},
		{"huge weight", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1", Weight: MaxWeight + 1}}, ErrInvalid},
		{"bad status", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1", Status: 7}}, ErrInvalid},
		{"too many metadata", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1", Metadata: bigMD}}, ErrLimit},
		{"metadata too big", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1",
			Metadata: map[string]string{"k": strings.Repeat("v", MaxMetadataBytes)}}}, ErrLimit},
		{"empty metadata key", Registration{Instance: Instance{Service: "s", ID: "a", Address: "x:1",
			Metadata: map[string]string{"": "v"}}}, ErrInvalid},
		{"ttl too short", Registration{Instance: inst("s", "a"), TTL: time.Millisecond}, ErrInvalid},
		{"ttl too long", Registration{Instance: inst("s", "a"), TTL: 2 * time.Hour}, ErrInvalid},
		{"check without target", Registration{Instance: inst("s", "a"), Check: &Check{}}, ErrInvalid},
		{"check with both targets", Registration{Instance: inst("s", "a"), Check: &Check{HTTP: "http://x/", TCP: "x:1"}}, ErrInvalid},
		{"check relative url", Registration{Instance: inst("s", "a"), Check: &Check{HTTP: "/health"}}, ErrInvalid},
		{"check ftp url", Registration{Instance: inst("s", "a"), Check: &Check{HTTP: "ftp://x/"}}, ErrInvalid},
		{"check tcp no port", Registration{Instance: inst("s", "a"), Check: &Check{TCP: "x"}}, ErrInvalid},
		{"check fast interval", Registration{Instance: inst("s", "a"), Check: &Check{TCP: "x:1", Interval: time.Millisecond}}, ErrInvalid},
		{"check timeout above interval", Registration{Instance: inst("s", "a"), Check: &Check{TCP: "x:1", Interval: time.Second, Timeout: 2 * time.Second}}, ErrInvalid},
		{"check failures", Registration{Instance: inst("s", "a"), Check: &Check{TCP: "x:1", FailuresBeforeCritical: -1}}, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Register(context.Background(), tc.reg)
			assert.ErrorIs(t, err, tc.want, "the registration must be rejected")
		})
	}
	assert.Empty(t, r.Services(), "rejected registrations create no service")
}

func TestLimits(t *testing.T) {
	r := New(Config{MaxServices: 2, MaxInstances: 2})
	defer r.Close()
	ctx := context.Background()
	register(t, r, inst("a", "1"), 0)
	register(t, r, inst("a", "2"), 0)
	_, err := r.Register(ctx, Registration{Instance: inst("a", "3")})
	assert.ErrorIs(t, err, ErrLimit, "a third instance exceeds MaxInstances")
	register(t, r, inst("b", "1"), 0)
	_, err = r.Register(ctx, Registration{Instance: inst("c", "1")})
	assert.ErrorIs(t, err, ErrLimit, "a third service exceeds MaxServices")
}

func TestCanceledContextAndClosedRegistry(t *testing.T) {
	r := New(Config{})
	ctx := context.Background()
	l := register(t, r, inst("api", "a"), 0)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := r.Register(canceled, Registration{Instance: inst("api", "b")})
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, r.Heartbeat(canceled, l, StatusPassing), context.Canceled)
	assert.ErrorIs(t, r.Drain(canceled, l, true), context.Canceled)
	assert.ErrorIs(t, r.Deregister(canceled, l), context.Canceled)
	assert.ErrorIs(t, r.Remove(canceled, "api", "a"), context.Canceled)
	_, err = r.Resolve(canceled, "api")
	assert.ErrorIs(t, err, context.Canceled)

	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	_, err = r.Register(ctx, Registration{Instance: inst("api", "b")})
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, r.Heartbeat(ctx, l, StatusPassing), ErrClosed)
	assert.Len(t, r.Lookup("api").Instances, 1, "lookups keep answering after Close")
	_, err = r.Query(ctx, "api", r.Lookup("api").Revision, time.Second)
	assert.ErrorIs(t, err, ErrClosed, "a blocking query on a closed registry ends")
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"negative ttl", Config{DefaultTTL: -1}},
		{"negative interval", Config{CheckInterval: -1}},
		{"threshold one", Config{GuardThreshold: 1}},
		{"negative threshold", Config{GuardThreshold: -0.1}},
		{"negative count", Config{MaxServices: -1}},
		{"min above max", Config{MinTTL: time.Minute, MaxTTL: time.Second}},
		{"default outside", Config{DefaultTTL: 2 * time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.cfg.Validate(), ErrInvalid)
			assert.PanicsWithValue(t, tc.cfg.Validate().Error(), func() { New(tc.cfg) }, "New panics on an invalid config")
		})
	}
	assert.NoError(t, Config{}.Validate(), "the zero config is valid")
	assert.True(t, strings.HasPrefix(Config{DefaultTTL: -1}.Validate().Error(), "discovery: "), "errors start with the package name")
}

func TestStatusText(t *testing.T) {
	for _, s := range []Status{StatusPassing, StatusWarning, StatusCritical} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back Status
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back, "status %s round-trips", s)
	}
	var s Status
	assert.ErrorIs(t, s.UnmarshalText([]byte("up")), ErrInvalid)
	_, err := Status(5).MarshalText()
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, "Status(5)", Status(5).String())
	assert.Equal(t, "removed", Removed.String())
	assert.Equal(t, "ChangeKind(0)", ChangeKind(0).String())
}

// synctestRegistry runs f in a bubble with a registry created inside it.
func synctestRegistry(t *testing.T, cfg Config, f func(t *testing.T, r *Registry)) {
	synctest.Test(t, func(t *testing.T) {
		r := New(cfg)
		defer r.Close()
		f(t, r)
	})
}

func TestEmptyServicesAreForgottenUnderMaxServices(t *testing.T) {
	synctestRegistry(t, Config{MaxServices: 2}, func(t *testing.T, r *Registry) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		la := register(t, r, inst("a", "1"), time.Hour)
		require.NoError(t, r.Deregister(ctx, la))
		revA := r.Lookup("a").Revision

		var events []Event
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev, err := range r.Watch(ctx, "a", revA) {
				if err != nil {
					return
				}
				events = append(events, ev)
			}
		}()
		synctest.Wait()

		register(t, r, inst("b", "1"), time.Hour)
		lc := register(t, r, inst("c", "1"), time.Hour)
		assert.ElementsMatch(t, []string{"b", "c"}, r.Services(), "the empty service a made room for c")
		assert.Greater(t, r.Lookup("a").Revision, revA, "a forgotten name's revision never goes back")
		synctest.Wait()
		assert.Empty(t, events, "a watcher of the forgotten service sees no change: it was empty and stays empty")

		require.NoError(t, r.Deregister(ctx, lc))
		register(t, r, inst("a", "2"), time.Hour) // forgets the now empty c
		synctest.Wait()
		_, err := r.Register(ctx, Registration{Instance: inst("d", "1")})
		assert.ErrorIs(t, err, ErrLimit, "with every service holding instances nothing can be forgotten")
		cancel()
		<-done
		require.Len(t, events, 1, "the watcher sees a registered again")
		assert.Greater(t, events[0].Revision, revA)
		assert.Equal(t, Added, events[0].Changes[0].Kind)
	})
}

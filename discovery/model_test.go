package discovery

import (
	"context"
	"errors"
	"iter"
	"maps"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// modelInstance is the model's view of one registered instance.
type modelInstance struct {
	token    string
	address  string
	status   Status
	draining bool
}

// registryMachine checks a Registry against a map, and a watch stream
// pulled at random moments (so it is sometimes slow and coalesced) against
// the registry.
type registryMachine struct {
	r     *Registry
	model map[string]*modelInstance
	rev   uint64                   // the registry's revision of "api" after the last step
	seen  map[string]modelInstance // the visible state after the last step

	next   func() (Event, error, bool)
	stop   func()
	watch  watchState
	cancel context.CancelFunc
}

var modelIDs = []string{"a", "b", "c", "d", "e"}

func newRegistryMachine() *registryMachine {
	m := &registryMachine{r: New(Config{}), model: make(map[string]*modelInstance)}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.next, m.stop = iter.Pull2(m.r.Watch(ctx, "api", 0))
	m.rev = m.r.Lookup("api").Revision
	m.seen = map[string]modelInstance{}
	return m
}

func (m *registryMachine) close() {
	m.stop()
	m.cancel()
	_ = m.r.Close()
}

func (m *registryMachine) lease(t *rapid.T, id string) Lease {
	l := Lease{Service: "api", ID: id, Token: "forged"}
	if mi := m.model[id]; mi != nil && rapid.IntRange(0, 9).Draw(t, "forge") > 0 {
		l.Token = mi.token
	}
	return l
}

// expect checks the error of an operation on a lease against the model and
// reports whether it should have succeeded.
func (m *registryMachine) expect(t *rapid.T, l Lease, err error) bool {
	mi := m.model[l.ID]
	switch {
	case mi == nil:
		if !errors.Is(err, ErrLeaseNotFound) {
			t.Fatalf("%s is not registered: want ErrLeaseNotFound, got %v", l.ID, err)
		}
		return false
	case l.Token != mi.token:
		if !errors.Is(err, ErrTokenMismatch) {
			t.Fatalf("forged token for %s: want ErrTokenMismatch, got %v", l.ID, err)
		}
		return false
	case err != nil:
		t.Fatalf("%s: unexpected error %v", l.ID, err)
	}
	return true
}

func (m *registryMachine) Register(t *rapid.T) {
	id := rapid.SampledFrom(modelIDs).Draw(t, "id")
	addr := rapid.SampledFrom([]string{"x:1", "y:2"}).Draw(t, "address")
	status := Status(rapid.IntRange(0, 2).Draw(t, "status"))
	draining := rapid.Bool().Draw(t, "draining")
	reg := Registration{Instance: Instance{Service: "api", ID: id, Address: addr, Status: status, Draining: draining}, TTL: time.Hour}
	mi := m.model[id]
	withToken := mi != nil && rapid.Bool().Draw(t, "with token")
	if withToken {
		reg.Token = mi.token
	}
	l, err := m.r.Register(context.Background(), reg)
	switch {
	case mi != nil && !withToken:
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("registering live %s without its token: want ErrConflict, got %v", id, err)
		}
	case err != nil:
		t.Fatalf("register %s: %v", id, err)
	case mi != nil && l.Token != mi.token:
		t.Fatalf("re-registration changed the token")
	default:
		m.model[id] = &modelInstance{token: l.Token, address: addr, status: status, draining: draining}
	}
}

func (m *registryMachine) Heartbeat(t *rapid.T) {
	l := m.lease(t, rapid.SampledFrom(modelIDs).Draw(t, "id"))
	status := Status(rapid.IntRange(0, 2).Draw(t, "status"))
	if m.expect(t, l, m.r.Heartbeat(context.Background(), l, status)) {
		m.model[l.ID].status = status
	}
}

func (m *registryMachine) Drain(t *rapid.T) {
	l := m.lease(t, rapid.SampledFrom(modelIDs).Draw(t, "id"))
	draining := rapid.Bool().Draw(t, "draining")
	if m.expect(t, l, m.r.Drain(context.Background(), l, draining)) {
		m.model[l.ID].draining = draining
	}
}

func (m *registryMachine) Deregister(t *rapid.T) {
	l := m.lease(t, rapid.SampledFrom(modelIDs).Draw(t, "id"))
	if m.expect(t, l, m.r.Deregister(context.Background(), l)) {
		delete(m.model, l.ID)
	}
}

func (m *registryMachine) Remove(t *rapid.T) {
	id := rapid.SampledFrom(modelIDs).Draw(t, "id")
	err := m.r.Remove(context.Background(), "api", id)
	if _, ok := m.model[id]; ok != (err == nil) {
		t.Fatalf("remove %s: registered %v, error %v", id, ok, err)
	}
	delete(m.model, id)
}

// Pull lets the watcher catch up, however far behind it is: with the
// registry quiet, one event must bring it to the current state, and if its
// state is already current there must be nothing to pull.
func (m *registryMachine) Pull(t *rapid.T) {
	snap := m.r.Lookup("api")
	if m.watch.byID == nil || !m.watchMatches(snap) {
		ev, err, ok := m.next()
		if !ok || err != nil {
			t.Fatalf("watch ended: %v", err)
		}
		if err := m.watch.apply(ev); err != nil {
			t.Fatal(err)
		}
		if ev.Revision != snap.Revision {
			t.Fatalf("the coalesced event is at %d, the registry at %d", ev.Revision, snap.Revision)
		}
	}
	if !m.watchMatches(snap) {
		t.Fatalf("after one pull the watcher's state differs from the registry's")
	}
}

func (m *registryMachine) watchMatches(snap Snapshot) bool {
	if len(m.watch.byID) != len(snap.Instances) {
		return false
	}
	for _, inst := range snap.Instances {
		if w, ok := m.watch.byID[inst.ID]; !ok || w.ModRevision != inst.ModRevision {
			return false
		}
	}
	return true
}

// Check compares the registry with the model after every step.
func (m *registryMachine) Check(t *rapid.T) {
	snap := m.r.Lookup("api")
	got := ids(snap.Instances)
	if wantIDs := slices.Sorted(maps.Keys(m.model)); !slices.Equal(got, wantIDs) {
		t.Fatalf("listed %v, model %v", got, wantIDs)
	}
	var routable []string
	for _, inst := range snap.Instances {
		mi := m.model[inst.ID]
		if inst.Status != mi.status || inst.Draining != mi.draining || inst.Address != mi.address {
			t.Fatalf("%s listed as %+v, model %+v", inst.ID, inst, *mi)
		}
		if inst.ModRevision > snap.Revision || inst.ModRevision == 0 {
			t.Fatalf("%s ModRevision %d outside (0, %d]", inst.ID, inst.ModRevision, snap.Revision)
		}
		if mi.status != StatusCritical && !mi.draining {
			routable = append(routable, inst.ID)
		}
	}
	if !slices.Equal(ids(snap.Routable), routable) {
		t.Fatalf("routable %v, model %v", ids(snap.Routable), routable)
	}
	// The revision moves by one exactly when something visible changed.
	visible := make(map[string]modelInstance, len(m.model))
	for id, mi := range m.model {
		visible[id] = modelInstance{address: mi.address, status: mi.status, draining: mi.draining}
	}
	want := m.rev
	if !maps.Equal(visible, m.seen) {
		want++
	}
	if snap.Revision != want {
		t.Fatalf("revision %d after %d, want %d (visible change: %v)", snap.Revision, m.rev, want, want != m.rev)
	}
	m.rev, m.seen = snap.Revision, visible
}

// TestRegistryModel runs the state machine 10 x 100 = 1,000 times (rapid's
// default of 100 checks per call).
func TestRegistryModel(t *testing.T) {
	for range 10 {
		rapid.Check(t, func(t *rapid.T) {
			m := newRegistryMachine()
			defer m.close()
			t.Repeat(rapid.StateMachineActions(m))
		})
	}
}

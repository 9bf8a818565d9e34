package discovery

import (
	"context"
	crand "crypto/rand"
	"crypto/subtle"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Registry is an in-process service registry. Instances register under a
// TTL lease and renew it with heartbeats; readers look services up, block
// on a revision or watch a stream of changes.
//
// Reads (Lookup, Resolve) are lock-free and allocation-free: they return
// the current immutable snapshot of the service. Writes take one mutex and
// publish a new snapshot only when something visible changed, so heartbeats
// that only renew a lease wake nobody. Every service has its own revision
// counter: a write to one service never wakes watchers of another.
//
// A Registry runs no goroutine of its own. It arms one timer for the next
// lease deadline (the timer's callback runs expiry) and, for instances with
// an active check, one timer per check whose callback runs the probe. Close
// stops them and waits for running probes. All methods are safe for
// concurrent use.
type Registry struct {
	cfg   Config
	epoch uint64

	// services maps a name to its service. The map is copied on write
	// (under mu) so that readers need no lock.
	services atomic.Pointer[map[string]*service]
	// unknown is the empty view of services without a record. Its
	// revision is above that of every forgotten service, so a name's
	// revision never goes back when its record is dropped.
	unknown  atomic.Pointer[view]
	watchers atomic.Int64
	// shut is set by Close before it closes every change channel, so that
	// woken watchers and queries know to end: they wait on one channel
	// besides their context, which keeps fan-out to many watchers cheap.
	shut atomic.Bool

	mu        sync.Mutex
	closed    bool
	created   chan struct{} // closed and replaced when a service is created
	deadlines deadlineHeap
	timer     *time.Timer // expiry timer, nil until first armed
	timerAt   time.Time   // when timer fires; zero when not armed
	lastSweep time.Time
	probes    sync.WaitGroup // running probes
	counters  counters
}

type counters struct {
	registrations, reregistrations, deregistrations uint64
	expirations, guardEngagements                   uint64
}

// Stats is a point-in-time snapshot of a Registry for metrics.
type Stats struct {
	// Services is the number of known services, including empty ones.
	Services int
	// Instances, Routable, Draining and Suspect count listed instances.
	Instances, Routable, Draining, Suspect int
	// Watchers counts running Watch streams and blocking Queries.
	Watchers int
	// Registrations counts accepted Register calls that created a lease;
	// Reregistrations counts those that renewed an existing lease.
	Registrations, Reregistrations uint64
	// Deregistrations counts Deregister and Remove calls that removed an
	// instance.
	Deregistrations uint64
	// Expirations counts instances removed because their lease lapsed.
	Expirations uint64
	// GuardEngagements counts how often the expiry guard engaged.
	GuardEngagements uint64
}

// New returns a Registry. It panics with a "discovery: ..." message if
// cfg.Validate fails. Call Close to stop its timers.
func New(cfg Config) *Registry {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	r := &Registry{
		cfg:     cfg.withDefaults(),
		epoch:   rand.Uint64() | 1,
		created: make(chan struct{}),
	}
	r.services.Store(&map[string]*service{})
	r.unknown.Store(&view{rev: 1})
	return r
}

// Epoch identifies this Registry instance. Revisions are comparable only
// within one epoch: a registry that restarts starts counting afresh under a
// new epoch. Handler and Client use it to detect restarts.
func (r *Registry) Epoch() uint64 { return r.epoch }

// Register lists reg.Instance under a new lease, or, if the instance is
// already registered and reg.Token is its lease token, updates it and
// renews its lease keeping that token. A suspect instance (its lease lapsed
// but the expiry guard kept it) may be taken over without the token.
//
// Errors: ErrInvalid (malformed registration), ErrLimit (too many services
// or instances), ErrConflict (the ID is held by a live lease whose token
// was not given), ErrClosed, or the context's error.
func (r *Registry) Register(ctx context.Context, reg Registration) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, err
	}
	reg, err := normalizeRegistration(reg, r.cfg)
	if err != nil {
		return Lease{}, err
	}
	var hooks hookQueue
	r.mu.Lock()
	lease, err := r.registerLocked(reg, time.Now(), &hooks)
	r.mu.Unlock()
	hooks.run(r.cfg)
	return lease, err
}

func (r *Registry) registerLocked(reg Registration, now time.Time, hooks *hookQueue) (Lease, error) {
	if r.closed {
		return Lease{}, ErrClosed
	}
	inst := reg.Instance
	svc := r.serviceLocked(inst.Service)
	if svc == nil {
		if len(*r.services.Load()) >= r.cfg.MaxServices && !r.forgetEmptyServiceLocked() {
			return Lease{}, fmt.Errorf("%w: MaxServices (%d) services have instances", ErrLimit, r.cfg.MaxServices)
		}
		svc = r.createServiceLocked(inst.Service)
	}
	e := svc.entries[inst.ID]
	switch {
	case e == nil:
		if len(svc.entries) >= r.cfg.MaxInstances {
			return Lease{}, fmt.Errorf("%w: MaxInstances (%d) reached for service %q", ErrLimit, r.cfg.MaxInstances, inst.Service)
		}
		e = &entry{svc: svc, token: crand.Text(), heapIdx: -1, checkStatus: StatusPassing}
		svc.entries[inst.ID] = e
		r.counters.registrations++
	case tokenMatches(e.token, reg.Token):
		r.counters.reregistrations++
	case e.suspect:
		e.token = crand.Text()
		r.counters.registrations++
	default:
		return Lease{}, fmt.Errorf("%w: %s/%s", ErrConflict, inst.Service, inst.ID)
	}
	e.base = inst
	e.reported = inst.Status
	e.ttl = reg.TTL
	r.setSuspectLocked(e, false, now)
	e.deadline = now.Add(e.ttl)
	r.deadlines.schedule(e)
	r.setCheckLocked(e, reg.Check)
	svc.touch(inst.ID)
	r.publishLocked(svc)
	r.relaxGuardLocked(svc, now)
	r.guardTransitionLocked(svc, hooks)
	r.armLocked(now)
	return Lease{Service: inst.Service, ID: inst.ID, Token: e.token, TTL: e.ttl}, nil
}

// Heartbeat renews the lease and records the status the instance reports
// for itself (the TTL check). A suspect instance becomes live again.
//
// Errors: ErrLeaseNotFound (not registered: register again),
// ErrTokenMismatch, ErrInvalid (unknown status), ErrClosed, or the
// context's error.
func (r *Registry) Heartbeat(ctx context.Context, lease Lease, status Status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if status > StatusCritical {
		return fmt.Errorf("%w: status %d", ErrInvalid, status)
	}
	var hooks hookQueue
	r.mu.Lock()
	err := r.heartbeatLocked(lease, status, time.Now(), &hooks)
	r.mu.Unlock()
	hooks.run(r.cfg)
	return err
}

func (r *Registry) heartbeatLocked(lease Lease, status Status, now time.Time, hooks *hookQueue) error {
	e, err := r.ownedLocked(lease)
	if err != nil {
		return err
	}
	wasSuspect := e.suspect
	r.setSuspectLocked(e, false, now)
	e.deadline = now.Add(e.ttl)
	if e.heapIdx < 0 || e.deadline.Before(e.heapAt) {
		// A suspect's removal time may lie beyond its renewed deadline.
		r.deadlines.schedule(e)
	}
	if wasSuspect || e.reported != status {
		e.reported = status
		e.svc.touch(e.base.ID)
		r.publishLocked(e.svc)
	}
	if wasSuspect {
		r.relaxGuardLocked(e.svc, now)
		r.guardTransitionLocked(e.svc, hooks)
		r.armLocked(now)
	}
	return nil
}

// Drain marks the instance as draining (still listed, not routable) or, with
// draining false, routable again. It does not renew the lease.
//
// Errors: ErrLeaseNotFound, ErrTokenMismatch, ErrClosed, or the context's
// error.
func (r *Registry) Drain(ctx context.Context, lease Lease, draining bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, err := r.ownedLocked(lease)
	if err != nil {
		return err
	}
	if e.base.Draining != draining {
		e.base.Draining = draining
		e.svc.touch(e.base.ID)
		r.publishLocked(e.svc)
	}
	return nil
}

// Deregister removes the instance at once.
//
// Errors: ErrLeaseNotFound, ErrTokenMismatch, ErrClosed, or the context's
// error.
func (r *Registry) Deregister(ctx context.Context, lease Lease) error {
	return r.remove(ctx, func() (*entry, error) { return r.ownedLocked(lease) })
}

// Remove deregisters an instance without its lease token: an operator's
// tool. Handler exposes it only to the admin token.
//
// Errors: ErrLeaseNotFound, ErrClosed, or the context's error.
func (r *Registry) Remove(ctx context.Context, service, id string) error {
	return r.remove(ctx, func() (*entry, error) { return r.entryLocked(service, id) })
}

// remove unlists the entry find returns (called under the lock).
func (r *Registry) remove(ctx context.Context, find func() (*entry, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var hooks hookQueue
	r.mu.Lock()
	e, err := find()
	if err == nil {
		r.removeLocked(e, time.Now(), &hooks)
		r.counters.deregistrations++
	}
	r.mu.Unlock()
	hooks.run(r.cfg)
	return err
}

// Services returns the names of all known services, including those whose
// instances have all left, in no particular order.
func (r *Registry) Services() []string {
	m := *r.services.Load()
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	return names
}

// Stats returns counters and current sizes.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{
		Watchers:         int(r.watchers.Load()),
		Registrations:    r.counters.registrations,
		Reregistrations:  r.counters.reregistrations,
		Deregistrations:  r.counters.deregistrations,
		Expirations:      r.counters.expirations,
		GuardEngagements: r.counters.guardEngagements,
	}
	for _, svc := range *r.services.Load() {
		s.Services++
		v := svc.view.Load()
		s.Instances += len(v.all)
		s.Routable += len(v.routable)
		for i := range v.all {
			if v.all[i].Draining {
				s.Draining++
			}
			if v.all[i].Suspect {
				s.Suspect++
			}
		}
	}
	return s
}

// Close stops the expiry timer and the active checks, waits for running
// probes, and ends every watch and blocking query with ErrClosed. Lookups
// keep answering with the last state. Close is idempotent and returns nil.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.shut.Store(true)
	if r.timer != nil {
		r.timer.Stop()
	}
	// Nothing publishes after this point, so the channels stay closed
	// exactly once.
	close(r.created)
	for _, svc := range *r.services.Load() {
		close(svc.view.Load().changed)
		for _, e := range svc.entries {
			r.stopCheckLocked(e)
		}
	}
	r.mu.Unlock()
	r.probes.Wait()
	return nil
}

// ownedLocked finds the instance a lease names and checks its token.
func (r *Registry) ownedLocked(lease Lease) (*entry, error) {
	e, err := r.entryLocked(lease.Service, lease.ID)
	if err != nil {
		return nil, err
	}
	if !tokenMatches(e.token, lease.Token) {
		return nil, ErrTokenMismatch
	}
	return e, nil
}

func (r *Registry) entryLocked(service, id string) (*entry, error) {
	if r.closed {
		return nil, ErrClosed
	}
	svc := r.serviceLocked(service)
	if svc == nil || svc.entries[id] == nil {
		return nil, fmt.Errorf("%w: %.256s/%.256s", ErrLeaseNotFound, service, id)
	}
	return svc.entries[id], nil
}

func (r *Registry) serviceLocked(name string) *service {
	return (*r.services.Load())[name]
}

func (r *Registry) createServiceLocked(name string) *service {
	svc := newService(name, r.unknown.Load().rev)
	m := maps.Clone(*r.services.Load())
	m[name] = svc
	r.services.Store(&m)
	close(r.created)
	r.created = make(chan struct{})
	return svc
}

// forgetEmptyServiceLocked drops the record of one service without
// instances to make room under MaxServices, and reports whether it found
// one. The unknown view's revision moves above the forgotten service's, and
// watchers parked on it are woken to find the name unknown: to them the
// service stays empty and its revision keeps growing.
func (r *Registry) forgetEmptyServiceLocked() bool {
	old := *r.services.Load()
	for name, svc := range old {
		if len(svc.entries) > 0 {
			continue
		}
		m := maps.Clone(old)
		delete(m, name)
		r.services.Store(&m)
		v := svc.view.Load()
		if unknown := r.unknown.Load(); v.rev >= unknown.rev {
			r.unknown.Store(&view{rev: v.rev + 1})
			// Queries on unknown names see their revision move.
			close(r.created)
			r.created = make(chan struct{})
		}
		close(v.changed)
		return true
	}
	return false
}

// removeLocked unlists an entry and publishes the change.
func (r *Registry) removeLocked(e *entry, now time.Time, hooks *hookQueue) {
	svc := e.svc
	r.setSuspectLocked(e, false, now)
	r.deadlines.remove(e)
	r.stopCheckLocked(e)
	delete(svc.entries, e.base.ID)
	svc.touch(e.base.ID)
	r.publishLocked(svc)
	r.relaxGuardLocked(svc, now)
	r.guardTransitionLocked(svc, hooks)
}

func tokenMatches(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// hookQueue collects hook calls made under the lock so they run after it is
// released.
type hookQueue struct {
	expired []Instance
	guard   []GuardEvent
}

func (q *hookQueue) run(cfg Config) {
	if cfg.OnExpire != nil {
		for _, inst := range q.expired {
			cfg.OnExpire(inst)
		}
	}
	if cfg.OnGuard != nil {
		for _, ev := range q.guard {
			cfg.OnGuard(ev)
		}
	}
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

package discovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultDeregisterTimeout bounds the deregistration Registrar.Run makes
// when it stops.
const DefaultDeregisterTimeout = 5 * time.Second

// RegistrarConfig configures a Registrar. Every zero field means the
// default named in its comment.
type RegistrarConfig struct {
	// Interval between heartbeats; 0 means a third of the lease's TTL, so
	// that two heartbeats can be lost before the lease lapses and the
	// registry's expiry guard never counts a healthy instance as at risk.
	Interval time.Duration
	// BackoffMin and BackoffMax bound the jittered backoff after a failed
	// beat; 0 means 100ms and the heartbeat interval.
	BackoffMin, BackoffMax time.Duration
	// DeregisterTimeout bounds the deregistration when Run stops; 0 means
	// 5s.
	DeregisterTimeout time.Duration
	// Status reports the instance's own health with every heartbeat (its
	// TTL check); nil means always passing. It must not block.
	Status func() Status
	// OnRegister is called after every successful registration, with
	// again true when it replaced a lease the registry had lost. It runs
	// on the goroutine calling Beat or Run and may call the Registrar.
	OnRegister func(lease Lease, again bool)
	// OnError is called with every failed beat of Run.
	OnError func(error)
}

// Registrar keeps one instance registered: it registers, heartbeats, and
// when the registry answers that the lease is gone (it expired during an
// outage, or the registry restarted) registers again at once instead of
// heartbeating a dead lease forever. It works through any Registrant: a
// Registry in process or a Client.
//
// Beat does one step synchronously; Run repeats it on the caller's
// goroutine until its context ends, then deregisters.
type Registrar struct {
	to  Registrant
	reg Registration
	cfg RegistrarConfig

	mu    sync.Mutex
	lease Lease
	held  bool
	stats RegistrarStats
}

// RegistrarStats counts a Registrar's work.
type RegistrarStats struct {
	// Registrations counts successful registrations, Reregistrations those
	// that replaced a lost lease.
	Registrations, Reregistrations uint64
	// Heartbeats counts successful heartbeats; Failures failed beats.
	Heartbeats, Failures uint64
}

// Validate reports a negative duration, wrapping ErrInvalid.
func (c RegistrarConfig) Validate() error {
	if c.Interval < 0 || c.BackoffMin < 0 || c.BackoffMax < 0 || c.DeregisterTimeout < 0 {
		return fmt.Errorf("%w: RegistrarConfig durations must not be negative", ErrInvalid)
	}
	return nil
}

// NewRegistrar returns a Registrar for reg. It panics with a
// "discovery: ..." message if to is nil or cfg.Validate fails.
func NewRegistrar(to Registrant, reg Registration, cfg RegistrarConfig) *Registrar {
	if to == nil {
		panic("discovery: NewRegistrar needs a Registrant")
	}
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	setDefault(&cfg.BackoffMin, DefaultBackoffMin)
	setDefault(&cfg.DeregisterTimeout, DefaultDeregisterTimeout)
	return &Registrar{to: to, reg: reg, cfg: cfg}
}

// Lease returns the current lease, and false while none is held.
func (r *Registrar) Lease() (Lease, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease, r.held
}

// Stats returns the Registrar's counters.
func (r *Registrar) Stats() RegistrarStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Beat registers if no lease is held, and heartbeats otherwise. When the
// heartbeat finds the lease gone (ErrLeaseNotFound) or taken
// (ErrTokenMismatch), Beat registers again in the same call, presenting the
// old token so that a registry still holding the instance renews it.
//
// Errors: those of the Registrant, or the context's error. Calls must not
// overlap.
func (r *Registrar) Beat(ctx context.Context) error {
	lease, held := r.Lease()
	if held {
		status := StatusPassing
		if r.cfg.Status != nil {
			status = r.cfg.Status()
		}
		err := r.to.Heartbeat(ctx, lease, status)
		if err == nil {
			r.count(func(s *RegistrarStats) { s.Heartbeats++ })
			return nil
		}
		if !errors.Is(err, ErrLeaseNotFound) && !errors.Is(err, ErrTokenMismatch) {
			r.count(func(s *RegistrarStats) { s.Failures++ })
			return err
		}
		r.mu.Lock()
		r.held = false
		r.mu.Unlock()
	}
	reg := r.reg
	if lease.Token != "" {
		reg.Token = lease.Token
	}
	fresh, err := r.to.Register(ctx, reg)
	if err != nil {
		r.count(func(s *RegistrarStats) { s.Failures++ })
		return err
	}
	again := lease.Token != ""
	r.mu.Lock()
	r.lease, r.held = fresh, true
	r.stats.Registrations++
	if again {
		r.stats.Reregistrations++
	}
	r.mu.Unlock()
	if r.cfg.OnRegister != nil {
		r.cfg.OnRegister(fresh, again)
	}
	return nil
}

func (r *Registrar) count(f func(*RegistrarStats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// Run beats every Interval (a third of the TTL by default, less up to 10%
// jitter) until ctx is done; after a failure it retries with jittered
// exponential backoff instead. When ctx ends it deregisters (with
// DeregisterTimeout) and returns the context's error, joined with the
// deregistration's error if that failed.
func (r *Registrar) Run(ctx context.Context) error {
	failures := 0
	for {
		err := r.Beat(ctx)
		if ctx.Err() != nil {
			break
		}
		interval := r.interval()
		wait := interval - jitter(interval/10)
		if err != nil {
			failures++
			if r.cfg.OnError != nil {
				r.cfg.OnError(err)
			}
			hi := r.cfg.BackoffMax
			if hi == 0 || hi > interval {
				hi = interval
			}
			wait = backoff(failures, min(r.cfg.BackoffMin, hi), hi)
		} else {
			failures = 0
		}
		if !sleep(ctx, wait) {
			break
		}
	}
	lease, held := r.Lease()
	if !held {
		return ctx.Err()
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.DeregisterTimeout)
	defer cancel()
	if err := r.to.Deregister(dctx, lease); err != nil && !errors.Is(err, ErrLeaseNotFound) {
		return errors.Join(ctx.Err(), fmt.Errorf("discovery: deregistering %s/%s: %w", lease.Service, lease.ID, err))
	}
	r.mu.Lock()
	r.held = false
	r.mu.Unlock()
	return ctx.Err()
}

// interval is the heartbeat interval for the current lease.
func (r *Registrar) interval() time.Duration {
	if r.cfg.Interval > 0 {
		return r.cfg.Interval
	}
	lease, held := r.Lease()
	if !held || lease.TTL <= 0 {
		return DefaultTTL / 3
	}
	return lease.TTL / 3
}

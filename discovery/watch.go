package discovery

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Lookup returns the current state of a service: every listed instance,
// sorted by ID, and the routable subset. It never blocks and does not
// allocate. The slices are shared and immutable: do not modify them. A
// service the registry holds no record of is returned empty (see
// Snapshot.Revision).
func (r *Registry) Lookup(service string) Snapshot {
	if svc := (*r.services.Load())[service]; svc != nil {
		return svc.view.Load().snapshot(service)
	}
	return r.unknown.Load().snapshot(service)
}

// Resolve returns the routable instances of a service (passing or warning,
// not draining), sorted by ID. It implements Resolver; the slice is shared
// and immutable. It fails only with the context's error.
func (r *Registry) Resolve(ctx context.Context, service string) ([]Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.Lookup(service).Routable, nil
}

// current returns the view of a service and the channel closed when it is
// superseded. For a service that does not exist yet, that is the channel
// closed when any service is created.
func (r *Registry) current(service string) (*view, <-chan struct{}) {
	if svc := (*r.services.Load())[service]; svc != nil {
		v := svc.view.Load()
		return v, v.changed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if svc := r.serviceLocked(service); svc != nil {
		v := svc.view.Load()
		return v, v.changed
	}
	return r.unknown.Load(), r.created
}

// Query is a blocking query in the style of Consul's: it returns as soon as
// the service's revision differs from index, or when wait (plus a random
// jitter of up to wait/16, so that many waiters do not return in lockstep)
// has passed, with the state at that moment. Index 0 returns at once. An
// index from the future (for instance from before a restart, see Epoch)
// also returns at once, so a client that resumes with a stale index is
// never stuck. wait <= 0 or above Config.MaxQueryWait means MaxQueryWait.
//
// Only writes to this service end the wait: the revision is per service,
// not a registry-wide index. Returning is still no proof of change: compare
// the revision.
//
// Errors: ErrClosed, or the context's error.
func (r *Registry) Query(ctx context.Context, service string, index uint64, wait time.Duration) (Snapshot, error) {
	r.watchers.Add(1)
	defer r.watchers.Add(-1)
	if wait <= 0 || wait > r.cfg.MaxQueryWait {
		wait = r.cfg.MaxQueryWait
	}
	timer := time.NewTimer(wait + jitter(wait/16))
	defer timer.Stop()
	for {
		v, changed := r.current(service)
		if index == 0 || v.rev != index {
			return v.snapshot(service), nil
		}
		select {
		case <-changed:
			if r.shut.Load() {
				return Snapshot{}, ErrClosed
			}
		case <-timer.C:
			return v.snapshot(service), nil
		case <-ctx.Done():
			return Snapshot{}, fmt.Errorf("discovery: query %q: %w", service, ctx.Err())
		}
	}
}

// Watch streams the state of a service. If fromRevision is the current
// revision the stream starts with the next change (applied to the state the
// caller holds at that revision); otherwise it starts with a Reset event
// carrying the full state. Pass 0 to always start with the full state.
//
// Each later event brings the watcher to the newest revision and lists at
// least one change; revisions whose changes cancelled out while the watcher
// was behind produce no event. A watcher that is slow to consume is never
// buffered: when it asks for the next event it gets one event coalescing
// everything it missed, up to the latest state. The registry never blocks
// on watchers, a watcher holds at most two states in memory, and the final
// state is always delivered.
//
// The stream runs in the caller's goroutine and starts none. It ends when
// the loop breaks, when ctx is done (yielding the context's error) or when
// the registry closes (yielding ErrClosed).
func (r *Registry) Watch(ctx context.Context, service string, fromRevision uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		r.watchers.Add(1)
		defer r.watchers.Add(-1)
		canceled, stop := privateDone(ctx)
		defer stop()
		last, changed := r.current(service)
		if last.rev != fromRevision {
			if !yield(resetEvent(service, last), nil) {
				return
			}
		}
		for {
			if !waitChange(changed, canceled) {
				yield(Event{}, fmt.Errorf("discovery: watch %q: %w", service, ctx.Err()))
				return
			}
			if r.shut.Load() {
				yield(Event{}, ErrClosed)
				return
			}
			var v *view
			v, changed = r.current(service)
			if v.rev == last.rev {
				continue // the service was created, nothing listed yet
			}
			changes := v.changes
			if v.prevRev != last.rev {
				changes = diffViews(last, v)
			}
			if len(changes) == 0 {
				// The skipped revisions cancelled out (an instance came
				// and went): there is nothing to tell.
				last = v
				continue
			}
			ev := Event{Service: service, Revision: v.rev, Instances: v.all, Routable: v.routable, Changes: changes}
			if !yield(ev, nil) {
				return
			}
			last = v
		}
	}
}

// privateDone returns a channel closed when ctx is done, owned by one
// watcher. Many watchers often share one context; waiting on a private
// channel instead of ctx.Done() means a wake-up locks only the service's
// change channel, not a second channel every watcher contends for. For a
// context that is never done it returns nil.
func privateDone(ctx context.Context) (<-chan struct{}, func() bool) {
	if ctx.Done() == nil {
		return nil, func() bool { return false }
	}
	ch := make(chan struct{})
	return ch, context.AfterFunc(ctx, func() { close(ch) })
}

// waitChange waits until changed is closed (true) or canceled is (false).
func waitChange(changed, canceled <-chan struct{}) bool {
	if canceled == nil {
		<-changed
		return true
	}
	select {
	case <-changed:
		return true
	case <-canceled:
		return false
	}
}

func resetEvent(service string, v *view) Event {
	return Event{Service: service, Revision: v.rev, Reset: true, Instances: v.all, Routable: v.routable}
}

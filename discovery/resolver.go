package discovery

import (
	"context"
	"iter"
	"slices"
	"strings"
)

// Resolver finds the instances that may receive traffic for a service. It
// is what a load balancer needs from discovery; Registry, Client, Static
// and DNS implement it.
//
// Resolve returns the routable instances (passing or warning, not
// draining). The slice may be shared: callers must not modify it. When a
// fresh answer cannot be had, an implementation may return its last good
// answer together with a *StaleError saying how old it is; a caller that
// prefers stale data to none uses the slice whenever it is non-nil.
type Resolver interface {
	Resolve(ctx context.Context, service string) ([]Instance, error)
}

// Watcher streams the state of a service; see Registry.Watch for the
// contract of the stream. Registry, Client, Static and DNS implement it.
type Watcher interface {
	Watch(ctx context.Context, service string, fromRevision uint64) iter.Seq2[Event, error]
}

// Registrant holds a lease: Registry and Client implement it, and
// Registrar keeps a registration alive through either.
type Registrant interface {
	Register(ctx context.Context, reg Registration) (Lease, error)
	Heartbeat(ctx context.Context, lease Lease, status Status) error
	Deregister(ctx context.Context, lease Lease) error
}

var (
	_ Resolver   = (*Registry)(nil)
	_ Watcher    = (*Registry)(nil)
	_ Registrant = (*Registry)(nil)
	_ Resolver   = (*Static)(nil)
	_ Watcher    = (*Static)(nil)
)

// Static is a fixed list of instances: for tests, for configuration files,
// and for services whose addresses never change. Its zero value resolves
// nothing.
type Static struct {
	byService map[string]*view
}

// NewStatic returns a Static holding a copy of instances, grouped by
// Service and sorted by ID. Weight 0 becomes 1. Instances are taken as
// given (no validation); a later duplicate ID replaces an earlier one.
func NewStatic(instances ...Instance) *Static {
	groups := make(map[string][]Instance)
	for _, inst := range instances {
		if inst.Weight == 0 {
			inst.Weight = 1
		}
		inst.ModRevision = 1
		groups[inst.Service] = append(groups[inst.Service], inst)
	}
	s := &Static{byService: make(map[string]*view, len(groups))}
	for name, list := range groups {
		// A stable sort keeps duplicates in order, so the last one wins.
		slices.SortStableFunc(list, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
		list = compactLastByID(list)
		s.byService[name] = &view{rev: 1, all: list, routable: routableOf(list)}
	}
	return s
}

// compactLastByID keeps the last of each run of equal IDs in a sorted list.
func compactLastByID(list []Instance) []Instance {
	out := list[:0]
	for i := range list {
		if i+1 < len(list) && list[i+1].ID == list[i].ID {
			continue
		}
		out = append(out, list[i])
	}
	return out
}

// Lookup returns the fixed state of a service at revision 1.
func (s *Static) Lookup(service string) Snapshot {
	if v := s.byService[service]; v != nil {
		return v.snapshot(service)
	}
	return unknownView.snapshot(service)
}

// Resolve returns the routable instances of service. It fails only with the
// context's error.
func (s *Static) Resolve(ctx context.Context, service string) ([]Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Lookup(service).Routable, nil
}

// Watch yields the fixed state once (unless fromRevision is 1, its only
// revision) and then waits for ctx, yielding its error.
func (s *Static) Watch(ctx context.Context, service string, fromRevision uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		v := unknownView
		if s.byService[service] != nil {
			v = s.byService[service]
		}
		if fromRevision != v.rev && !yield(resetEvent(service, v), nil) {
			return
		}
		<-ctx.Done()
		yield(Event{}, ctx.Err())
	}
}

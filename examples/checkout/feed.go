package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/distkit/distkit/discovery"
	"github.com/distkit/distkit/lb"
	"github.com/distkit/distkit/shard"
)

// follow hands apply the routable instances of service each time src
// reports a change, until ctx ends, and publishes their IDs to seen. Any
// discovery.Watcher will do: a Registry in process, a Client of a remote
// one (as here), a discovery.Static list or DNS SRV records.
func follow(ctx context.Context, src discovery.Watcher, service string, apply func([]discovery.Instance) error, seen *watchSet) error {
	for ev, err := range src.Watch(ctx, service, 0) {
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			continue // a failed poll: the watch backs off and polls again
		}
		// Reset and change events both carry the whole routable set, so
		// a consumer that replaces its set needs no diffing of its own.
		if err := apply(ev.Routable); err != nil {
			return fmt.Errorf("applying %s revision %d: %w", service, ev.Revision, err)
		}
		ids := make([]string, len(ev.Routable))
		for i, in := range ev.Routable {
			ids[i] = in.ID
		}
		seen.publish(ids)
	}
	return nil
}

// endpointSink is what follow feeds for client-side balancing; an
// *lb.Balancer is one.
type endpointSink interface {
	Update([]lb.Endpoint) error
}

// toBalancer converts instances to endpoints, keeping the instance ID for
// the story. Update keeps the state of endpoints whose address stays, so a
// change elsewhere does not reset their latency or ejection.
func toBalancer(b endpointSink) func([]discovery.Instance) error {
	return func(instances []discovery.Instance) error {
		eps := make([]lb.Endpoint, len(instances))
		for i, in := range instances {
			eps[i] = lb.Endpoint{Addr: in.Address, Weight: in.Weight, Zone: in.Zone, Meta: map[string]string{"id": in.ID}}
		}
		return b.Update(eps)
	}
}

// shardMap places keys on the instances of a sharded service: a
// consistent-hash ring of instance IDs, whose membership follows the
// watch, and the address of each.
type shardMap struct {
	ring *shard.Ring

	mu    sync.RWMutex // makes a ring change and its addresses one step
	addrs map[string]string
}

func newShardMap() *shardMap {
	return &shardMap{ring: shard.NewRing(shard.RingConfig{}), addrs: map[string]string{}}
}

// apply makes the ring's members the given instances. Only the keys of
// instances that come or go change owner.
func (m *shardMap) apply(instances []discovery.Instance) error {
	addrs := make(map[string]string, len(instances))
	for _, in := range instances {
		addrs[in.ID] = in.Address
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone, added []string
	for _, id := range m.ring.Nodes() {
		if _, ok := addrs[id]; !ok {
			gone = append(gone, id)
		}
	}
	for id := range addrs {
		if _, ok := m.addrs[id]; !ok {
			added = append(added, id)
		}
	}
	if len(gone) > 0 {
		if err := m.ring.Remove(gone...); err != nil {
			return err
		}
	}
	if len(added) > 0 {
		slices.Sort(added)
		if err := m.ring.Add(added...); err != nil {
			return err
		}
	}
	m.addrs = addrs
	return nil
}

// locate returns the instance that owns key and its address.
func (m *shardMap) locate(key string) (id, addr string, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id = m.ring.Locate(key)
	if id == "" {
		return "", "", fmt.Errorf("no shard for %q: the ring is empty", key)
	}
	return id, m.addrs[id], nil
}

// watchSet is the latest set of instance IDs a watch delivered, which the
// story waits on before it goes on.
type watchSet struct {
	mu      sync.Mutex
	ids     []string
	changed chan struct{} // closed and replaced on every publish
}

func newWatchSet() *watchSet { return &watchSet{changed: make(chan struct{})} }

func (s *watchSet) publish(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = ids
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor returns the set once it equals want, or ctx's error.
func (s *watchSet) waitFor(ctx context.Context, want ...string) ([]string, error) {
	for {
		s.mu.Lock()
		ids, changed := s.ids, s.changed
		s.mu.Unlock()
		if slices.Equal(ids, want) {
			return ids, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ids, fmt.Errorf("waiting for %v (have %v): %w", want, ids, ctx.Err())
		}
	}
}

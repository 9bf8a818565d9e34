package discovery

import (
	"sync"
	"time"
)

// snapshotCache keeps the last good snapshot of up to max services, for
// Client and DNS. When full, the entry fetched longest ago is dropped.
type snapshotCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cached
}

type cached struct {
	snap    Snapshot
	fetched time.Time
}

func newSnapshotCache(max int) *snapshotCache {
	return &snapshotCache{max: max, entries: make(map[string]cached)}
}

func (c *snapshotCache) get(service string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[service]
	return e, ok
}

func (c *snapshotCache) put(snap Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[snap.Service]; !ok && len(c.entries) >= c.max {
		var oldest string
		var at time.Time
		for name, e := range c.entries {
			if oldest == "" || e.fetched.Before(at) {
				oldest, at = name, e.fetched
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[snap.Service] = cached{snap: snap, fetched: time.Now()}
}

// age returns how old the entry for service is, and false if there is none.
func (c *snapshotCache) age(service string) (time.Duration, bool) {
	e, ok := c.get(service)
	if !ok {
		return 0, false
	}
	return time.Since(e.fetched), true
}

// serveStale returns the cached snapshot and a *StaleError if an entry no
// older than maxStale exists, and false otherwise.
func (c *snapshotCache) serveStale(service string, maxStale time.Duration, cause error) (Snapshot, *StaleError, bool) {
	e, ok := c.get(service)
	if !ok {
		return Snapshot{}, nil, false
	}
	age := time.Since(e.fetched)
	if age > maxStale {
		return Snapshot{}, nil, false
	}
	return e.snap, &StaleError{Service: service, Age: age, Err: cause}, true
}

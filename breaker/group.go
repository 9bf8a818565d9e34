package breaker

import (
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
)

// DefaultMaxBreakers is the number of breakers a Group holds by default.
const DefaultMaxBreakers = 1024

// GroupConfig configures a Group.
type GroupConfig struct {
	// Breaker is the configuration of every breaker of the group; its Name
	// is replaced by the breaker's key, which OnStateChange therefore
	// receives.
	Breaker Config
	// MaxBreakers bounds the number of breakers. When the group is full,
	// Get of a new name returns ErrGroupFull instead of growing: keys come
	// from traffic (hosts, tenants) and must not grow memory without bound.
	// Default DefaultMaxBreakers.
	MaxBreakers int
}

// Validate reports the first problem with c, or nil.
func (c GroupConfig) Validate() error {
	if c.MaxBreakers < 0 {
		return fmt.Errorf("breaker: negative MaxBreakers %d", c.MaxBreakers)
	}
	return c.Breaker.Validate()
}

// Group holds breakers keyed by name (per host, per dependency), created on
// first use from one Config. It is safe for concurrent use; create it with
// NewGroup.
type Group struct {
	cfg      Config
	max      int
	breakers sync.Map // name -> *Breaker; lock-free lookups of existing names
	mu       sync.Mutex
	n        int // breakers stored, under mu
	refused  atomic.Uint64
}

// GroupStats is a snapshot of a Group for metrics.
type GroupStats struct {
	// Breakers is the number of breakers in the group.
	Breakers int
	// Refused counts the Get calls answered with ErrGroupFull.
	Refused uint64
}

// Stats returns a snapshot of g. Use All and Breaker.Stats for the state
// of each breaker.
func (g *Group) Stats() GroupStats {
	return GroupStats{Breakers: g.Len(), Refused: g.refused.Load()}
}

// NewGroup returns an empty group. It panics if cfg.Validate reports an
// error.
func NewGroup(cfg GroupConfig) *Group {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.MaxBreakers == 0 {
		cfg.MaxBreakers = DefaultMaxBreakers
	}
	return &Group{cfg: cfg.Breaker, max: cfg.MaxBreakers}
}

// Get returns the breaker for name, creating it if needed. If the group
// already holds MaxBreakers breakers and none is named name, Get returns
// nil and an error matching ErrGroupFull; Remove makes room.
func (g *Group) Get(name string) (*Breaker, error) {
	if b, ok := g.breakers.Load(name); ok {
		return b.(*Breaker), nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.breakers.Load(name); ok {
		return b.(*Breaker), nil
	}
	if g.n >= g.max {
		g.refused.Add(1)
		return nil, fmt.Errorf("%w: %d breakers, cannot add %q", ErrGroupFull, g.max, name)
	}
	cfg := g.cfg
	cfg.Name = name
	b := New(cfg)
	g.breakers.Store(name, b)
	g.n++
	return b, nil
}

// Remove drops the breaker for name, if any, and reports whether it did.
// Holders of the removed breaker may keep using it; the next Get of name
// creates a fresh one.
func (g *Group) Remove(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.breakers.LoadAndDelete(name); ok {
		g.n--
		return true
	}
	return false
}

// Len returns the number of breakers in the group.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// All yields every breaker of the group with its name, in no particular
// order. Breakers added or removed during the iteration may or may not be
// seen.
func (g *Group) All() iter.Seq2[string, *Breaker] {
	return func(yield func(string, *Breaker) bool) {
		g.breakers.Range(func(k, v any) bool {
			return yield(k.(string), v.(*Breaker))
		})
	}
}

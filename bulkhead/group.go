package bulkhead

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// DefaultMaxPartitions bounds the partitions a Group creates on demand.
const DefaultMaxPartitions = 1024

// ErrTooManyPartitions is returned by Group.Get for a new name once the
// group holds GroupConfig.MaxPartitions partitions.
var ErrTooManyPartitions = errors.New("bulkhead: too many partitions")

// GroupConfig describes a Group. Every zero field means the default
// written in its comment.
type GroupConfig struct {
	// Default configures partitions created on demand by Get.
	Default Config
	// Partitions configures named partitions up front, each with its own
	// limits. They are created by NewGroup.
	Partitions map[string]Config
	// MaxPartitions bounds the number of partitions, so that names taken
	// from requests (tenant IDs) cannot grow the group without bound.
	// Zero means DefaultMaxPartitions (1024), or the number of
	// Partitions if larger.
	MaxPartitions int
}

// Validate reports the first problem with cfg, or nil.
func (cfg GroupConfig) Validate() error {
	if cfg.MaxPartitions < 0 {
		return fmt.Errorf("bulkhead: MaxPartitions %d is negative", cfg.MaxPartitions)
	}
	if cfg.MaxPartitions > 0 && len(cfg.Partitions) > cfg.MaxPartitions {
		return fmt.Errorf("bulkhead: %d Partitions exceed MaxPartitions %d", len(cfg.Partitions), cfg.MaxPartitions)
	}
	if err := cfg.Default.Validate(); err != nil {
		return fmt.Errorf("%w (in Default)", err)
	}
	for name, c := range cfg.Partitions {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%w (in partition %q)", err, name)
		}
	}
	return nil
}

// Group is a set of named bulkheads, one per tenant, dependency or
// endpoint, so that one partition filling up does not affect the others.
// It is safe for concurrent use; looking up an existing partition takes no
// lock.
type Group struct {
	def   Config
	limit int

	parts sync.Map // name -> *Bulkhead
	mu    sync.Mutex
	count atomic.Int64
}

// NewGroup returns the Group cfg describes. It panics with Validate's
// message if cfg is invalid.
func NewGroup(cfg GroupConfig) *Group {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	g := &Group{def: cfg.Default, limit: cfg.MaxPartitions}
	if g.limit == 0 {
		g.limit = max(DefaultMaxPartitions, len(cfg.Partitions))
	}
	for name, c := range cfg.Partitions {
		g.parts.Store(name, New(c))
	}
	g.count.Store(int64(len(cfg.Partitions)))
	return g
}

// Get returns the partition called name, creating it with the default
// Config if it does not exist. It returns ErrTooManyPartitions if it would
// have to create one beyond MaxPartitions.
func (g *Group) Get(name string) (*Bulkhead, error) {
	if b, ok := g.parts.Load(name); ok {
		return b.(*Bulkhead), nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.parts.Load(name); ok {
		return b.(*Bulkhead), nil
	}
	if g.count.Load() >= int64(g.limit) {
		return nil, ErrTooManyPartitions
	}
	b := New(g.def)
	g.parts.Store(name, b)
	g.count.Add(1)
	return b, nil
}

// Stats returns a snapshot of every partition, by name.
func (g *Group) Stats() map[string]Stats {
	out := make(map[string]Stats, g.count.Load())
	g.parts.Range(func(name, b any) bool {
		out[name.(string)] = b.(*Bulkhead).Stats()
		return true
	})
	return out
}

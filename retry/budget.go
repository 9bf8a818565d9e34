package retry

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Budget defaults, applied by NewBudget to zero BudgetConfig fields.
const (
	DefaultBudgetRatio        = 0.1
	DefaultBudgetMinPerSecond = 10
	DefaultBudgetMaxSaved     = 100
)

// budgetUnit is the fixed-point scale of the saved balance: one retry is
// budgetUnit units, so fractional ratios add up exactly without floats in
// the hot path.
const budgetUnit = 1_000_000

// maxBudgetMaxSaved bounds MaxSaved so that the balance never overflows.
const maxBudgetMaxSaved = 1_000_000_000

// BudgetConfig describes a retry budget. Every zero field means the
// default written in its comment.
type BudgetConfig struct {
	// Ratio is how many retries each call earns: 0.1 lets retries add at
	// most 10% to the load a dependency sees. Zero means
	// DefaultBudgetRatio (0.1). At most 100.
	Ratio float64
	// MinPerSecond is a floor of retries allowed per second whatever the
	// traffic, so that a client making few calls can still retry. It
	// accrues continuously and saves up at most one second's worth. Zero
	// means DefaultBudgetMinPerSecond (10).
	MinPerSecond float64
	// MaxSaved caps the retries a quiet, healthy period saves up for a
	// later burst of failures. Zero means DefaultBudgetMaxSaved (100).
	MaxSaved int
}

// Validate reports the first problem with cfg, or nil.
func (cfg BudgetConfig) Validate() error {
	switch {
	case math.IsNaN(cfg.Ratio) || cfg.Ratio < 0 || cfg.Ratio > 100:
		return fmt.Errorf("retry: budget Ratio %v must be in [0, 100]", cfg.Ratio)
	case math.IsNaN(cfg.MinPerSecond) || cfg.MinPerSecond < 0 || cfg.MinPerSecond > 1e9:
		return fmt.Errorf("retry: budget MinPerSecond %v must be in [0, 1e9]", cfg.MinPerSecond)
	case cfg.MaxSaved < 0 || cfg.MaxSaved > maxBudgetMaxSaved:
		return fmt.Errorf("retry: budget MaxSaved %d must be in [0, %d]", cfg.MaxSaved, maxBudgetMaxSaved)
	}
	return nil
}

// Budget limits retries across every call that shares it, so that a
// failing dependency sees at most (1 + Ratio) times its normal load plus
// MinPerSecond retries a second, instead of MaxAttempts times. Each call
// deposits Ratio retries; each retry or hedged attempt withdraws one, from
// the saved balance first and from the per-second floor when that is empty.
// When neither has a whole retry, the call stops with ErrBudget.
//
// At 100% failure, over N calls spanning T seconds, the retries made are
// at most MaxSaved + Ratio×N + max(1, MinPerSecond) + MinPerSecond×T: on
// average each call makes at most 1 + Ratio attempts once N is large.
//
// A Budget is safe for concurrent use. Depositing is one or two atomic
// operations; withdrawing takes a mutex only when the saved balance is
// empty.
type Budget struct {
	ratioUnits int64 // deposit per call, in budgetUnit
	capUnits   int64 // MaxSaved, in budgetUnit
	perSecond  float64
	floorCap   float64

	balance atomic.Int64 // saved retries, in budgetUnit
	calls   atomic.Uint64
	allowed atomic.Uint64
	denied  atomic.Uint64

	mu         sync.Mutex
	floor      float64 // retries available from the floor
	floorStamp time.Time
}

// NewBudget returns the Budget cfg describes. It panics with Validate's
// message if cfg is invalid.
func NewBudget(cfg BudgetConfig) *Budget {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.Ratio == 0 {
		cfg.Ratio = DefaultBudgetRatio
	}
	if cfg.MinPerSecond == 0 {
		cfg.MinPerSecond = DefaultBudgetMinPerSecond
	}
	if cfg.MaxSaved == 0 {
		cfg.MaxSaved = DefaultBudgetMaxSaved
	}
	b := &Budget{
		ratioUnits: int64(cfg.Ratio * budgetUnit),
		capUnits:   int64(cfg.MaxSaved) * budgetUnit,
		perSecond:  cfg.MinPerSecond,
		floorCap:   max(1, cfg.MinPerSecond),
	}
	b.floor = b.floorCap
	b.floorStamp = time.Now()
	return b
}

// deposit credits the budget for one call.
func (b *Budget) deposit() {
	b.calls.Add(1)
	for {
		old := b.balance.Load()
		if old >= b.capUnits {
			return
		}
		if b.balance.CompareAndSwap(old, min(old+b.ratioUnits, b.capUnits)) {
			return
		}
	}
}

// withdraw takes one retry from the budget and reports whether there was
// one.
func (b *Budget) withdraw() bool {
	for {
		old := b.balance.Load()
		if old < budgetUnit {
			break
		}
		if b.balance.CompareAndSwap(old, old-budgetUnit) {
			b.allowed.Add(1)
			return true
		}
	}
	b.mu.Lock()
	now := time.Now()
	b.floor = min(b.floorCap, b.floor+now.Sub(b.floorStamp).Seconds()*b.perSecond)
	b.floorStamp = now
	ok := b.floor >= 1
	if ok {
		b.floor--
	}
	b.mu.Unlock()
	if ok {
		b.allowed.Add(1)
	} else {
		b.denied.Add(1)
	}
	return ok
}

// BudgetStats is a snapshot of a Budget's counters.
type BudgetStats struct {
	Calls   uint64  // calls that deposited
	Allowed uint64  // retries and hedged attempts allowed
	Denied  uint64  // retries and hedged attempts refused
	Saved   float64 // retries currently saved, not counting the floor
}

// Stats returns a snapshot of b's counters. The fields are read one by one
// and may be mutually inconsistent by a few operations under load.
func (b *Budget) Stats() BudgetStats {
	return BudgetStats{
		Calls:   b.calls.Load(),
		Allowed: b.allowed.Load(),
		Denied:  b.denied.Load(),
		Saved:   float64(b.balance.Load()) / budgetUnit,
	}
}

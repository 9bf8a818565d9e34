package bulkhead

import (
	"fmt"
	"math"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxConcurrent = 64
	DefaultMinLimit      = 1
	DefaultMaxLimit      = 1000
	DefaultBackoff       = 0.9
	DefaultTolerance     = 1.1
	DefaultSmoothing     = 0.2
	DefaultQueueSize     = 2
	DefaultProbeInterval = 1000
)

// maxLimit bounds every limit and queue length: the fast path keeps the
// in-flight and queued counts in 32 bits each of one word.
const maxLimit = 1<<31 - 1

// Algorithm selects how a Bulkhead's limit is set.
type Algorithm int

const (
	// Fixed keeps MaxConcurrent as the limit. It is the default.
	Fixed Algorithm = iota
	// AIMD adds about one to the limit per limit's worth of calls that
	// complete normally, and multiplies it by Backoff when a call is
	// dropped: it fails with an overload error (Config.IsOverload) or
	// takes longer than SlowCall. One cut per window of calls, like TCP.
	AIMD
	// Gradient compares the latency of recent calls with the latency the
	// dependency has when it is not queueing (the lowest seen, measured
	// again every ProbeInterval calls by briefly halving the concurrency) and
	// moves the limit toward limit × Tolerance × baseline / latency +
	// QueueSize. It settles near Tolerance times the concurrency at which
	// latency starts to rise: the dependency's knee. It is in the style of
	// Netflix's Gradient2, with a baseline that cannot drift upward under
	// sustained load.
	Gradient
)

// Config describes a bulkhead. Every zero field means the default written
// in its comment.
type Config struct {
	// MaxConcurrent is the number of calls allowed at once: the fixed
	// limit, or the starting limit of an adaptive one. Zero means
	// DefaultMaxConcurrent (64).
	MaxConcurrent int
	// MaxQueued is the number of callers that may wait for a permit when
	// all are taken; a caller beyond it fails at once with ErrQueueFull.
	// Zero means no waiting room: a full bulkhead rejects at once.
	MaxQueued int
	// MaxWait bounds how long a queued caller waits before failing with
	// ErrWaitTimeout. Zero means as long as the caller's context allows.
	MaxWait time.Duration

	// Adaptive, when its Algorithm is not Fixed, lets the limit follow
	// the dependency's latency and overload errors.
	Adaptive Adaptive

	// IsOverload reports whether a call's error means the dependency is
	// overloaded, which makes AIMD cut the limit. Nil means an error is
	// an overload if it is or wraps context.DeadlineExceeded. The caller's
	// own cancellation (context.Canceled) never is and gives no sample.
	IsOverload func(err error) bool

	// OnReject, when set, runs after a caller is turned away with
	// ErrQueueFull or ErrWaitTimeout. It runs on the caller's goroutine
	// with no lock held and may call the Bulkhead.
	OnReject func(err error)
	// OnLimitChange, when set, runs after an adaptive limit changes by at
	// least one. It runs on the goroutine releasing a permit, with no
	// lock held, and may call the Bulkhead.
	OnLimitChange func(old, new int)
}

// Adaptive configures an adaptive limit. Fields that do not apply to the
// chosen Algorithm are ignored; zero fields mean the defaults in their
// comments.
type Adaptive struct {
	// Algorithm is Fixed (the default), AIMD or Gradient.
	Algorithm Algorithm
	// MinLimit and MaxLimit bound the limit. Zero means DefaultMinLimit
	// (1) and DefaultMaxLimit (1000) or MaxConcurrent if larger.
	MinLimit, MaxLimit int

	// Backoff is AIMD's multiplicative decrease, in (0, 1). Zero means
	// DefaultBackoff (0.9).
	Backoff float64
	// SlowCall makes AIMD treat a call that takes longer as dropped.
	// Zero means only errors count.
	SlowCall time.Duration

	// Tolerance is how much latency above the baseline Gradient accepts
	// before it lowers the limit, at least 1. Zero means
	// DefaultTolerance (1.1).
	Tolerance float64
	// Smoothing is the fraction of each step Gradient takes toward its
	// target, in (0, 1]. Zero means DefaultSmoothing (0.2).
	Smoothing float64
	// QueueSize is the headroom Gradient adds above the limit its
	// latency ratio gives, so that the limit can grow. Zero means
	// DefaultQueueSize (2).
	QueueSize int
	// ProbeInterval is the number of calls between Gradient's baseline
	// probes, which halve the concurrency until a few calls have been measured
	// at low concurrency. Zero means DefaultProbeInterval (1000).
	ProbeInterval int
}

// Validate reports the first problem with cfg, or nil. New panics with the
// same message; Validate lets a service check a configuration it loaded.
func (cfg Config) Validate() error {
	a := cfg.Adaptive
	switch {
	case cfg.MaxConcurrent < 0 || cfg.MaxConcurrent > maxLimit:
		return fmt.Errorf("bulkhead: MaxConcurrent %d must be in [0, %d]", cfg.MaxConcurrent, maxLimit)
	case cfg.MaxQueued < 0 || cfg.MaxQueued > maxLimit:
		return fmt.Errorf("bulkhead: MaxQueued %d must be in [0, %d]", cfg.MaxQueued, maxLimit)
	case cfg.MaxWait < 0:
		return fmt.Errorf("bulkhead: MaxWait %v is negative", cfg.MaxWait)
	case a.Algorithm < Fixed || a.Algorithm > Gradient:
		return fmt.Errorf("bulkhead: unknown Algorithm %d", a.Algorithm)
	case a.Algorithm == Fixed:
		return nil
	case a.MinLimit < 0 || a.MaxLimit < 0 || a.MaxLimit > maxLimit:
		return fmt.Errorf("bulkhead: MinLimit %d and MaxLimit %d must be in [0, %d]", a.MinLimit, a.MaxLimit, maxLimit)
	case a.Backoff != 0 && !(a.Backoff > 0 && a.Backoff < 1):
		return fmt.Errorf("bulkhead: Backoff %v must be in (0, 1)", a.Backoff)
	case a.SlowCall < 0:
		return fmt.Errorf("bulkhead: SlowCall %v is negative", a.SlowCall)
	case a.Tolerance != 0 && !(a.Tolerance >= 1 && !math.IsInf(a.Tolerance, 1)):
		return fmt.Errorf("bulkhead: Tolerance %v must be a finite number >= 1", a.Tolerance)
	case a.Smoothing != 0 && !(a.Smoothing > 0 && a.Smoothing <= 1):
		return fmt.Errorf("bulkhead: Smoothing %v must be in (0, 1]", a.Smoothing)
	case a.QueueSize < 0 || a.QueueSize > maxLimit:
		return fmt.Errorf("bulkhead: QueueSize %d must be in [0, %d]", a.QueueSize, maxLimit)
	case a.ProbeInterval < 0:
		return fmt.Errorf("bulkhead: ProbeInterval %d is negative", a.ProbeInterval)
	}
	c := cfg.withDefaults()
	if c.Adaptive.MinLimit > c.Adaptive.MaxLimit {
		return fmt.Errorf("bulkhead: MinLimit %d exceeds MaxLimit %d", c.Adaptive.MinLimit, c.Adaptive.MaxLimit)
	}
	if c.MaxConcurrent < c.Adaptive.MinLimit || c.MaxConcurrent > c.Adaptive.MaxLimit {
		return fmt.Errorf("bulkhead: MaxConcurrent %d is outside [MinLimit %d, MaxLimit %d]",
			c.MaxConcurrent, c.Adaptive.MinLimit, c.Adaptive.MaxLimit)
	}
	return nil
}

// withDefaults returns cfg with every zero field replaced by its default.
func (cfg Config) withDefaults() Config {
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	a := &cfg.Adaptive
	if a.MinLimit == 0 {
		a.MinLimit = DefaultMinLimit
	}
	if a.MaxLimit == 0 {
		a.MaxLimit = max(DefaultMaxLimit, cfg.MaxConcurrent)
	}
	if a.Backoff == 0 {
		a.Backoff = DefaultBackoff
	}
	if a.Tolerance == 0 {
		a.Tolerance = DefaultTolerance
	}
	if a.Smoothing == 0 {
		a.Smoothing = DefaultSmoothing
	}
	if a.QueueSize == 0 {
		a.QueueSize = DefaultQueueSize
	}
	if a.ProbeInterval == 0 {
		a.ProbeInterval = DefaultProbeInterval
	}
	return cfg
}

package breaker

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits and defaults of Config. Every zero field of Config means the default
// named here.
const (
	// DefaultWindowSize is the number of calls a count window remembers.
	DefaultWindowSize = 100
	// MaxWindowSize bounds a count window (one byte per call).
	MaxWindowSize = 1 << 20
	// DefaultWindowBuckets is the number of buckets of a time window.
	DefaultWindowBuckets = 10
	// MaxWindowBuckets bounds the number of buckets of a time window.
	MaxWindowBuckets = 1000
	// MinBucketWidth is the shortest time a time-window bucket may cover.
	MinBucketWidth = time.Millisecond
	// DefaultMinCalls is the number of calls the window must hold before the
	// rate rules apply (capped at the size of a count window).
	DefaultMinCalls = 10
	// DefaultFailureRate is the failure-rate rule used when no trip rule is
	// configured at all.
	DefaultFailureRate = 50
	// DefaultOpenDuration is how long a breaker stays open before probing.
	DefaultOpenDuration = time.Minute
	// DefaultProbeTimeout is how long half-open probes may hold every slot
	// before the breaker gives up on them and reopens.
	DefaultProbeTimeout = time.Minute
)

// Config configures a Breaker. The zero Config is valid: a count window of
// the last 100 calls that trips at a 50% failure rate once 10 calls are in
// the window, stays open for a minute, then admits one probe.
//
// Validate reports what is wrong with a Config; New panics on the same
// errors, since they can only be programming errors or bad configuration.
type Config struct {
	// Name identifies the breaker in errors and OnStateChange.
	Name string

	// WindowSize is the number of most recent calls the count window
	// holds. Default DefaultWindowSize, at most MaxWindowSize. Ignored when
	// WindowDuration is set.
	WindowSize int
	// WindowDuration, if positive, selects a time window: the calls of the
	// last WindowDuration, kept in WindowBuckets buckets (a bucket expires
	// as a whole). Zero selects the count window.
	WindowDuration time.Duration
	// WindowBuckets is the number of buckets of a time window. Default
	// DefaultWindowBuckets, at most MaxWindowBuckets; each bucket must cover
	// at least MinBucketWidth.
	WindowBuckets int

	// ConsecutiveFailures trips the breaker after this many failures in a
	// row (ignored outcomes do not break the row). Zero disables the rule.
	ConsecutiveFailures int
	// FailureRate trips the breaker when failures make up at least this
	// percentage (0-100] of the calls in the window, once the window holds
	// MinCalls calls. Zero disables the rule. If ConsecutiveFailures,
	// FailureRate and SlowCallRate are all zero, FailureRate is
	// DefaultFailureRate.
	FailureRate float64
	// SlowCallDuration is the duration from which a call counts as slow.
	// Zero disables slow-call measurement: the breaker then reads no clock
	// on the closed success path of a count window.
	SlowCallDuration time.Duration
	// SlowCallRate trips the breaker when slow calls (failed or not) make up
	// at least this percentage (0-100] of the calls in the window, once the
	// window holds MinCalls calls. It needs SlowCallDuration. Zero disables
	// the rule. With the rule on, a slow half-open probe counts as failed.
	SlowCallRate float64
	// MinCalls is the number of calls the window must hold before the rate
	// rules apply. Default DefaultMinCalls, capped at WindowSize for a count
	// window.
	MinCalls int

	// OpenDuration is how long the breaker stays open before it admits
	// probes. Default DefaultOpenDuration.
	OpenDuration time.Duration
	// MaxOpenDuration, if greater than OpenDuration, makes the open
	// duration double on each reopening in a row (a failed half-open
	// attempt), up to this cap. Zero keeps the duration fixed.
	MaxOpenDuration time.Duration
	// OpenJitter in [0, 1) shortens each open duration by a random
	// fraction of at most OpenJitter, so that many clients that tripped
	// together do not probe together. Zero means no jitter.
	OpenJitter float64

	// HalfOpenProbes is the number of calls admitted at the same time while
	// half-open; further calls are rejected at once, not queued. Default 1.
	HalfOpenProbes int
	// SuccessesToClose is the number of successful probes that close the
	// breaker; any failed probe reopens it. Default HalfOpenProbes.
	SuccessesToClose int
	// ProbeTimeout bounds how long probes may hold every half-open slot
	// without reporting: when a call arrives, all slots are taken and no
	// probe was admitted for ProbeTimeout, the breaker reopens (so a permit
	// that is never released cannot wedge it half-open). Default
	// DefaultProbeTimeout.
	ProbeTimeout time.Duration

	// Classify decides how a non-nil error counts (a nil error is always a
	// success). Nil means: errors matching context.Canceled are ignored,
	// every other error is a failure. Whatever Classify says, Do and
	// Transport ignore errors of calls whose own context was canceled by
	// the caller. Classify runs on the calling goroutine, outside locks,
	// and may call any method of the breaker. An Outcome other than the
	// three defined counts as Failure.
	Classify func(err error) Outcome

	// OnStateChange, if not nil, is called once for every transition, in
	// transition order, outside every lock. It may call any method of the
	// breaker, including ones that cause further transitions (they are
	// delivered after it returns). Transitions are delivered by whichever
	// goroutine finds them pending, so a call may return before the
	// callback for the transition it caused has run on another goroutine;
	// the end of an open period is delivered from a runtime timer. A panic
	// in OnStateChange propagates to the goroutine that delivered it; the
	// remaining transitions stay queued for the next delivery.
	OnStateChange func(name string, from, to State)
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	switch {
	case c.WindowSize < 0 || c.WindowSize > MaxWindowSize:
		return fmt.Errorf("breaker: WindowSize %d outside [0, %d]", c.WindowSize, MaxWindowSize)
	case c.WindowDuration < 0:
		return fmt.Errorf("breaker: negative WindowDuration %v", c.WindowDuration)
	case c.WindowBuckets < 0 || c.WindowBuckets > MaxWindowBuckets:
		return fmt.Errorf("breaker: WindowBuckets %d outside [0, %d]", c.WindowBuckets, MaxWindowBuckets)
	case c.ConsecutiveFailures < 0:
		return fmt.Errorf("breaker: negative ConsecutiveFailures %d", c.ConsecutiveFailures)
	case !validPercent(c.FailureRate):
		return fmt.Errorf("breaker: FailureRate %v outside [0, 100]", c.FailureRate)
	case !validPercent(c.SlowCallRate):
		return fmt.Errorf("breaker: SlowCallRate %v outside [0, 100]", c.SlowCallRate)
	case c.SlowCallDuration < 0:
		return fmt.Errorf("breaker: negative SlowCallDuration %v", c.SlowCallDuration)
	case c.SlowCallRate > 0 && c.SlowCallDuration == 0:
		return errors.New("breaker: SlowCallRate needs SlowCallDuration")
	case c.MinCalls < 0:
		return fmt.Errorf("breaker: negative MinCalls %d", c.MinCalls)
	case c.OpenDuration < 0:
		return fmt.Errorf("breaker: negative OpenDuration %v", c.OpenDuration)
	case c.MaxOpenDuration < 0:
		return fmt.Errorf("breaker: negative MaxOpenDuration %v", c.MaxOpenDuration)
	case !(c.OpenJitter >= 0 && c.OpenJitter < 1):
		return fmt.Errorf("breaker: OpenJitter %v outside [0, 1)", c.OpenJitter)
	case c.HalfOpenProbes < 0:
		return fmt.Errorf("breaker: negative HalfOpenProbes %d", c.HalfOpenProbes)
	case c.SuccessesToClose < 0:
		return fmt.Errorf("breaker: negative SuccessesToClose %d", c.SuccessesToClose)
	case c.ProbeTimeout < 0:
		return fmt.Errorf("breaker: negative ProbeTimeout %v", c.ProbeTimeout)
	}
	d := c.withDefaults()
	if d.WindowDuration > 0 {
		if d.WindowDuration/time.Duration(d.WindowBuckets) < MinBucketWidth {
			return fmt.Errorf("breaker: WindowDuration %v / WindowBuckets %d is below the minimum bucket width %v",
				d.WindowDuration, d.WindowBuckets, MinBucketWidth)
		}
	} else if c.MinCalls > d.WindowSize {
		return fmt.Errorf("breaker: MinCalls %d exceeds WindowSize %d, so the rate rules could never apply",
			c.MinCalls, d.WindowSize)
	}
	return nil
}

func validPercent(p float64) bool { return p >= 0 && p <= 100 && !math.IsNaN(p) }

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.WindowSize == 0 {
		c.WindowSize = DefaultWindowSize
	}
	if c.WindowBuckets == 0 {
		c.WindowBuckets = DefaultWindowBuckets
	}
	if c.ConsecutiveFailures == 0 && c.FailureRate == 0 && c.SlowCallRate == 0 {
		c.FailureRate = DefaultFailureRate
	}
	if c.MinCalls == 0 {
		c.MinCalls = DefaultMinCalls
		if c.WindowDuration == 0 {
			c.MinCalls = min(c.MinCalls, c.WindowSize)
		}
	}
	if c.OpenDuration == 0 {
		c.OpenDuration = DefaultOpenDuration
	}
	if c.MaxOpenDuration < c.OpenDuration {
		c.MaxOpenDuration = c.OpenDuration
	}
	if c.HalfOpenProbes == 0 {
		c.HalfOpenProbes = 1
	}
	if c.SuccessesToClose == 0 {
		c.SuccessesToClose = c.HalfOpenProbes
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	return c
}

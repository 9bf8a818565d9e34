package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
)

// Policy chooses how a Balancer picks among its available endpoints.
type Policy int

const (
	// WeightedRoundRobin cycles through the endpoints in a precomputed
	// smooth order in which every endpoint's picks stay within one pick of
	// its exact weighted share at all times. A pick is O(1) whatever the
	// weights. It is the default.
	WeightedRoundRobin Policy = iota
	// RoundRobin cycles through the endpoints in turn, ignoring weights
	// (slow start still ramps new endpoints up).
	RoundRobin
	// LeastLoaded draws two endpoints with probability proportional to
	// weight and picks the one with fewer requests in flight per unit of
	// weight ("power of two choices"). Call Pick.Done when each request ends.
	LeastLoaded
	// PeakEWMA is LeastLoaded with latency: it picks the one of two drawn
	// endpoints with the lower cost, the peak-sensitive moving average of
	// its latency times its requests in flight plus one, per unit of weight.
	// Endpoints without a measurement get one request at a time until their
	// first response.
	PeakEWMA
	// ConsistentHash maps each request key to an endpoint on a hash ring
	// (Config.VirtualNodes points per endpoint, scaled by weight), so the
	// same key keeps reaching the same endpoint while it is available and
	// only the keys of a removed or ejected endpoint move. Use PickKey.
	ConsistentHash
)

var policyNames = [...]string{"WeightedRoundRobin", "RoundRobin", "LeastLoaded", "PeakEWMA", "ConsistentHash"}

// String returns the policy's name, e.g. "PeakEWMA".
func (p Policy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Limits on Config values.
const (
	// MaxEndpointsLimit is the largest Config.MaxEndpoints.
	MaxEndpointsLimit = 1 << 16
	// MaxScheduleLimit is the largest Config.MaxSchedule.
	MaxScheduleLimit = 1 << 22
	// MaxVirtualNodes is the largest Config.VirtualNodes.
	MaxVirtualNodes = 1 << 12
	// MaxRingPoints caps the points on a ConsistentHash ring: when
	// endpoints x VirtualNodes would exceed it, every endpoint gets
	// proportionally fewer points (at least one each).
	MaxRingPoints = 1 << 20
)

// Config configures a Balancer. The zero value is a weighted round-robin
// balancer without ejection, slow start or health checks.
type Config struct {
	// Policy picks the algorithm; zero is WeightedRoundRobin.
	Policy Policy

	// Ejection configures passive outlier ejection. Off unless
	// Ejection.ConsecutiveFailures > 0.
	Ejection Ejection

	// SlowStart ramps the weight of new and returning endpoints up. Off
	// unless SlowStart.Window > 0. Not allowed with ConsistentHash, whose
	// key mapping must not drift while a ramp progresses.
	SlowStart SlowStart

	// HealthCheck configures the active checks that RunHealthChecks runs.
	HealthCheck HealthCheck

	// DecayTime is how long the latency estimate remembers: an old
	// measurement weighs e^-1 after DecayTime. Zero means 10 s.
	DecayTime time.Duration

	// FailurePenalty is the least latency a failed call records in the
	// estimate: an endpoint that fails fast (a 503 in a microsecond) must
	// not look like the fastest and draw traffic to itself. A failure
	// slower than the penalty records its own latency. Zero means 1 s.
	FailurePenalty time.Duration

	// RecordLatency makes every policy measure each request's latency, from
	// Pick to Done, into the per-endpoint estimate Stats reports. PeakEWMA
	// always does, as it balances on it; the others skip it by default
	// because reading the clock twice costs more than the pick itself.
	RecordLatency bool

	// VirtualNodes is the number of ring points of an endpoint of average
	// weight under ConsistentHash, 1 to MaxVirtualNodes; the ring takes 10
	// bytes per point and at most MaxRingPoints points (plus one per
	// endpoint). Zero means 160.
	VirtualNodes int

	// MaxEndpoints bounds the endpoints Update accepts, 1 to
	// MaxEndpointsLimit. Zero means 10,000.
	MaxEndpoints int

	// MaxSchedule bounds the length of the precomputed pick cycle, and so
	// its memory (2 bytes per slot), MaxEndpoints to MaxScheduleLimit. When
	// the weights divided by their greatest common divisor sum to at most
	// MaxSchedule the picks follow the weights exactly; beyond it the
	// weights are first rounded to integers summing to about MaxSchedule,
	// each at least 1, so an endpoint's share is off by at most about
	// 1/MaxSchedule of all picks and the cycle has at most MaxSchedule slots
	// plus one per endpoint. Building a cycle takes O(slots * log endpoints)
	// time and, while it runs, 4 more bytes per slot.
	// Zero means 65,536 (a cycle of at most 128 KiB plus 2 bytes per
	// endpoint).
	MaxSchedule int

	// IsFailure reports whether the error given to Pick.Done counts
	// against the endpoint (for ejection and for PeakEWMA's latency). Nil
	// means every non-nil error except context.Canceled: a caller that
	// gives up has learned nothing about the endpoint.
	IsFailure func(err error) bool

	// RequestKey extracts the ConsistentHash key of a request sent through
	// Transport. Nil means the URL path.
	RequestKey func(r *http.Request) string

	// OnEject is called after an endpoint is ejected, with how long it
	// stays out. It runs in the goroutine that reported the failure,
	// outside the balancer's locks; it may call any Balancer method.
	OnEject func(ep Endpoint, d time.Duration)

	// OnReturn is called after an ejected endpoint returns to rotation. It
	// runs outside the balancer's locks, in the goroutine that noticed
	// the ejection expired (a timer or a Balancer method); it may call any
	// Balancer method.
	OnReturn func(ep Endpoint)

	// OnHealthChange is called after an active check changes an
	// endpoint's health. It runs in RunHealthChecks's goroutine, outside
	// the balancer's locks; it may call any Balancer method.
	OnHealthChange func(ep Endpoint, healthy bool)

	// Logger receives RunHealthChecks's health transitions. Nil is silent.
	Logger *slog.Logger
}

// Ejection configures passive outlier ejection: an endpoint that fails
// ConsecutiveFailures requests in a row leaves rotation for BaseTime times
// the number of times it has been ejected, capped at MaxTime. One ejection
// is forgiven for every BaseTime the endpoint then spends in rotation.
// At most MaxPercent of the endpoints are out at once (at least one may be,
// with two or more endpoints), and the last endpoint is never ejected.
type Ejection struct {
	// ConsecutiveFailures that eject an endpoint. Zero turns ejection off.
	ConsecutiveFailures int
	// BaseTime is the first ejection's length. Zero means 30 s.
	BaseTime time.Duration
	// MaxTime caps an ejection's length. Zero means 300 s, or BaseTime if
	// that is longer.
	MaxTime time.Duration
	// MaxPercent of the endpoints that may be ejected at once, 0 to 100.
	// Zero means 10.
	MaxPercent int
}

// SlowStart ramps an endpoint's weight up after it joins (after the first
// Update that had other endpoints available) or returns from ejection or
// an unhealthy state, like Envoy's slow start: its weight is multiplied by
//
//	max(MinPercent/100, (elapsed/Window)^(1/Aggression))
//
// re-evaluated Window/20 apart until Window has passed.
type SlowStart struct {
	// Window is the ramp's length. Zero turns slow start off.
	Window time.Duration
	// Aggression shapes the ramp: 1 is linear, above 1 ramps faster
	// early. Zero means 1.
	Aggression float64
	// MinPercent is the weight, in percent of the full weight, an endpoint
	// starts with, 1 to 100. Zero means 10.
	MinPercent float64
}

// HealthCheck configures active health checking, which RunHealthChecks
// performs.
type HealthCheck struct {
	// Check probes one endpoint; a nil error means healthy. It must return
	// when ctx is done. Nil disables active checks.
	Check func(ctx context.Context, ep Endpoint) error
	// Interval between rounds of checks. Zero means 10 s.
	Interval time.Duration
	// Timeout of one check. Zero means 2 s.
	Timeout time.Duration
	// UnhealthyAfter consecutive failed checks take an endpoint out of
	// rotation. Zero means 3.
	UnhealthyAfter int
	// HealthyAfter consecutive passed checks bring it back. Zero means 2.
	HealthyAfter int
	// Concurrency bounds the checks running at once. Zero means 16.
	Concurrency int
}

// Validate reports whether c is usable, with an error wrapping
// ErrInvalidConfig that names the first problem.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	e, s, h := c.Ejection, c.SlowStart, c.HealthCheck
	switch {
	case c.Policy < WeightedRoundRobin || c.Policy > ConsistentHash:
		return bad("unknown policy %d", int(c.Policy))
	case e.ConsecutiveFailures < 0:
		return bad("negative Ejection.ConsecutiveFailures")
	case e.BaseTime < 0 || e.MaxTime < 0:
		return bad("negative Ejection time")
	case e.MaxTime > 0 && e.MaxTime < e.BaseTime:
		return bad("Ejection.MaxTime below Ejection.BaseTime")
	case e.MaxPercent < 0 || e.MaxPercent > 100:
		return bad("Ejection.MaxPercent outside 0..100")
	case s.Window < 0:
		return bad("negative SlowStart.Window")
	case s.Aggression < 0 || math.IsNaN(s.Aggression) || math.IsInf(s.Aggression, 0):
		return bad("SlowStart.Aggression must be a positive number")
	case s.MinPercent < 0 || s.MinPercent > 100 || math.IsNaN(s.MinPercent):
		return bad("SlowStart.MinPercent outside 0..100")
	case s.Window > 0 && c.Policy == ConsistentHash:
		return bad("SlowStart does not apply to ConsistentHash")
	case h.Interval < 0 || h.Timeout < 0:
		return bad("negative HealthCheck duration")
	case h.UnhealthyAfter < 0 || h.HealthyAfter < 0 || h.Concurrency < 0:
		return bad("negative HealthCheck count")
	case c.DecayTime < 0:
		return bad("negative DecayTime")
	case c.FailurePenalty < 0:
		return bad("negative FailurePenalty")
	case c.VirtualNodes < 0 || c.VirtualNodes > MaxVirtualNodes:
		return bad("VirtualNodes outside 0..%d", MaxVirtualNodes)
	case c.MaxEndpoints < 0 || c.MaxEndpoints > MaxEndpointsLimit:
		return bad("MaxEndpoints outside 0..%d", MaxEndpointsLimit)
	case c.MaxSchedule < 0 || c.MaxSchedule > MaxScheduleLimit:
		return bad("MaxSchedule outside 0..%d", MaxScheduleLimit)
	}
	if n := c.withDefaults(); n.MaxSchedule < n.MaxEndpoints {
		return bad("MaxSchedule %d below MaxEndpoints %d: every endpoint needs a slot", n.MaxSchedule, n.MaxEndpoints)
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Ejection.BaseTime, 30*time.Second)
	if c.Ejection.MaxTime == 0 {
		c.Ejection.MaxTime = max(300*time.Second, c.Ejection.BaseTime)
	}
	defInt(&c.Ejection.MaxPercent, 10)
	if c.SlowStart.Aggression == 0 {
		c.SlowStart.Aggression = 1
	}
	if c.SlowStart.MinPercent == 0 {
		c.SlowStart.MinPercent = 10
	}
	def(&c.HealthCheck.Interval, 10*time.Second)
	def(&c.HealthCheck.Timeout, 2*time.Second)
	defInt(&c.HealthCheck.UnhealthyAfter, 3)
	defInt(&c.HealthCheck.HealthyAfter, 2)
	defInt(&c.HealthCheck.Concurrency, 16)
	def(&c.DecayTime, 10*time.Second)
	def(&c.FailurePenalty, time.Second)
	defInt(&c.VirtualNodes, 160)
	defInt(&c.MaxEndpoints, 10_000)
	defInt(&c.MaxSchedule, 1<<16)
	return c
}

// defaultIsFailure counts every error but the caller's own cancellation.
func defaultIsFailure(err error) bool {
	return !errors.Is(err, context.Canceled)
}

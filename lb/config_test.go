package lb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  lb.Config
		want string // "" means valid
	}{
		{"zero value", lb.Config{}, ""},
		{"everything set", lb.Config{
			Policy:      lb.PeakEWMA,
			Ejection:    lb.Ejection{ConsecutiveFailures: 5, BaseTime: time.Second, MaxTime: time.Minute, MaxPercent: 100},
			SlowStart:   lb.SlowStart{Window: time.Minute, Aggression: 2, MinPercent: 5},
			HealthCheck: lb.HealthCheck{Interval: time.Second, Timeout: time.Second, UnhealthyAfter: 1, HealthyAfter: 1, Concurrency: 1},
			DecayTime:   time.Second, VirtualNodes: lb.MaxVirtualNodes, MaxEndpoints: lb.MaxEndpointsLimit, MaxSchedule: lb.MaxScheduleLimit,
		}, ""},
		{"unknown policy", lb.Config{Policy: lb.ConsistentHash + 1}, "unknown policy"},
		{"negative policy", lb.Config{Policy: -1}, "unknown policy"},
		{"negative failures", lb.Config{Ejection: lb.Ejection{ConsecutiveFailures: -1}}, "ConsecutiveFailures"},
		{"negative base", lb.Config{Ejection: lb.Ejection{BaseTime: -1}}, "Ejection time"},
		{"max below base", lb.Config{Ejection: lb.Ejection{BaseTime: time.Minute, MaxTime: time.Second}}, "MaxTime below"},
		{"percent above 100", lb.Config{Ejection: lb.Ejection{MaxPercent: 101}}, "MaxPercent"},
		{"negative window", lb.Config{SlowStart: lb.SlowStart{Window: -1}}, "Window"},
		{"negative aggression", lb.Config{SlowStart: lb.SlowStart{Aggression: -1}}, "Aggression"},
		{"min percent above 100", lb.Config{SlowStart: lb.SlowStart{MinPercent: 101}}, "MinPercent"},
		{"slow start with hashing", lb.Config{Policy: lb.ConsistentHash, SlowStart: lb.SlowStart{Window: time.Second}}, "ConsistentHash"},
		{"negative interval", lb.Config{HealthCheck: lb.HealthCheck{Interval: -1}}, "HealthCheck duration"},
		{"negative threshold", lb.Config{HealthCheck: lb.HealthCheck{HealthyAfter: -1}}, "HealthCheck count"},
		{"negative decay", lb.Config{DecayTime: -1}, "DecayTime"},
		{"too many virtual nodes", lb.Config{VirtualNodes: lb.MaxVirtualNodes + 1}, "VirtualNodes"},
		{"too many endpoints", lb.Config{MaxEndpoints: lb.MaxEndpointsLimit + 1}, "MaxEndpoints"},
		{"schedule too long", lb.Config{MaxSchedule: lb.MaxScheduleLimit + 1}, "MaxSchedule"},
		{"schedule shorter than endpoints", lb.Config{MaxEndpoints: 100, MaxSchedule: 99}, "every endpoint needs a slot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err, "a valid config")
				assert.NotPanics(t, func() { lb.New(tc.cfg) }, "New accepts a valid config")
				return
			}
			require.ErrorIs(t, err, lb.ErrInvalidConfig, "Validate rejects it")
			assert.Contains(t, err.Error(), tc.want, "the error names the problem")
			assert.PanicsWithValue(t, err.Error(), func() { lb.New(tc.cfg) }, "New panics with the same message")
			assert.True(t, strings.HasPrefix(err.Error(), "lb: "), "messages start with the package name")
		})
	}
}

func TestPolicyString(t *testing.T) {
	assert.Equal(t, "WeightedRoundRobin", lb.Policy(0).String(), "the zero policy")
	assert.Equal(t, "PeakEWMA", lb.PeakEWMA.String(), "a named policy")
	assert.Equal(t, "Policy(9)", lb.Policy(9).String(), "an unknown policy")
}

func TestZeroPick(t *testing.T) {
	var p lb.Pick
	assert.Empty(t, p.Addr(), "the zero Pick names no endpoint")
	assert.Equal(t, lb.Endpoint{}, p.Endpoint(), "and has no endpoint")
	assert.NotPanics(t, func() { p.Done(errBoom) }, "its Done does nothing")
}

func TestTransportNeedsABalancer(t *testing.T) {
	assert.PanicsWithValue(t, "lb: Transport with a nil Balancer", func() { lb.Transport(nil, nil) }, "a nil Balancer is a programming error")
}

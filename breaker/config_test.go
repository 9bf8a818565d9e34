package breaker_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     breaker.Config
		wantErr string // substring; empty means valid
	}{
		{"zero config", breaker.Config{}, ""},
		{"full config", breaker.Config{
			WindowDuration: time.Minute, WindowBuckets: 60, ConsecutiveFailures: 5, FailureRate: 50,
			SlowCallDuration: time.Second, SlowCallRate: 80, MinCalls: 20, OpenDuration: time.Second,
			MaxOpenDuration: time.Minute, OpenJitter: 0.2, HalfOpenProbes: 3, SuccessesToClose: 5, ProbeTimeout: time.Second,
		}, ""},
		{"negative window", breaker.Config{WindowSize: -1}, "WindowSize"},
		{"huge window", breaker.Config{WindowSize: breaker.MaxWindowSize + 1}, "WindowSize"},
		{"negative duration", breaker.Config{WindowDuration: -time.Second}, "WindowDuration"},
		{"too many buckets", breaker.Config{WindowBuckets: breaker.MaxWindowBuckets + 1}, "WindowBuckets"},
		{"buckets too narrow", breaker.Config{WindowDuration: 10 * time.Millisecond, WindowBuckets: 11}, "bucket width"},
		{"negative consecutive", breaker.Config{ConsecutiveFailures: -1}, "ConsecutiveFailures"},
		{"rate above 100", breaker.Config{FailureRate: 101}, "FailureRate"},
		{"negative rate", breaker.Config{FailureRate: -1}, "FailureRate"},
		{"NaN rate", breaker.Config{FailureRate: math.NaN()}, "FailureRate"},
		{"slow rate above 100", breaker.Config{SlowCallRate: 100.5, SlowCallDuration: time.Second}, "SlowCallRate"},
		{"slow rate without duration", breaker.Config{SlowCallRate: 50}, "needs SlowCallDuration"},
		{"negative slow duration", breaker.Config{SlowCallDuration: -1}, "SlowCallDuration"},
		{"negative min calls", breaker.Config{MinCalls: -1}, "MinCalls"},
		{"min calls above window", breaker.Config{WindowSize: 5, MinCalls: 6}, "could never apply"},
		{"negative open duration", breaker.Config{OpenDuration: -1}, "OpenDuration"},
		{"negative max open duration", breaker.Config{MaxOpenDuration: -1}, "MaxOpenDuration"},
		{"jitter of 1", breaker.Config{OpenJitter: 1}, "OpenJitter"},
		{"negative jitter", breaker.Config{OpenJitter: -0.1}, "OpenJitter"},
		{"negative probes", breaker.Config{HalfOpenProbes: -1}, "HalfOpenProbes"},
		{"negative successes", breaker.Config{SuccessesToClose: -1}, "SuccessesToClose"},
		{"negative probe timeout", breaker.Config{ProbeTimeout: -1}, "ProbeTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err, "a valid config")
				assert.NotPanics(t, func() { breaker.New(tt.cfg) }, "New accepts a valid config")
				return
			}
			require.ErrorContains(t, err, tt.wantErr, "Validate names the bad field")
			assert.True(t, strings.HasPrefix(err.Error(), "breaker: "), "errors carry the package prefix: %q", err)
			assert.PanicsWithValue(t, err.Error(), func() { breaker.New(tt.cfg) }, "New panics with Validate's message")
		})
	}
}

func TestZeroConfigTripsAtHalfFailuresAfterTenCalls(t *testing.T) {
	b := breaker.New(breaker.Config{})
	for i := range 9 {
		_ = call(b, errBoom)
		require.Equal(t, breaker.StateClosed, b.State(), "fewer than ten calls never trip (call %d)", i+1)
	}
	_ = call(b, errBoom)
	assert.Equal(t, breaker.StateOpen, b.State(), "ten failures of ten calls trip the default 50% rule")
	assert.Equal(t, breaker.DefaultOpenDuration, b.Stats().RetryAfter.Round(time.Minute), "default open duration")
}

func TestStateAndOutcomeNames(t *testing.T) {
	for s, want := range map[breaker.State]string{
		breaker.StateClosed: "closed", breaker.StateOpen: "open", breaker.StateHalfOpen: "half-open",
		breaker.StateForcedOpen: "forced-open", breaker.StateDisabled: "disabled", breaker.State(9): "State(9)",
	} {
		assert.Equal(t, want, s.String())
	}
	for o, want := range map[breaker.Outcome]string{
		breaker.Success: "success", breaker.Failure: "failure", breaker.Ignore: "ignore", breaker.Outcome(7): "Outcome(7)",
	} {
		assert.Equal(t, want, o.String())
	}
}

package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/distkit/distkit/breaker"
)

// The reference model: the breaker's rules written as plainly as possible,
// with no concurrency and no fast paths. The property drives a Breaker and
// the model with the same random actions (calls, held permits, sleeps,
// operator moves) and compares every observable after each action.

const (
	modelBucket   = 10 * time.Millisecond
	modelSlow     = 5 * time.Millisecond
	modelOpen     = 20 * time.Millisecond
	modelMaxOpen  = 80 * time.Millisecond
	modelProbeTTL = 100 * time.Millisecond
)

type modelEvent struct {
	at           time.Duration
	failed, slow bool
}

type modelPermit struct {
	real  breaker.Permit
	gen   int
	state breaker.State // state at admission
	start time.Duration
}

type model struct {
	cfg         breaker.Config
	timeBuckets int // 0: count window of cfg.WindowSize
	now         time.Duration

	state              breaker.State
	gen                int
	events             []modelEvent // closed-state window, oldest first
	consecutive        int
	reopens            int
	openUntil          time.Duration
	probes, wins       int
	lastProbe          time.Duration
	opens, transitions uint64
	discarded          uint64
}

func (m *model) transition(to breaker.State) {
	from := m.state
	m.gen++
	m.state = to
	m.transitions++
	m.consecutive, m.probes, m.wins = 0, 0, 0
	switch to {
	case breaker.StateClosed:
		m.events = nil
		m.reopens = 0
	case breaker.StateOpen:
		if from == breaker.StateHalfOpen {
			m.reopens++
		} else {
			m.reopens = 0
		}
		m.opens++
		d := m.cfg.OpenDuration
		maxD := max(m.cfg.MaxOpenDuration, d)
		for range m.reopens {
			d = min(2*d, maxD)
		}
		m.openUntil = m.now + d
	case breaker.StateForcedOpen, breaker.StateDisabled:
		m.reopens = 0
	}
}

func (m *model) setState(to breaker.State) {
	if m.state != to {
		m.transition(to)
		return
	}
	m.gen++
	if to == breaker.StateClosed {
		m.events = nil
		m.consecutive, m.reopens = 0, 0
	}
}

func (m *model) advance(d time.Duration) {
	m.now += d
	if m.state == breaker.StateOpen && m.now >= m.openUntil {
		m.transition(breaker.StateHalfOpen)
	}
}

// allow returns whether a call is admitted, and if not, the State of the
// rejection's *OpenError.
func (m *model) allow() (bool, breaker.State) {
	switch m.state {
	case breaker.StateClosed, breaker.StateDisabled:
		return true, 0
	case breaker.StateHalfOpen:
		if m.probes < m.cfg.HalfOpenProbes {
			m.probes++
			m.lastProbe = m.now
			return true, 0
		}
		if m.now-m.lastProbe < m.cfg.ProbeTimeout {
			return false, breaker.StateHalfOpen
		}
		m.transition(breaker.StateOpen)
		return false, breaker.StateOpen
	}
	return false, m.state
}

func (m *model) window() (calls, failures, slow int) {
	for _, e := range m.live() {
		calls++
		if e.failed {
			failures++
		}
		if e.slow {
			slow++
		}
	}
	return calls, failures, slow
}

func (m *model) live() []modelEvent {
	if m.timeBuckets == 0 {
		return m.events[max(0, len(m.events)-m.cfg.WindowSize):]
	}
	oldest := int64(m.now/modelBucket) - int64(m.timeBuckets) + 1
	var live []modelEvent
	for _, e := range m.events {
		if int64(e.at/modelBucket) >= oldest {
			live = append(live, e)
		}
	}
	return live
}

func (m *model) done(p modelPermit, o breaker.Outcome) {
	if p.state == breaker.StateDisabled || (p.state == breaker.StateClosed && o == breaker.Ignore) {
		return
	}
	if p.gen != m.gen {
		m.discarded++
		return
	}
	slow := m.cfg.SlowCallDuration > 0 && m.now-p.start >= m.cfg.SlowCallDuration
	switch m.state {
	case breaker.StateClosed:
		if o == breaker.Ignore {
			return
		}
		failed := o == breaker.Failure
		if failed {
			m.consecutive++
		} else {
			m.consecutive = 0
		}
		m.events = append(m.events, modelEvent{m.now, failed, slow})
		m.events = m.live() // forget what left the window
		if m.tripped() {
			m.transition(breaker.StateOpen)
		}
	case breaker.StateHalfOpen:
		m.probes--
		switch {
		case o == breaker.Ignore:
		case o == breaker.Failure || (slow && m.cfg.SlowCallRate > 0):
			m.transition(breaker.StateOpen)
		default:
			m.wins++
			if m.wins >= m.cfg.SuccessesToClose {
				m.transition(breaker.StateClosed)
			}
		}
	}
}

func (m *model) tripped() bool {
	c := m.cfg
	if c.ConsecutiveFailures > 0 && m.consecutive >= c.ConsecutiveFailures {
		return true
	}
	calls, failures, slow := m.window()
	if calls == 0 || calls < c.MinCalls {
		return false
	}
	return (c.FailureRate > 0 && float64(failures)*100 >= c.FailureRate*float64(calls)) ||
		(c.SlowCallRate > 0 && float64(slow)*100 >= c.SlowCallRate*float64(calls))
}

func (m *model) stats() breaker.Stats {
	s := breaker.Stats{
		State: m.state, Probes: m.probes, ProbeSuccesses: m.wins, Reopens: m.reopens,
		Opens: m.opens, Transitions: m.transitions, Discarded: m.discarded,
	}
	switch m.state {
	case breaker.StateClosed:
		s.Calls, s.Failures, s.SlowCalls = m.window()
		s.ConsecutiveFailures = m.consecutive
	case breaker.StateOpen:
		s.RetryAfter = max(m.openUntil-m.now, 0)
	}
	return s
}

func drawModelConfig(t *rapid.T) (breaker.Config, int) {
	cfg := breaker.Config{
		ConsecutiveFailures: rapid.IntRange(0, 4).Draw(t, "consecutive"),
		FailureRate:         float64(rapid.SampledFrom([]int{0, 25, 50, 100}).Draw(t, "failureRate")),
		OpenDuration:        modelOpen,
		MaxOpenDuration:     rapid.SampledFrom([]time.Duration{0, modelMaxOpen}).Draw(t, "maxOpen"),
		HalfOpenProbes:      rapid.IntRange(1, 3).Draw(t, "probes"),
		SuccessesToClose:    rapid.IntRange(1, 4).Draw(t, "successesToClose"),
		ProbeTimeout:        modelProbeTTL,
	}
	if rapid.Bool().Draw(t, "slowRule") {
		cfg.SlowCallDuration = modelSlow
		cfg.SlowCallRate = float64(rapid.SampledFrom([]int{50, 100}).Draw(t, "slowRate"))
	}
	if cfg.ConsecutiveFailures == 0 && cfg.FailureRate == 0 && cfg.SlowCallRate == 0 {
		cfg.FailureRate = breaker.DefaultFailureRate // what the zero rules default to
	}
	buckets := 0
	if rapid.Bool().Draw(t, "timeWindow") {
		buckets = rapid.IntRange(1, 4).Draw(t, "buckets")
		cfg.WindowDuration = time.Duration(buckets) * modelBucket
		cfg.WindowBuckets = buckets
		cfg.MinCalls = rapid.IntRange(1, 6).Draw(t, "minCalls")
	} else {
		cfg.WindowSize = rapid.IntRange(1, 8).Draw(t, "windowSize")
		cfg.MinCalls = rapid.IntRange(1, cfg.WindowSize).Draw(t, "minCalls")
	}
	return cfg, buckets
}

func outcomeErr(o breaker.Outcome) error {
	switch o {
	case breaker.Failure:
		return errBoom
	case breaker.Ignore:
		return context.Canceled
	}
	return nil
}

func checkModel(t *rapid.T) {
	cfg, buckets := drawModelConfig(t)
	b := breaker.New(cfg)
	m := &model{cfg: cfg, timeBuckets: buckets}
	var held []modelPermit
	outcomes := rapid.SampledFrom([]breaker.Outcome{breaker.Success, breaker.Success, breaker.Failure, breaker.Ignore})

	checkAdmission := func(what string, err error, ok bool, rejectedAs breaker.State) {
		if ok {
			if err != nil {
				t.Fatalf("%s: rejected with %v, model admits", what, err)
			}
			return
		}
		var oe *breaker.OpenError
		if !errors.As(err, &oe) || oe.State != rejectedAs {
			t.Fatalf("%s: got %v, model rejects as %v", what, err, rejectedAs)
		}
	}

	steps := rapid.IntRange(1, 120).Draw(t, "steps")
	for step := range steps {
		action := rapid.IntRange(0, 9).Draw(t, fmt.Sprint("action", step))
		switch action {
		case 0, 1, 2: // a call through Do
			o := outcomes.Draw(t, "outcome")
			slow := rapid.Bool().Draw(t, "slow")
			ok, rejectedAs := m.allow()
			p := modelPermit{gen: m.gen, state: m.state, start: m.now}
			_, err := breaker.Do(context.Background(), b, func(context.Context) (int, error) {
				if slow {
					time.Sleep(modelSlow)
				}
				return 0, outcomeErr(o)
			})
			if ok {
				if slow {
					m.now += modelSlow // the call took time; its open period cannot end meanwhile
				}
				m.done(p, o)
				if !errors.Is(err, outcomeErr(o)) {
					t.Fatalf("Do returned %v, want fn's %v", err, outcomeErr(o))
				}
			} else {
				checkAdmission("Do", err, ok, rejectedAs)
			}
		case 3: // take a permit and hold it
			if len(held) == 4 {
				continue
			}
			ok, rejectedAs := m.allow()
			p, err := b.Allow()
			checkAdmission("Allow", err, ok, rejectedAs)
			if ok {
				held = append(held, modelPermit{real: p, gen: m.gen, state: m.state, start: m.now})
			}
		case 4: // complete a held permit
			if len(held) == 0 {
				continue
			}
			i := rapid.IntRange(0, len(held)-1).Draw(t, "permit")
			o := outcomes.Draw(t, "heldOutcome")
			p := held[i]
			held = append(held[:i], held[i+1:]...)
			p.real.Done(outcomeErr(o))
			m.done(p, o)
		case 5, 6: // time passes
			d := rapid.SampledFrom([]time.Duration{
				time.Millisecond, modelSlow, modelBucket, modelOpen, 50 * time.Millisecond, modelProbeTTL,
			}).Draw(t, "sleep")
			time.Sleep(d)
			synctest.Wait() // the open period's timer, if it fired, has run
			m.advance(d)
		case 7:
			b.ForceOpen()
			m.setState(breaker.StateForcedOpen)
		case 8:
			b.Disable()
			m.setState(breaker.StateDisabled)
		case 9:
			b.Reset()
			m.setState(breaker.StateClosed)
		}
		if got, want := b.Stats(), m.stats(); got != want {
			t.Fatalf("after step %d (action %d):\n got  %+v\n want %+v", step, action, got, want)
		}
	}
	for _, p := range held {
		p.real.Done(nil)
	}
	b.Reset() // stops a pending open-period timer
}

// TestMatchesReferenceModel checks the breaker against the model over
// 10 x rapid.checks random configurations and action sequences (1,000 with
// the default of 100 checks).
func TestMatchesReferenceModel(t *testing.T) {
	cases := 0
	synctest.Test(t, func(t *testing.T) {
		for range 10 {
			rapid.Check(bubbleTB{t}, func(t *rapid.T) {
				cases++
				checkModel(t)
			})
		}
	})
	if cases < 1000 {
		t.Fatalf("ran %d cases, want at least 1000", cases)
	}
	t.Logf("%d cases", cases)
}

// bubbleTB hides the *testing.T from rapid, which would otherwise ask it
// for its deadline, a call testing forbids inside a synctest bubble.
type bubbleTB struct{ rapid.TB }

package breaker

import "strconv"

// State is the position of a breaker in its state machine.
type State uint8

const (
	// StateClosed admits every call and records outcomes in the window.
	StateClosed State = iota
	// StateOpen rejects every call until the open duration has passed.
	StateOpen
	// StateHalfOpen admits a bounded number of concurrent probe calls whose
	// outcomes decide between closing and reopening.
	StateHalfOpen
	// StateForcedOpen rejects every call until Reset or Disable; set by ForceOpen.
	StateForcedOpen
	// StateDisabled admits every call and records nothing until Reset or
	// ForceOpen; set by Disable.
	StateDisabled
)

// String returns the lower-case name of s, e.g. "half-open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half-open"
	case StateForcedOpen:
		return "forced-open"
	case StateDisabled:
		return "disabled"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Outcome says how the result of a call counts toward the breaker's rules.
type Outcome uint8

const (
	// Success counts as a successful call.
	Success Outcome = iota
	// Failure counts as a failed call.
	Failure
	// Ignore leaves the window untouched, as if the call had not been made.
	// A half-open probe that is ignored frees its slot for another probe.
	Ignore
)

// String returns the lower-case name of o.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignore:
		return "ignore"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

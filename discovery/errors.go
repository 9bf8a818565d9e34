package discovery

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrLeaseNotFound is returned when a heartbeat, drain or deregistration
	// names an instance the registry does not hold: it was never
	// registered, it expired, or the registry restarted. The cure is to
	// register again; Registrar does so automatically.
	ErrLeaseNotFound = errors.New("discovery: lease not found")
	// ErrTokenMismatch is returned when the lease token presented does not
	// match the instance's current lease.
	ErrTokenMismatch = errors.New("discovery: lease token does not match")
	// ErrConflict is returned by Register when another live lease holds the
	// same service and ID.
	ErrConflict = errors.New("discovery: instance registered under another lease")
	// ErrInvalid is wrapped by errors about malformed registrations,
	// requests and configuration.
	ErrInvalid = errors.New("discovery: invalid input")
	// ErrLimit is wrapped by errors about a size or count limit being
	// exceeded; the message names the limit.
	ErrLimit = errors.New("discovery: limit exceeded")
	// ErrClosed is returned by every call on a closed Registry, and ends
	// its watches.
	ErrClosed = errors.New("discovery: registry closed")
	// ErrUnauthorized is returned when a request to a Handler lacks the
	// bearer token it requires.
	ErrUnauthorized = errors.New("discovery: unauthorized")
	// ErrUnavailable is returned when the server refuses work for now (too
	// many concurrent watches) or answers with a 5xx status.
	ErrUnavailable = errors.New("discovery: server unavailable")
)

// StaleError accompanies data served from a last-good cache because the
// fresh read failed. The data returned with it is Age old; Err is the
// failure.
type StaleError struct {
	Service string
	Age     time.Duration
	Err     error
}

// Error describes the failure and the age of the data served instead.
func (e *StaleError) Error() string {
	return fmt.Sprintf("discovery: serving %q from cache, %s old: %v", e.Service, e.Age, e.Err)
}

// Unwrap returns the failure that made the data stale.
func (e *StaleError) Unwrap() error { return e.Err }

// HTTPError is an error answer from a Handler that maps to no sentinel, or
// a failure reading one. Code is the HTTP status.
type HTTPError struct {
	Code    int
	Message string
	// err is the sentinel the answer maps to, if any.
	err error
}

// Error returns the status and the server's message.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("discovery: HTTP %d: %s", e.Code, e.Message)
}

// Unwrap returns the sentinel the status maps to (ErrLeaseNotFound,
// ErrConflict, ...), or nil.
func (e *HTTPError) Unwrap() error { return e.err }

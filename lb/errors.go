package lb

import "errors"

var (
	// ErrNoEndpoints is returned by Pick when the balancer has no endpoints.
	ErrNoEndpoints = errors.New("lb: no endpoints")
	// ErrKeyRequired is returned by Pick on a ConsistentHash balancer: use
	// PickKey.
	ErrKeyRequired = errors.New("lb: ConsistentHash needs a key: use PickKey")
	// ErrInvalidEndpoint is wrapped by the *EndpointError Update returns.
	ErrInvalidEndpoint = errors.New("lb: invalid endpoint")
	// ErrTooManyEndpoints is returned by Update when given more than
	// Config.MaxEndpoints endpoints.
	ErrTooManyEndpoints = errors.New("lb: too many endpoints")
	// ErrInvalidConfig is wrapped by the errors of Config.Validate.
	ErrInvalidConfig = errors.New("lb: invalid config")
	// ErrNoHealthCheck is returned by RunHealthChecks when
	// Config.HealthCheck.Check is nil.
	ErrNoHealthCheck = errors.New("lb: no health check configured")
	// ErrServerError is what Transport reports to Pick.Done (and so to
	// Config.IsFailure) for a response with a 5xx status code.
	ErrServerError = errors.New("lb: server error status")
	// ErrUnhealthyStatus is wrapped by HTTPHealthCheck's error for a
	// non-2xx answer.
	ErrUnhealthyStatus = errors.New("lb: health check status not 2xx")
	// ErrPanicked is what Do reports to Pick.Done when its function
	// panics; the panic then continues.
	ErrPanicked = errors.New("lb: call panicked")
)

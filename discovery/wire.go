package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The JSON shapes of the HTTP API. Durations travel as Go duration strings
// ("10s"); statuses as "passing", "warning", "critical".

type registerRequest struct {
	Instance Instance   `json:"instance"`
	TTL      string     `json:"ttl,omitempty"`
	Check    *checkJSON `json:"check,omitempty"`
	Token    string     `json:"token,omitempty"`
}

type checkJSON struct {
	HTTP                   string `json:"http,omitempty"`
	TCP                    string `json:"tcp,omitempty"`
	Interval               string `json:"interval,omitempty"`
	Timeout                string `json:"timeout,omitempty"`
	FailuresBeforeCritical int    `json:"failures_before_critical,omitempty"`
}

type leaseJSON struct {
	Service string `json:"service"`
	ID      string `json:"id"`
	Token   string `json:"token"`
	TTL     string `json:"ttl"`
}

// leaseRequest is the body of heartbeat, drain and deregister.
type leaseRequest struct {
	Service  string `json:"service"`
	ID       string `json:"id"`
	Token    string `json:"token,omitempty"`
	Status   Status `json:"status,omitempty"`
	Draining bool   `json:"draining,omitempty"`
}

type snapshotJSON struct {
	Service   string     `json:"service"`
	Revision  uint64     `json:"revision"`
	Epoch     uint64     `json:"epoch"`
	Instances []Instance `json:"instances"`
}

type servicesJSON struct {
	Services []string `json:"services"`
}

type errorJSON struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error codes of the HTTP API and the sentinels they stand for.
var errorCodes = []struct {
	code   string
	status int
	err    error
}{
	{"lease_not_found", http.StatusNotFound, ErrLeaseNotFound},
	{"token_mismatch", http.StatusForbidden, ErrTokenMismatch},
	{"conflict", http.StatusConflict, ErrConflict},
	{"limit", http.StatusRequestEntityTooLarge, ErrLimit},
	{"invalid", http.StatusBadRequest, ErrInvalid},
	{"unauthorized", http.StatusUnauthorized, ErrUnauthorized},
	{"closed", http.StatusServiceUnavailable, ErrClosed},
	{"unavailable", http.StatusServiceUnavailable, ErrUnavailable},
}

// decodeJSON reads one JSON value of at most limit bytes into v, rejecting
// unknown fields and trailing data. Memory is bounded by limit.
func decodeJSON(r io.Reader, limit int64, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("%w: body larger than %d bytes", ErrLimit, tooBig.Limit)
		}
		return fmt.Errorf("%w: reading body: %v", ErrInvalid, err)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("%w: body larger than %d bytes", ErrLimit, limit)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	return nil
}

// parseDuration reads an optional non-negative duration field.
func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) > 32 {
		return 0, fmt.Errorf("%w: %s too long", ErrInvalid, field)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s %q is not a non-negative duration", ErrInvalid, field, s)
	}
	return d, nil
}

// decodeRegistration decodes a register request body into a Registration
// (not yet validated against the registry's limits).
func decodeRegistration(r io.Reader, limit int64) (Registration, error) {
	var req registerRequest
	if err := decodeJSON(r, limit, &req); err != nil {
		return Registration{}, err
	}
	ttl, err := parseDuration("ttl", req.TTL)
	if err != nil {
		return Registration{}, err
	}
	reg := Registration{Instance: req.Instance, TTL: ttl, Token: req.Token}
	if req.Check != nil {
		c := Check{HTTP: req.Check.HTTP, TCP: req.Check.TCP, FailuresBeforeCritical: req.Check.FailuresBeforeCritical}
		if c.Interval, err = parseDuration("check interval", req.Check.Interval); err != nil {
			return Registration{}, err
		}
		if c.Timeout, err = parseDuration("check timeout", req.Check.Timeout); err != nil {
			return Registration{}, err
		}
		reg.Check = &c
	}
	return reg, nil
}

// encodeRegistration is decodeRegistration's inverse, used by Client.
func encodeRegistration(reg Registration) registerRequest {
	req := registerRequest{Instance: reg.Instance, Token: reg.Token}
	if reg.TTL != 0 {
		req.TTL = reg.TTL.String()
	}
	if c := reg.Check; c != nil {
		req.Check = &checkJSON{HTTP: c.HTTP, TCP: c.TCP, FailuresBeforeCritical: c.FailuresBeforeCritical}
		if c.Interval != 0 {
			req.Check.Interval = c.Interval.String()
		}
		if c.Timeout != 0 {
			req.Check.Timeout = c.Timeout.String()
		}
	}
	return req
}

// decodeLeaseRequest decodes a heartbeat, drain or deregister body.
func decodeLeaseRequest(r io.Reader, limit int64) (leaseRequest, error) {
	var req leaseRequest
	if err := decodeJSON(r, limit, &req); err != nil {
		return req, err
	}
	if req.Service == "" || req.ID == "" {
		return req, fmt.Errorf("%w: service and id are required", ErrInvalid)
	}
	if len(req.Service) > MaxNameBytes || len(req.ID) > MaxNameBytes || len(req.Token) > MaxNameBytes {
		return req, fmt.Errorf("%w: field longer than %d bytes", ErrInvalid, MaxNameBytes)
	}
	return req, nil
}

func leaseFromJSON(l leaseJSON) (Lease, error) {
	ttl, err := parseDuration("ttl", l.TTL)
	if err != nil {
		return Lease{}, err
	}
	if l.Service == "" || l.ID == "" || l.Token == "" {
		return Lease{}, fmt.Errorf("%w: incomplete lease in answer", ErrInvalid)
	}
	return Lease{Service: l.Service, ID: l.ID, Token: l.Token, TTL: ttl}, nil
}

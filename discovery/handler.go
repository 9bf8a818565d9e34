package discovery

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of HandlerConfig.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultMaxWatches   = 4096
)

// HandlerConfig configures Handler. The zero value serves an open registry
// with the default limits.
type HandlerConfig struct {
	// Token, if set, is required as "Authorization: Bearer <Token>" on
	// every request (AdminToken is accepted too). It keeps strangers out;
	// lease tokens keep members from touching each other's instances.
	Token string
	// AdminToken, if set and presented as the bearer token, may deregister
	// any instance without its lease token (Registry.Remove).
	AdminToken string
	// MaxBodyBytes bounds a request body; 0 means 64 KiB.
	MaxBodyBytes int64
	// MaxWatches bounds concurrent blocking queries; further ones get 503
	// with Retry-After. 0 means 4096.
	MaxWatches int
	// MaxWait caps the wait of one blocking query; 0 means the registry's
	// MaxQueryWait (5 minutes by default). Make sure the http.Server's
	// WriteTimeout, if any, exceeds MaxWait plus MaxWait/16 of jitter.
	MaxWait time.Duration
}

// Validate reports a negative limit, wrapping ErrInvalid.
func (c HandlerConfig) Validate() error {
	if c.MaxBodyBytes < 0 || c.MaxWatches < 0 || c.MaxWait < 0 {
		return fmt.Errorf("%w: HandlerConfig limits must not be negative", ErrInvalid)
	}
	return nil
}

// Handler serves reg over HTTP/JSON. It panics with a "discovery: ..."
// message if cfg.Validate fails.
//
//	POST /v1/register       {"instance":{...},"ttl":"10s","check":{...},"token":""}
//	                        -> 200 {"service","id","token","ttl"}
//	POST /v1/heartbeat      {"service","id","token","status":"passing"} -> 204
//	POST /v1/drain          {"service","id","token","draining":true}    -> 204
//	POST /v1/deregister     {"service","id","token"}                    -> 204
//	GET  /v1/services       -> 200 {"services":[...]}
//	GET  /v1/services/{s}   -> 200 {"service","revision","epoch","instances":[...]}
//	GET  /v1/services/{s}?index=R&epoch=E&wait=30s
//	                        blocking query: answers when the revision is no
//	                        longer R (or after wait plus jitter)
//
// Answers carry the revision and epoch in the X-Discovery-Revision and
// X-Discovery-Epoch headers too. An index given with an epoch other than
// the registry's (it restarted) is ignored and the query answers at once;
// an index given without an epoch is trusted, as in Consul. Errors are
// {"error","code"} with a status: 400 invalid, 401 unauthorized, 403
// token_mismatch, 404 lease_not_found, 409 conflict, 413 limit, 503 closed
// or unavailable.
//
// A check registered over HTTP must target the instance's own host, so the
// registry cannot be used to probe arbitrary addresses.
//
// Long polls end when the client goes away; http.Server.Shutdown waits for
// them, so close the server (or cancel its BaseContext) to end them early.
func Handler(reg *Registry, cfg HandlerConfig) http.Handler {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	setDefault(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&cfg.MaxWatches, DefaultMaxWatches)
	h := &handler{reg: reg, cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/register", h.register)
	mux.HandleFunc("POST /v1/heartbeat", h.heartbeat)
	mux.HandleFunc("POST /v1/drain", h.drain)
	mux.HandleFunc("POST /v1/deregister", h.deregister)
	mux.HandleFunc("GET /v1/services", h.services)
	mux.HandleFunc("GET /v1/services/{service}", h.lookup)
	return h.authorize(mux)
}

type handler struct {
	reg      *Registry
	cfg      HandlerConfig
	watching atomic.Int64
}

// adminKey marks, in a request's context, that it carries the admin token.
type adminKey struct{}

// authorize checks the bearer token and marks admin requests.
func (h *handler) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			bearer = ""
		}
		admin := h.cfg.AdminToken != "" && secretEqual(bearer, h.cfg.AdminToken)
		if h.cfg.Token != "" && !admin && !secretEqual(bearer, h.cfg.Token) {
			writeError(w, ErrUnauthorized)
			return
		}
		if admin {
			r = r.WithContext(context.WithValue(r.Context(), adminKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func isAdmin(r *http.Request) bool { return r.Context().Value(adminKey{}) != nil }

func (h *handler) body(w http.ResponseWriter, r *http.Request) *http.Request {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	return r
}

func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	reg, err := decodeRegistration(h.body(w, r).Body, h.cfg.MaxBodyBytes)
	if err == nil && reg.Check != nil {
		err = checkTargetsOwnHost(reg)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	lease, err := h.reg.Register(r.Context(), reg)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, leaseJSON{Service: lease.Service, ID: lease.ID, Token: lease.Token, TTL: lease.TTL.String()})
}

// checkTargetsOwnHost refuses checks aimed anywhere but the instance.
func checkTargetsOwnHost(reg Registration) error {
	host, _, err := net.SplitHostPort(reg.Instance.Address)
	if err != nil {
		return fmt.Errorf("%w: an instance with a check needs a host:port address", ErrInvalid)
	}
	if target := checkTarget(reg.Check); !strings.EqualFold(target, host) {
		return fmt.Errorf("%w: check target %.64q is not the instance's host %.64q", ErrInvalid, target, host)
	}
	return nil
}

func (h *handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	req, err := decodeLeaseRequest(h.body(w, r).Body, h.cfg.MaxBodyBytes)
	if err == nil {
		err = h.reg.Heartbeat(r.Context(), Lease{Service: req.Service, ID: req.ID, Token: req.Token}, req.Status)
	}
	writeNoContent(w, err)
}

func (h *handler) drain(w http.ResponseWriter, r *http.Request) {
	req, err := decodeLeaseRequest(h.body(w, r).Body, h.cfg.MaxBodyBytes)
	if err == nil {
		err = h.reg.Drain(r.Context(), Lease{Service: req.Service, ID: req.ID, Token: req.Token}, req.Draining)
	}
	writeNoContent(w, err)
}

func (h *handler) deregister(w http.ResponseWriter, r *http.Request) {
	req, err := decodeLeaseRequest(h.body(w, r).Body, h.cfg.MaxBodyBytes)
	switch {
	case err != nil:
	case isAdmin(r) && req.Token == "":
		err = h.reg.Remove(r.Context(), req.Service, req.ID)
	default:
		err = h.reg.Deregister(r.Context(), Lease{Service: req.Service, ID: req.ID, Token: req.Token})
	}
	writeNoContent(w, err)
}

func (h *handler) services(w http.ResponseWriter, r *http.Request) {
	names := h.reg.Services()
	slices.Sort(names)
	writeJSON(w, http.StatusOK, servicesJSON{Services: names})
}

func (h *handler) lookup(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	if err := validServiceName(service); err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	if !q.Has("index") {
		h.writeSnapshot(w, h.reg.Lookup(service))
		return
	}
	index, err := strconv.ParseUint(q.Get("index"), 10, 64)
	if err != nil {
		writeError(w, fmt.Errorf("%w: index must be an unsigned integer", ErrInvalid))
		return
	}
	if q.Has("epoch") {
		epoch, err := strconv.ParseUint(q.Get("epoch"), 10, 64)
		if err != nil {
			writeError(w, fmt.Errorf("%w: epoch must be an unsigned integer", ErrInvalid))
			return
		}
		if epoch != h.reg.Epoch() {
			index = 0 // a revision of another registry life: answer now
		}
	}
	wait, err := parseDuration("wait", q.Get("wait"))
	if err != nil {
		writeError(w, err)
		return
	}
	if h.cfg.MaxWait > 0 && (wait == 0 || wait > h.cfg.MaxWait) {
		wait = h.cfg.MaxWait
	}
	if h.watching.Add(1) > int64(h.cfg.MaxWatches) {
		h.watching.Add(-1)
		w.Header().Set("Retry-After", "1")
		writeError(w, fmt.Errorf("%w: MaxWatches (%d) blocking queries running", ErrUnavailable, h.cfg.MaxWatches))
		return
	}
	defer h.watching.Add(-1)
	snap, err := h.reg.Query(r.Context(), service, index, wait)
	if err != nil {
		writeError(w, err)
		return
	}
	h.writeSnapshot(w, snap)
}

func (h *handler) writeSnapshot(w http.ResponseWriter, snap Snapshot) {
	w.Header().Set("X-Discovery-Revision", strconv.FormatUint(snap.Revision, 10))
	w.Header().Set("X-Discovery-Epoch", strconv.FormatUint(h.reg.Epoch(), 10))
	instances := snap.Instances
	if instances == nil {
		instances = []Instance{}
	}
	writeJSON(w, http.StatusOK, snapshotJSON{Service: snap.Service, Revision: snap.Revision, Epoch: h.reg.Epoch(), Instances: instances})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeNoContent(w http.ResponseWriter, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeError maps an error to its status and code. Errors that are not the
// package's (a canceled request) are answered as unavailable.
func writeError(w http.ResponseWriter, err error) {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			writeJSON(w, c.status, errorJSON{Error: err.Error(), Code: c.code})
			return
		}
	}
	writeJSON(w, http.StatusServiceUnavailable, errorJSON{Error: err.Error(), Code: "unavailable"})
}

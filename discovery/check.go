package discovery

import (
	"context"
	"io"
	"net/http"
	"time"
)

// probe runs one instance's active check. Its timer's callback performs a
// probe and re-arms the timer; no goroutine waits between probes.
type probe struct {
	spec     Check
	timer    *time.Timer
	failures int
	cancel   context.CancelFunc // of the running probe, nil when idle
	stopped  bool
}

// maxCheckBody bounds how much of an HTTP check's answer is read.
const maxCheckBody = 4096

// defaultCheckClient runs HTTP checks when Config.HTTPClient is nil: no
// keep-alives (nothing idles after Close), no proxy, no redirects.
var defaultCheckClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// setCheckLocked installs, replaces or removes an entry's active check. A
// re-registration with the same check keeps the running probe and its
// status, so renewing a registration does not flap a healthy instance.
func (r *Registry) setCheckLocked(e *entry, spec *Check) {
	if e.probe != nil && spec != nil && e.probe.spec == *spec {
		return
	}
	r.stopCheckLocked(e)
	if spec == nil {
		e.checkStatus = StatusPassing
		return
	}
	// Critical until the first probe passes: an instance with a check is
	// not routed to before the check has seen it work.
	e.checkStatus = StatusCritical
	p := &probe{spec: *spec}
	e.probe = p
	p.timer = time.AfterFunc(0, func() { r.runProbe(e, p) })
}

func (r *Registry) stopCheckLocked(e *entry) {
	p := e.probe
	if p == nil {
		return
	}
	e.probe = nil
	p.stopped = true
	p.timer.Stop()
	if p.cancel != nil {
		p.cancel()
	}
}

// runProbe is a check timer's callback.
func (r *Registry) runProbe(e *entry, p *probe) {
	r.mu.Lock()
	if r.closed || p.stopped {
		r.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.spec.Timeout)
	p.cancel = cancel
	r.probes.Add(1)
	r.mu.Unlock()
	defer r.probes.Done()

	result := r.probeOnce(ctx, p.spec)
	cancel()

	r.mu.Lock()
	defer r.mu.Unlock()
	p.cancel = nil
	if r.closed || p.stopped {
		return
	}
	status := e.checkStatus
	switch result {
	case StatusCritical:
		p.failures++
		if p.failures >= p.spec.FailuresBeforeCritical {
			status = StatusCritical
		}
	default:
		p.failures = 0
		status = result
	}
	if status != e.checkStatus {
		e.checkStatus = status
		e.svc.touch(e.base.ID)
		r.publishLocked(e.svc)
	}
	p.timer.Reset(p.spec.Interval)
}

// probeOnce runs one HTTP or TCP probe and returns its verdict.
func (r *Registry) probeOnce(ctx context.Context, spec Check) Status {
	if spec.TCP != "" {
		conn, err := r.cfg.Dial(ctx, "tcp", spec.TCP)
		if err != nil {
			return StatusCritical
		}
		_ = conn.Close()
		return StatusPassing
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.HTTP, nil)
	if err != nil {
		return StatusCritical
	}
	client := r.cfg.HTTPClient
	if client == nil {
		client = defaultCheckClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return StatusCritical
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCheckBody))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return StatusPassing
	case resp.StatusCode == http.StatusTooManyRequests:
		return StatusWarning
	}
	return StatusCritical
}

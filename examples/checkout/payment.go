package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/vclock"
)

// hlcHeader carries the sender's hybrid logical clock on requests, so that
// what a service does is ordered after what caused it.
const hlcHeader = "X-HLC"

// cardNetwork is the outside world every payment replica depends on. The
// story takes it down to show the circuit breaker at work.
type cardNetwork struct {
	down atomic.Bool
}

type chargeRequest struct {
	Order string `json:"order"`
	Cents int64  `json:"cents"`
}

// receipt is a payment replica's answer to a successful charge.
type receipt struct {
	ID      string           `json:"id"`
	Replica string           `json:"replica"`
	Cents   int64            `json:"cents"`
	At      vclock.Timestamp `json:"at"`
}

// paymentService is one payment replica. A healthy one takes latency to
// reach the card network; a broken one (linkDown) fails every charge at
// once, which would make it look fast to a latency-based balancer that
// trusted failures' latency.
type paymentService struct {
	name     string
	latency  time.Duration
	linkDown bool
	network  *cardNetwork
	clock    *vclock.HLC

	mu      sync.Mutex
	charges map[string]receipt // by idempotency key
}

func newPaymentService(name string, latency time.Duration, network *cardNetwork, linkDown bool) *paymentService {
	return &paymentService{
		name: name, latency: latency, network: network, linkDown: linkDown,
		clock:   vclock.NewHLC(vclock.HLCConfig{}),
		charges: make(map[string]receipt),
	}
}

func (p *paymentService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/charge" {
		http.NotFound(w, r)
		return
	}
	var req chargeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.Cents <= 0 {
		http.Error(w, "bad charge", http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		http.Error(w, "Idempotency-Key required", http.StatusBadRequest)
		return
	}
	if p.linkDown || p.network.down.Load() {
		http.Error(w, p.name+": card network unavailable", http.StatusServiceUnavailable)
		return
	}
	t := time.NewTimer(p.latency) // the card network's round trip
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	rc, err := p.capture(key, req.Cents, r.Header.Get(hlcHeader))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rc)
}

// capture charges once per idempotency key: a client that retries after a
// lost answer gets the first receipt again instead of paying twice.
func (p *paymentService) capture(key string, cents int64, sent string) (receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rc, ok := p.charges[key]; ok {
		return rc, nil
	}
	var at vclock.Timestamp
	if err := at.UnmarshalText([]byte(sent)); err != nil {
		return receipt{}, fmt.Errorf("bad %s header: %w", hlcHeader, err)
	}
	// The charge happens after the request was sent, whatever the two
	// machines' wall clocks say.
	at, err := p.clock.Update(at)
	if err != nil {
		return receipt{}, err
	}
	rc := receipt{ID: fmt.Sprintf("%s-%03d", p.name, len(p.charges)+1), Replica: p.name, Cents: cents, At: at}
	p.charges[key] = rc
	return rc, nil
}

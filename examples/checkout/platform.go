package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/discovery"
)

// Leases are short so that an expiry fits in the story: an instance
// heartbeats every third of its TTL, and the registry sweeps often.
const (
	leaseTTL      = 400 * time.Millisecond
	expirySweep   = 50 * time.Millisecond
	registryToken = "cluster-secret"
)

// platform is the infrastructure the services run on: a discovery registry
// served over HTTP, and the service instances registered with it.
type platform struct {
	registry *discovery.Registry
	server   *httptest.Server

	mu        sync.Mutex
	instances []*instance
}

func newPlatform() *platform {
	reg := discovery.New(discovery.Config{
		MinTTL:        100 * time.Millisecond,
		CheckInterval: expirySweep,
	})
	// The bearer token keeps strangers out; each lease's own token keeps
	// one service from deregistering another's instances.
	srv := httptest.NewServer(discovery.Handler(reg, discovery.HandlerConfig{Token: registryToken}))
	return &platform{registry: reg, server: srv}
}

// instance is one running service instance: its HTTP server and the
// registrar that keeps its lease alive, as a separate process would.
type instance struct {
	discovery.Instance
	server    *httptest.Server
	link      *netLink
	transport *http.Transport
	registrar *discovery.Registrar
	stop      context.CancelFunc
	done      chan struct{}
	stopOnce  sync.Once
}

// start serves h on loopback and registers it as service/id through the
// registry's HTTP API, heartbeating until the instance stops or crashes.
func (p *platform) start(ctx context.Context, service, id string, h http.Handler) *instance {
	srv := httptest.NewServer(h)
	tr := &http.Transport{}
	link := &netLink{next: tr}
	client := discovery.NewClient(discovery.ClientConfig{
		URL:        p.server.URL,
		Token:      registryToken,
		HTTPClient: &http.Client{Transport: link},
	})
	in := &instance{
		Instance:  discovery.Instance{Service: service, ID: id, Address: srv.Listener.Addr().String()},
		server:    srv,
		link:      link,
		transport: tr,
		done:      make(chan struct{}),
	}
	in.registrar = discovery.NewRegistrar(client, discovery.Registration{Instance: in.Instance, TTL: leaseTTL},
		discovery.RegistrarConfig{DeregisterTimeout: time.Second})
	ctx, in.stop = context.WithCancel(ctx)
	go func() {
		defer close(in.done)
		_ = in.registrar.Run(ctx) // ends with ctx; a crashed instance cannot deregister
	}()
	p.mu.Lock()
	p.instances = append(p.instances, in)
	p.mu.Unlock()
	return in
}

// crash stops the instance the way a lost host does: no deregistration
// gets through, so only the lease's TTL removes it from the registry.
func (in *instance) crash() {
	in.link.cut.Store(true)
	in.shutdown()
}

// shutdown stops heartbeating (deregistering if the network allows), then
// closes the server and the connections the instance holds.
func (in *instance) shutdown() {
	in.stopOnce.Do(func() {
		in.stop()
		<-in.done
		in.server.Close()
		in.transport.CloseIdleConnections()
	})
}

// close stops every instance, then the registry and its server.
func (p *platform) close() error {
	p.mu.Lock()
	instances := p.instances
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range instances {
		wg.Go(in.shutdown)
	}
	wg.Wait()
	p.server.Close()
	return p.registry.Close()
}

var errLinkDown = errors.New("network unreachable")

// netLink is an instance's network path to the registry. Cutting it makes
// the instance's heartbeats and deregistration fail, as for a dead host.
type netLink struct {
	next http.RoundTripper
	cut  atomic.Bool
}

func (l *netLink) RoundTrip(req *http.Request) (*http.Response, error) {
	if l.cut.Load() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errLinkDown
	}
	return l.next.RoundTrip(req)
}

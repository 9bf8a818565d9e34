package lbbench

// This file drives gRPC-go's own balancers (weighted_round_robin and
// least_request_experimental) through their public API: balancer.Get, the
// builder's ParseConfig and Build, UpdateClientConnState, and the Picker the
// balancer hands to its ClientConn. gRPC's test utilities live in internal
// packages that other modules cannot import, so the ClientConn and SubConns
// below are minimal fakes that report every connection as READY at once.
// The balancer code, scheduler and picker are gRPC's.

import (
	"fmt"
	"sync"
	"testing"

	v3orcapb "github.com/cncf/xds/go/xds/data/orca/v3"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/leastrequest"
	"google.golang.org/grpc/balancer/weightedroundrobin"
	"google.golang.org/grpc/connectivity"
	estats "google.golang.org/grpc/experimental/stats"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

// fakeSubConn is a connection that never dials. Its callbacks are queued
// and delivered by fakeClientConn.settle, outside the balancer's locks, as
// gRPC's own ClientConn does.
type fakeSubConn struct {
	balancer.SubConn // required embedding; unimplemented methods panic
	cc               *fakeClientConn
	index            int
	state            func(balancer.SubConnState)
}

func (sc *fakeSubConn) Connect() {
	sc.cc.queue(func() {
		sc.state(balancer.SubConnState{ConnectivityState: connectivity.Connecting})
		sc.state(balancer.SubConnState{ConnectivityState: connectivity.Ready})
	})
}

func (sc *fakeSubConn) RegisterHealthListener(l func(balancer.SubConnState)) {
	sc.cc.queue(func() { l(balancer.SubConnState{ConnectivityState: connectivity.Ready}) })
}

func (sc *fakeSubConn) Shutdown() {}

type fakeClientConn struct {
	balancer.ClientConn // required embedding; unimplemented methods panic

	mu      sync.Mutex
	pending []func()
	byAddr  map[string]int
	picker  balancer.Picker
	state   connectivity.State
}

func (cc *fakeClientConn) queue(f func()) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.pending = append(cc.pending, f)
}

// settle delivers queued callbacks until none are left.
func (cc *fakeClientConn) settle() {
	for {
		cc.mu.Lock()
		work := cc.pending
		cc.pending = nil
		cc.mu.Unlock()
		if len(work) == 0 {
			return
		}
		for _, f := range work {
			f()
		}
	}
}

func (cc *fakeClientConn) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	return &fakeSubConn{cc: cc, index: cc.byAddr[addrs[0].Addr], state: opts.StateListener}, nil
}

func (cc *fakeClientConn) UpdateState(s balancer.State) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.picker, cc.state = s.Picker, s.ConnectivityState
}

func (cc *fakeClientConn) ResolveNow(resolver.ResolveNowOptions) {}

func (cc *fakeClientConn) MetricsRecorder() estats.MetricsRecorder { return noMetrics{} }

type noMetrics struct {
	estats.MetricsRecorder // required embedding
}

func (noMetrics) RecordInt64Count(*estats.Int64CountHandle, int64, ...string)             {}
func (noMetrics) RecordFloat64Count(*estats.Float64CountHandle, float64, ...string)       {}
func (noMetrics) RecordInt64Histo(*estats.Int64HistoHandle, int64, ...string)             {}
func (noMetrics) RecordFloat64Histo(*estats.Float64HistoHandle, float64, ...string)       {}
func (noMetrics) RecordInt64Gauge(*estats.Int64GaugeHandle, int64, ...string)             {}
func (noMetrics) RecordInt64UpDownCount(*estats.Int64UpDownCountHandle, int64, ...string) {}
func (noMetrics) RegisterAsyncReporter(estats.AsyncMetricReporter, ...estats.AsyncMetric) func() {
	return func() {}
}

// grpcPicker is a gRPC balancer with every endpoint READY.
type grpcPicker struct {
	bal balancer.Balancer
	cc  *fakeClientConn
	cfg serviceconfig.LoadBalancingConfig
	eps []resolver.Endpoint
}

// newGRPCPicker builds gRPC's balancer name with the JSON config over n
// endpoints.
func newGRPCPicker(tb testing.TB, name, config string, n int) *grpcPicker {
	tb.Helper()
	builder := balancer.Get(name)
	if builder == nil {
		tb.Fatalf("gRPC balancer %q is not registered", name)
	}
	cc := &fakeClientConn{byAddr: map[string]int{}}
	g := &grpcPicker{cc: cc, bal: builder.Build(cc, balancer.BuildOptions{})}
	tb.Cleanup(g.bal.Close)
	cfg, err := builder.(balancer.ConfigParser).ParseConfig([]byte(config))
	if err != nil {
		tb.Fatalf("gRPC %s config: %v", name, err)
	}
	g.cfg = cfg
	g.eps = make([]resolver.Endpoint, n)
	for i := range g.eps {
		addr := fmt.Sprintf("10.0.%d.%d:8080", i/256, i%256)
		cc.byAddr[addr] = i
		g.eps[i] = resolver.Endpoint{Addresses: []resolver.Address{{Addr: addr}}}
	}
	g.update(tb)
	if cc.state != connectivity.Ready {
		tb.Fatalf("gRPC %s did not become READY: %v", name, cc.state)
	}
	return g
}

// update sends the endpoints and config to the balancer and settles the
// connections it opens.
func (g *grpcPicker) update(tb testing.TB) {
	err := g.bal.UpdateClientConnState(balancer.ClientConnState{
		ResolverState:  resolver.State{Endpoints: g.eps},
		BalancerConfig: g.cfg,
	})
	if err != nil {
		tb.Fatalf("UpdateClientConnState: %v", err)
	}
	g.cc.settle()
}

// pick makes one pick and reports an empty outcome to its Done callback.
func (g *grpcPicker) pick() int {
	r, err := g.cc.picker.Pick(balancer.PickInfo{})
	if err != nil {
		panic(err)
	}
	if r.Done != nil {
		r.Done(balancer.DoneInfo{})
	}
	return r.SubConn.(*fakeSubConn).index
}

// newGRPCWeighted returns gRPC's weighted_round_robin picker with the given
// endpoint weights. Weights come from per-call ORCA load reports, as in
// production (weight = requests per second / utilization); the blackout
// period is off, and a repeated resolver update makes the balancer build a
// picker whose scheduler uses them.
func newGRPCWeighted(tb testing.TB, weights []int) *grpcPicker {
	tb.Helper()
	const cfg = `{"blackoutPeriod": "0s", "weightUpdatePeriod": "1s"}`
	g := newGRPCPicker(tb, weightedroundrobin.Name, cfg, len(weights))
	reported := make([]bool, len(weights))
	for left, tries := len(weights), 0; left > 0; tries++ {
		if tries > 1_000_000 {
			tb.Fatal("gRPC never picked every endpoint")
		}
		r, err := g.cc.picker.Pick(balancer.PickInfo{})
		if err != nil {
			tb.Fatal(err)
		}
		i := r.SubConn.(*fakeSubConn).index
		r.Done(balancer.DoneInfo{ServerLoad: &v3orcapb.OrcaLoadReport{
			RpsFractional:          float64(weights[i]),
			ApplicationUtilization: 1,
		}})
		if !reported[i] {
			reported[i] = true
			left--
		}
	}
	g.refresh(tb)
	return g
}

// refresh sends the same endpoints again, which makes gRPC build a new
// picker (and scheduler) from the weights it has.
func (g *grpcPicker) refresh(tb testing.TB) {
	g.cc.mu.Lock()
	before := g.cc.picker
	g.cc.mu.Unlock()
	g.update(tb)
	g.cc.mu.Lock()
	defer g.cc.mu.Unlock()
	if g.cc.picker == before {
		tb.Fatal("gRPC did not build a new picker")
	}
}

func newGRPCLeastRequest(tb testing.TB, n int) *grpcPicker {
	return newGRPCPicker(tb, leastrequest.Name, `{"choiceCount": 2}`, n)
}

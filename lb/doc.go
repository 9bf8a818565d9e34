// Package lb picks an endpoint for each request a client sends to a
// replicated service: client-side load balancing. Use it when a service
// calls several instances of another directly (from service discovery, DNS
// or configuration) instead of through a proxy.
//
// A Balancer holds a set of Endpoints, replaced atomically by Update, and
// picks among them by one of five policies:
//
//   - WeightedRoundRobin (the default) cycles through a precomputed smooth
//     order: at every point, each endpoint's picks are within one pick of
//     its exact weighted share. nginx's smooth weighted round-robin, the
//     usual reference, scans every endpoint per pick and still strays up to
//     1.33 picks for some weight sets; gRPC-go's scheduler sends 50 picks in
//     a row to the light endpoints of {100, 1 x 99}. Here the order is a
//     Pfair schedule (earliest deadline first within each pick's window),
//     so a pick costs the same whatever the weights: one atomic increment,
//     one remainder computed by multiplication, one load.
//   - RoundRobin ignores weights.
//   - LeastLoaded draws two endpoints by weight and takes the one with
//     fewer requests in flight per unit of weight (power of two choices).
//   - PeakEWMA does the same with a latency-weighted cost, Finagle's peak
//     exponentially weighted moving average, so slow endpoints shed load
//     at once and regain it only as their estimate decays.
//   - ConsistentHash maps request keys to endpoints on a hash ring, so a key
//     keeps its endpoint and only the keys of a departed endpoint move.
//
// Each pick returns a Pick; call its Done with the request's outcome. Picks
// and Done take no lock and allocate nothing. Transport wraps an
// http.RoundTripper so each HTTP request goes to a picked endpoint, and Do
// wraps a call.
//
// # Health
//
// Passive outlier ejection (Config.Ejection) takes an endpoint out of
// rotation after consecutive failures, for a time that grows with each
// ejection and is forgiven while the endpoint stays healthy, never ejecting
// more than a set share of the endpoints. Active health checks
// (RunHealthChecks) probe every endpoint on an interval in a goroutine the
// caller controls with a context. Slow start (Config.SlowStart) ramps the
// weight of endpoints that join a running set or return, so a cold instance
// is not handed its full share at once; a set that starts together starts at
// full weight. If every endpoint is unhealthy, the balancer uses
// them all rather than none.
//
// # Guarantees
//
// Under WeightedRoundRobin and RoundRobin, for a cycle of the schedule
// (the weights divided by their greatest common divisor, summed),
// |picks_i(t) - t*w_i/W| < 1 for every endpoint i after every pick t
// counted from the cycle's start, and every full cycle gives each endpoint
// exactly its weight. Each balancer starts at a random point of the cycle
// (and again after each change of weights), so clients that update at the
// same moment do not all pick the heaviest endpoint first; counted from
// that random start the deviation stays below 2. The cycle takes 2 bytes per
// slot and is bounded by Config.MaxSchedule (64 Ki slots by default): weights
// whose reduced sum is larger are rounded to fit, which makes shares exact
// to within about 1/MaxSchedule. Building a cycle takes O(W log n) whenever
// the set in rotation or its weights change (Update, ejection, return, a
// slow-start step): a few milliseconds at the default bound, paid by the
// goroutine that causes the change, never by picks.
//
// Update keeps the state of endpoints whose address stays (in-flight counts,
// ejections, latency, health), so a periodic refresh from a registry does not
// disturb balancing, and an Update that changes nothing keeps the rotation
// where it was.
//
// # Time and goroutines
//
// The package reads the clock when state changes, never on a
// WeightedRoundRobin, RoundRobin, LeastLoaded or ConsistentHash pick
// (PeakEWMA must, to measure latency). While an endpoint is ejected or
// warming up, one time.AfterFunc timer brings the schedule up to date at the
// next change; a Balancer starts no other goroutine. RunHealthChecks runs
// in the caller's goroutine plus up to HealthCheck.Concurrency short-lived
// ones per round, all finished when it returns.
//
// # Trade-offs
//
// The weighted policies share one atomic counter per balancer, which
// contended cores pass between them; LeastLoaded and PeakEWMA touch only the
// two endpoints they compare. LeastLoaded's decisions are only as good as
// the Done calls it gets: a Pick that is never done counts as in flight
// forever. ConsistentHash does not bound load per endpoint: a hot key stays
// on one endpoint.
package lb

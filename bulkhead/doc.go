// Package bulkhead isolates calls to a dependency by bounding how many run
// at once, so that one slow or failing dependency cannot take every
// goroutine, connection and memory of the service calling it.
//
// # When to use it
//
// Put a Bulkhead in front of each dependency (or each tenant, with a
// Group) whose slowness must not spread: calls beyond the limit wait in a
// bounded FIFO queue for at most MaxWait, and beyond the queue they fail at
// once with ErrQueueFull, which is cheaper for everyone than piling up.
// Use Do for a call, Acquire and Permit.Release around code that is not a
// single function (middleware), and Handler to protect an HTTP server,
// which answers 503 with Retry-After when full.
//
// # Guarantees
//
//   - Never more calls in flight than the limit, never more callers
//     queued than MaxQueued; queued callers get permits in arrival order,
//     and a newcomer cannot take a permit while others wait.
//   - "Full" (ErrQueueFull, immediate) and "waited too long"
//     (ErrWaitTimeout) are distinct errors; the caller's context ending
//     returns ctx.Err().
//   - A waiter whose context ends never leaks its place nor keeps a
//     permit: if a permit is handed to it at the moment it gives up, it
//     passes the permit on. A panic in Do's fn or Handler's next returns
//     the permit and goes on.
//
// # Adaptive limits
//
// A fixed limit is right only until the dependency changes. With
// Config.Adaptive the limit follows the dependency instead, bounded by
// MinLimit and MaxLimit and visible in Stats: AIMD grows it slowly while
// calls go well and cuts it when they fail with an overload error or run
// slower than SlowCall; Gradient, in the style of Netflix's Gradient2,
// lowers it as latency rises above the dependency's unloaded latency and
// settles near the concurrency at which queueing starts (the knee). This
// is the library's form of auto-scaling: capacity follows the dependency's
// health. Feed it outcomes with Do or Permit.Done.
//
// # Cost
//
// With a fixed limit, taking and returning a free permit when nobody waits
// is one atomic compare-and-swap each and allocates nothing, cheaper than
// golang.org/x/sync/semaphore. Waiting takes a mutex and allocates a small
// waiter. An adaptive limit reads the clock twice per call and takes the
// mutex on release. A Bulkhead starts no goroutines.
package bulkhead

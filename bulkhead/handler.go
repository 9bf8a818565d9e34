package bulkhead

import (
	"net/http"
)

// RetryAfterSeconds is the Retry-After value, in seconds, that Handler
// sends with its 503 answers.
const RetryAfterSeconds = "1"

// Handler returns an http.Handler that runs next under a permit of b. When
// b turns a request away (ErrQueueFull, ErrWaitTimeout) or the request's
// context ends while it waits, Handler answers 503 Service Unavailable
// with a Retry-After header and does not call next. A panic in next
// returns the permit and goes on to the server.
func Handler(b *Bulkhead, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := b.Acquire(r.Context())
		if err != nil {
			w.Header().Set("Retry-After", RetryAfterSeconds)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer p.Release()
		next.ServeHTTP(w, r)
	})
}

package bulkhead_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/bulkhead"
)

func TestHandler(t *testing.T) {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	entered, unblock := make(chan struct{}), make(chan struct{})
	h := bulkhead.Handler(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-unblock
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	slowDone := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL + "/slow")
		if !assert.NoError(t, err) {
			slowDone <- 0
			return
		}
		resp.Body.Close()
		slowDone <- resp.StatusCode
	}()
	<-entered

	resp, err := http.Get(srv.URL + "/fast")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a full bulkhead answers 503")
	assert.Equal(t, bulkhead.RetryAfterSeconds, resp.Header.Get("Retry-After"), "with a Retry-After")

	close(unblock)
	assert.Equal(t, http.StatusNoContent, <-slowDone, "the admitted request completes")
	resp, err = http.Get(srv.URL + "/fast")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "once the permit is back, requests pass")
	assert.Equal(t, uint64(1), b.Stats().Rejected)
}

func TestHandlerCanceledRequest(t *testing.T) {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1})
	holder, _ := b.Acquire(context.Background())
	defer holder.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	called := false
	bulkhead.Handler(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	assert.False(t, called, "next does not run without a permit")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

func TestHandlerPanicReleases(t *testing.T) {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	h := bulkhead.Handler(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}, "the handler's panic reaches the server")
	assert.Zero(t, b.Stats().InFlight, "the permit was returned")
}

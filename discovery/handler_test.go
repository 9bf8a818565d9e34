package discovery

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call sends one request to h and decodes a JSON answer into out.
func call(t *testing.T, h http.Handler, method, target, bearer, body string, out any) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if out != nil && rec.Code < 300 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), "answer %s is JSON", rec.Body.String())
	}
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e errorJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "error answer %q is JSON", rec.Body.String())
	assert.True(t, strings.HasPrefix(e.Error, "discovery: "), "error text %q names the package", e.Error)
	return e.Code
}

func TestHandlerLifecycle(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	h := Handler(r, HandlerConfig{})

	var lease leaseJSON
	rec := call(t, h, "POST", "/v1/register", "", `{"instance":{"service":"api","id":"a","address":"10.0.0.1:80","zone":"z","weight":2,"metadata":{"v":"1"},"status":"warning"},"ttl":"30s"}`, &lease)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "30s", lease.TTL)
	assert.NotEmpty(t, lease.Token)

	var snap snapshotJSON
	rec = call(t, h, "GET", "/v1/services/api", "", "", &snap)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, strconv.FormatUint(snap.Revision, 10), rec.Header().Get("X-Discovery-Revision"))
	assert.Equal(t, strconv.FormatUint(r.Epoch(), 10), rec.Header().Get("X-Discovery-Epoch"))
	assert.Equal(t, r.Epoch(), snap.Epoch)
	require.Len(t, snap.Instances, 1)
	got := snap.Instances[0]
	assert.Equal(t, Instance{Service: "api", ID: "a", Address: "10.0.0.1:80", Zone: "z", Weight: 2,
		Metadata: map[string]string{"v": "1"}, Status: StatusWarning, ModRevision: 2}, got, "the instance round-trips")

	body := `{"service":"api","id":"a","token":"` + lease.Token + `"`
	rec = call(t, h, "POST", "/v1/heartbeat", "", body+`,"status":"critical"}`, nil)
	assert.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Equal(t, StatusCritical, r.Lookup("api").Instances[0].Status)
	rec = call(t, h, "POST", "/v1/drain", "", body+`,"draining":true}`, nil)
	assert.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.True(t, r.Lookup("api").Instances[0].Draining)

	var names servicesJSON
	call(t, h, "GET", "/v1/services", "", "", &names)
	assert.Equal(t, []string{"api"}, names.Services)

	rec = call(t, h, "POST", "/v1/deregister", "", body+`}`, nil)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	rec = call(t, h, "POST", "/v1/heartbeat", "", body+`}`, nil)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "lease_not_found", errorCode(t, rec))

	call(t, h, "GET", "/v1/services/nothing", "", "", &snap)
	assert.Equal(t, uint64(1), snap.Revision, "an unknown service answers empty at revision 1")
	assert.NotNil(t, snap.Instances, "an empty list is [] not null")
}

func TestHandlerAuthorization(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	h := Handler(r, HandlerConfig{Token: "member", AdminToken: "admin"})
	reg := `{"instance":{"service":"api","id":"a","address":"a:1"}}`

	noScheme := httptest.NewRequest("GET", "/v1/services", nil)
	noScheme.Header.Set("Authorization", "member")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, noScheme)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "the token counts only after \"Bearer \"")

	for _, bearer := range []string{"", "wrong", "Member"} {
		rec := call(t, h, "POST", "/v1/register", bearer, reg, nil)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "bearer %q is refused", bearer)
		assert.Equal(t, "unauthorized", errorCode(t, rec))
		rec = call(t, h, "GET", "/v1/services/api", bearer, "", nil)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "reads need the token too")
	}
	var lease leaseJSON
	rec = call(t, h, "POST", "/v1/register", "member", reg, &lease)
	require.Equal(t, http.StatusOK, rec.Code)

	// Another member knows the shared token but not the lease token.
	rec = call(t, h, "POST", "/v1/deregister", "member", `{"service":"api","id":"a"}`, nil)
	assert.Equal(t, http.StatusForbidden, rec.Code, "a member cannot deregister another's instance")
	assert.Equal(t, "token_mismatch", errorCode(t, rec))
	rec = call(t, h, "POST", "/v1/drain", "admin", `{"service":"api","id":"a","draining":true}`, nil)
	assert.Equal(t, http.StatusForbidden, rec.Code, "the admin token only removes")
	rec = call(t, h, "POST", "/v1/register", "member", reg, nil)
	assert.Equal(t, http.StatusConflict, rec.Code, "nor take it over by registering")
	assert.Equal(t, "conflict", errorCode(t, rec))

	rec = call(t, h, "POST", "/v1/deregister", "admin", `{"service":"api","id":"a"}`, nil)
	assert.Equal(t, http.StatusNoContent, rec.Code, "the admin removes any instance")
	assert.Empty(t, r.Lookup("api").Instances)
}

func TestHandlerRejectsBadRequests(t *testing.T) {
	r := New(Config{})
	defer r.Close()
	h := Handler(r, HandlerConfig{MaxBodyBytes: 512})
	cases := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"not json", "POST", "/v1/register", `{`, 400, "invalid"},
		{"unknown field", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a:1"},"tll":"1s"}`, 400, "invalid"},
		{"trailing data", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a:1"}} {}`, 400, "invalid"},
		{"bad ttl", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a:1"},"ttl":"soon"}`, 400, "invalid"},
		{"negative ttl", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a:1"},"ttl":"-1s"}`, 400, "invalid"},
		{"bad status", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a:1","status":"up"}}`, 400, "invalid"},
		{"invalid instance", "POST", "/v1/register", `{"instance":{"service":"a b","id":"a","address":"a:1"}}`, 400, "invalid"},
		{"body too large", "POST", "/v1/register", `{"instance":{"service":"a","id":"` + strings.Repeat("x", 600) + `"}}`, 413, "limit"},
		{"check elsewhere", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"10.0.0.1:80"},"check":{"http":"http://169.254.169.254/"}}`, 400, "invalid"},
		{"check without port", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a"},"check":{"tcp":"a:1"}}`, 400, "invalid"},
		{"bad check interval", "POST", "/v1/register", `{"instance":{"service":"a","id":"a","address":"a:1"},"check":{"tcp":"a:1","interval":"x"}}`, 400, "invalid"},
		{"heartbeat without id", "POST", "/v1/heartbeat", `{"service":"a"}`, 400, "invalid"},
		{"heartbeat long id", "POST", "/v1/heartbeat", `{"service":"a","id":"` + strings.Repeat("x", 300) + `"}`, 400, "invalid"},
		{"bad service in path", "GET", "/v1/services/a%20b", "", 400, "invalid"},
		{"bad index", "GET", "/v1/services/a?index=x", "", 400, "invalid"},
		{"bad epoch", "GET", "/v1/services/a?index=1&epoch=-1", "", 400, "invalid"},
		{"bad wait", "GET", "/v1/services/a?index=1&wait=forever", "", 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := call(t, h, tc.method, tc.target, "", tc.body, nil)
			assert.Equal(t, tc.status, rec.Code, "answer: %s", rec.Body.String())
			assert.Equal(t, tc.code, errorCode(t, rec))
		})
	}
	rec := call(t, h, "GET", "/v1/register", "", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "routes are method-specific")
	assert.Empty(t, r.Services(), "nothing was registered")
	assert.Panics(t, func() { Handler(r, HandlerConfig{MaxWatches: -1}) }, "a negative limit is a programming error")
}

func TestHandlerBlockingQuery(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		h := Handler(r, HandlerConfig{MaxWatches: 2, MaxWait: time.Minute})
		register(t, r, inst("api", "a"), time.Hour)
		rev := strconv.FormatUint(r.Lookup("api").Revision, 10)
		epoch := strconv.FormatUint(r.Epoch(), 10)

		// A query from another registry life answers at once.
		start := time.Now()
		rec := call(t, h, "GET", "/v1/services/api?index="+rev+"&epoch=12345&wait=1m", "", "", nil)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Zero(t, time.Since(start), "a foreign epoch answers at once")

		// The same epoch blocks until a change.
		var wg sync.WaitGroup
		results := make(chan *httptest.ResponseRecorder, 2)
		for range 2 {
			wg.Go(func() {
				results <- call(t, h, "GET", "/v1/services/api?index="+rev+"&epoch="+epoch+"&wait=10m", "", "", nil)
			})
		}
		synctest.Wait()
		rec = call(t, h, "GET", "/v1/services/api?index="+rev+"&wait=1m", "", "", nil)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a third long poll exceeds MaxWatches")
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Equal(t, "unavailable", errorCode(t, rec))

		time.Sleep(time.Second)
		register(t, r, inst("api", "b"), time.Hour)
		wg.Wait()
		for range 2 {
			rec := <-results
			var snap snapshotJSON
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &snap))
			assert.Len(t, snap.Instances, 2, "the long poll answers with the new state")
		}
		assert.Equal(t, time.Second, time.Since(start), "it answered at the change")

		// MaxWait caps a longer wait.
		rev = strconv.FormatUint(r.Lookup("api").Revision, 10)
		start = time.Now()
		call(t, h, "GET", "/v1/services/api?index="+rev+"&epoch="+epoch+"&wait=1h", "", "", nil)
		assert.Less(t, time.Since(start), time.Minute+time.Minute/16, "wait is capped by MaxWait")

		// Closing the registry ends long polls.
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- call(t, h, "GET", "/v1/services/api?index="+rev+"&wait=1m", "", "", nil) }()
		synctest.Wait()
		require.NoError(t, r.Close())
		rec = <-done
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "closed", errorCode(t, rec))
	})
}

func TestHandlerCanceledRequest(t *testing.T) {
	synctestRegistry(t, Config{}, func(t *testing.T, r *Registry) {
		h := Handler(r, HandlerConfig{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, "GET", "/v1/services/api?index=1&wait=1m", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a request whose client left ends")
		assert.Equal(t, time.Second, time.Since(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)))
	})
}

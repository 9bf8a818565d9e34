package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

var registrationSeeds = []string{
	`{"instance":{"service":"api","id":"a","address":"10.0.0.1:80"}}`,
	`{"instance":{"service":"api","id":"a","address":"10.0.0.1:80","zone":"z","weight":3,"metadata":{"k":"v"},"status":"warning","draining":true},"ttl":"15s","token":"t"}`,
	`{"instance":{"service":"api","id":"a","address":"10.0.0.1:80"},"check":{"http":"http://10.0.0.1/h","interval":"1s","timeout":"500ms","failures_before_critical":2}}`,
	`{"instance":{"service":"api","id":"a","address":"a:1"},"check":{"tcp":"a:1"}}`,
	`{"instance":{"service":"api","id":"a","address":"a:1","status":"bogus"}}`,
	`{"instance":{"service":"api","id":"a","address":"a:1"},"ttl":"-5s"}`,
	`{"instance":{"service":"api","id":"a","address":"a:1"},"ttl":"99999999999999999999h"}`,
	`{"instance":{"weight":1e400}}`,
	`{"instance":{"metadata":{"a":"b","a":"c"}}}`,
	`{"instance":{}} {"instance":{}}`,
	`[]`, `null`, `{`, ``, `{"unknown":1}`,
	`{"instance":{"service":"\u0000","id":"\ud800","address":"\xff"}}`,
}

var leaseSeeds = []string{
	`{"service":"api","id":"a","token":"t"}`,
	`{"service":"api","id":"a","token":"t","status":"critical"}`,
	`{"service":"api","id":"a","token":"t","draining":true}`,
	`{"service":"api"}`, `{"service":"api","id":"a","status":7}`, `{"id":1}`, `{}`,
}

// normalizeEmpty makes empty metadata nil, which JSON cannot tell apart.
func normalizeEmpty(reg Registration) Registration {
	if len(reg.Instance.Metadata) == 0 {
		reg.Instance.Metadata = nil
	}
	return reg
}

// FuzzDecodeRegistration feeds arbitrary bytes to the register decoder: it
// must never panic, must bound what it reads, and whatever it accepts must
// survive validation without panicking and round-trip through its encoding.
func FuzzDecodeRegistration(f *testing.F) {
	for _, s := range registrationSeeds {
		f.Add([]byte(s))
	}
	cfg := Config{}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		reader := &countingReader{r: bytes.NewReader(data)}
		reg, err := decodeRegistration(reader, 4096)
		if reader.n > 4096+1 {
			t.Fatalf("read %d bytes with a 4096-byte limit", reader.n)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrLimit", err)
			}
			return
		}
		if _, err := normalizeRegistration(reg, cfg); err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) {
			t.Fatalf("validation error %v wraps neither ErrInvalid nor ErrLimit", err)
		}
		body, err := json.Marshal(encodeRegistration(reg))
		if err != nil {
			if reg.Instance.Status > StatusCritical {
				return
			}
			t.Fatalf("re-encoding an accepted registration: %v", err)
		}
		back, err := decodeRegistration(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
		if !reflect.DeepEqual(normalizeEmpty(reg), normalizeEmpty(back)) {
			t.Fatalf("round trip changed the registration:\n%+v\n%+v", reg, back)
		}
	})
}

// FuzzDecodeLeaseRequest does the same for heartbeat, drain and deregister
// bodies.
func FuzzDecodeLeaseRequest(f *testing.F) {
	for _, s := range leaseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeLeaseRequest(bytes.NewReader(data), 1024)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrLimit", err)
			}
			return
		}
		if req.Service == "" || req.ID == "" || len(req.Service) > MaxNameBytes || len(req.ID) > MaxNameBytes {
			t.Fatalf("accepted an incomplete or oversized request %+v", req)
		}
	})
}

// FuzzHandler sends arbitrary requests to a live Handler: every answer is
// a known status with a JSON body (or none for 204), never a panic, and
// the registry stays within its limits.
func FuzzHandler(f *testing.F) {
	for _, s := range registrationSeeds {
		f.Add("POST", "/v1/register", []byte(s))
	}
	for _, s := range leaseSeeds {
		f.Add("POST", "/v1/heartbeat", []byte(s))
		f.Add("POST", "/v1/deregister", []byte(s))
		f.Add("POST", "/v1/drain", []byte(s))
	}
	f.Add("GET", "/v1/services/api?index=2&wait=1ms", []byte{})
	f.Add("GET", "/v1/services/api?index=18446744073709551615&epoch=1&wait=1ms", []byte{})
	f.Add("GET", "/v1/services", []byte{})
	f.Add("GET", "/v1/services/%zz", []byte{})
	r := New(Config{MaxServices: 16, MaxInstances: 16, MaxQueryWait: time.Millisecond})
	defer r.Close()
	h := Handler(r, HandlerConfig{MaxBodyBytes: 4096, MaxWait: time.Millisecond})
	known := map[int]bool{200: true, 204: true, 301: true, 307: true, 308: true, 400: true, 401: true, 403: true, 404: true, 405: true, 409: true, 413: true, 503: true}
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		if method != "GET" && method != "POST" {
			method = "POST"
		}
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n#") {
			return
		}
		req, err := http.NewRequest(method, "http://registry"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !known[rec.Code] {
			t.Fatalf("%s %s answered %d", method, target, rec.Code)
		}
		// The mux answers unknown routes (404, 405) and path cleaning
		// (301, 307, 308) in plain text or HTML; every
		// other answer but 204 is JSON.
		isJSON := rec.Header().Get("Content-Type") == "application/json"
		mustBeJSON := rec.Code != http.StatusNoContent && rec.Code != http.StatusNotFound &&
			rec.Code != http.StatusMethodNotAllowed && rec.Code/100 != 3
		if (isJSON || mustBeJSON) && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s answered %d with non-JSON %q", method, target, rec.Code, rec.Body.String())
		}
		if st := r.Stats(); st.Services > 16 || st.Instances > 16*16 {
			t.Fatalf("limits exceeded: %+v", st)
		}
	})
}

// FuzzClientAnswer feeds arbitrary bytes to the client's answer decoder.
func FuzzClientAnswer(f *testing.F) {
	f.Add([]byte(`{"service":"api","revision":3,"epoch":9,"instances":[{"service":"api","id":"a","address":"a:1","status":"passing"}]}`))
	f.Add([]byte(`{"service":"api","revision":3,"instances":[{"status":"nope"}]}`))
	f.Add([]byte(`{"error":"x","code":"lease_not_found"}`))
	f.Add([]byte(strings.Repeat("[", 10000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var snap snapshotJSON
		err := decodeAnswer(bytes.NewReader(data), 1<<16, &snap)
		if len(data) > 1<<16 && !errors.Is(err, ErrLimit) {
			t.Fatalf("an oversized answer was accepted")
		}
		var e errorJSON
		_ = decodeAnswer(bytes.NewReader(data), 1<<16, &e)
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDecodeBoundsMemory(t *testing.T) {
	huge := &countingReader{r: io.MultiReader(strings.NewReader(`{"instance":{"id":"`), strings.NewReader(strings.Repeat("x", 10<<20)))}
	_, err := decodeRegistration(huge, 64<<10)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("a 10 MiB body must hit the limit, got %v", err)
	}
	if huge.n > 64<<10+1 {
		t.Fatalf("read %d bytes of a 10 MiB body with a 64 KiB limit", huge.n)
	}
}

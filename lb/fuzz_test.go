package lb

import (
	"encoding/binary"
	"errors"
	"net/url"
	"testing"
)

// FuzzSchedule checks the smoothness guarantee for weight sets built from
// arbitrary bytes (two bytes per weight).
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{0, 100, 0, 1, 0, 1})
	f.Add([]byte{0, 3, 0, 74, 0, 1, 0, 1, 0, 1, 0, 1, 0, 2, 0, 1, 0, 1, 0, 3, 0, 3, 0, 56, 0, 3, 0, 3, 0, 3})
	f.Add([]byte{255, 255, 0, 1})
	f.Add([]byte{0, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || len(data) > 400 {
			return
		}
		raw := make([]uint64, len(data)/2)
		for i := range raw {
			raw[i] = uint64(binary.BigEndian.Uint16(data[2*i:])) + 1
		}
		w, total := reduceWeights(raw, 1<<16)
		checkSmooth(t, w, total, pfairSchedule(w, total))
	})
}

// FuzzUpdate feeds arbitrary endpoints to Update: it must either reject
// them with ErrInvalidEndpoint, leaving the set as it was, or accept them
// and pick only them, with addresses Transport can turn into URLs.
func FuzzUpdate(f *testing.F) {
	f.Add("10.0.0.1:80", 1, "eu", "http://10.0.0.2:80", 0)
	f.Add("", 0, "", "x", -1)
	f.Add("https://a", 7, "z", "https://a", 7)
	f.Add("a b", 1, "", "ftp://x", 1)
	f.Add("http://h/p", 2, "", "h:1", MaxWeight+1)
	f.Add("[fe80::1%25eth0]:80", 1, "", "[::1]:1", 1)
	f.Fuzz(func(t *testing.T, addr1 string, w1 int, zone string, addr2 string, w2 int) {
		b := New(Config{})
		keep := []Endpoint{{Addr: "keep:1"}}
		if err := b.Update(keep); err != nil {
			t.Fatal(err)
		}
		eps := []Endpoint{{Addr: addr1, Weight: w1, Zone: zone}, {Addr: addr2, Weight: w2}}
		if err := b.Update(eps); err != nil {
			if !errors.Is(err, ErrInvalidEndpoint) {
				t.Fatalf("Update error %v does not wrap ErrInvalidEndpoint", err)
			}
			p, perr := b.Pick()
			if perr != nil || p.Addr() != "keep:1" {
				t.Fatalf("a rejected Update changed the set: %v %q", perr, p.Addr())
			}
			return
		}
		for range 4 {
			p, err := b.Pick()
			if err != nil {
				t.Fatal(err)
			}
			if p.Addr() != addr1 && p.Addr() != addr2 {
				t.Fatalf("picked %q, not one of the endpoints", p.Addr())
			}
			scheme := p.m.scheme
			if scheme == "" {
				scheme = "http"
			}
			built := (&url.URL{Scheme: scheme, Host: p.m.host, Path: "/"}).String()
			if u, err := url.Parse(built); err != nil || u.Host != p.m.host {
				t.Fatalf("accepted address %q makes URL %q that does not parse back: %v", p.Addr(), built, err)
			}
			p.Done(nil)
		}
	})
}

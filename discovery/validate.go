package discovery

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"time"
	"unicode/utf8"
)

// normalizeRegistration checks a registration against the limits and fills
// defaults. The returned registration owns a private copy of the metadata,
// so the caller may reuse its map.
func normalizeRegistration(reg Registration, cfg Config) (Registration, error) {
	inst := &reg.Instance
	if err := validServiceName(inst.Service); err != nil {
		return reg, err
	}
	for _, f := range []struct{ name, value string }{
		{"instance ID", inst.ID}, {"address", inst.Address},
	} {
		if f.value == "" {
			return reg, fmt.Errorf("%w: %s is empty", ErrInvalid, f.name)
		}
		if err := validText(f.name, f.value); err != nil {
			return reg, err
		}
	}
	if err := validText("zone", inst.Zone); err != nil {
		return reg, err
	}
	if inst.Weight < 0 || inst.Weight > MaxWeight {
		return reg, fmt.Errorf("%w: weight %d outside [0, %d]", ErrInvalid, inst.Weight, MaxWeight)
	}
	if inst.Weight == 0 {
		inst.Weight = 1
	}
	if inst.Status > StatusCritical {
		return reg, fmt.Errorf("%w: status %d", ErrInvalid, inst.Status)
	}
	if err := validMetadata(inst.Metadata); err != nil {
		return reg, err
	}
	if len(inst.Metadata) == 0 {
		inst.Metadata = nil
	} else {
		inst.Metadata = maps.Clone(inst.Metadata)
	}
	inst.Suspect = false
	inst.ModRevision = 0

	switch {
	case reg.TTL == 0:
		reg.TTL = cfg.DefaultTTL
	case reg.TTL < cfg.MinTTL || reg.TTL > cfg.MaxTTL:
		return reg, fmt.Errorf("%w: TTL %s outside [%s, %s]", ErrInvalid, reg.TTL, cfg.MinTTL, cfg.MaxTTL)
	}
	if len(reg.Token) > MaxNameBytes {
		return reg, fmt.Errorf("%w: token longer than %d bytes", ErrInvalid, MaxNameBytes)
	}
	if reg.Check != nil {
		c, err := normalizeCheck(*reg.Check)
		if err != nil {
			return reg, err
		}
		reg.Check = &c
	}
	return reg, nil
}

// validServiceName accepts 1 to MaxNameBytes of letters, digits, '-', '_'
// and '.': names travel in URL paths and DNS names.
func validServiceName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: service name is empty", ErrInvalid)
	}
	if len(name) > MaxNameBytes {
		return fmt.Errorf("%w: service name longer than %d bytes", ErrInvalid, MaxNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: service name %.64q: only letters, digits, '-', '_' and '.' are allowed", ErrInvalid, name)
		}
	}
	return nil
}

// validText accepts up to MaxNameBytes of valid UTF-8 without control
// characters.
func validText(what, s string) error {
	if len(s) > MaxNameBytes {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, MaxNameBytes)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s %.64q contains a control character", ErrInvalid, what, s)
		}
	}
	return nil
}

func validMetadata(md map[string]string) error {
	if len(md) > MaxMetadataEntries {
		return fmt.Errorf("%w: %d metadata entries, at most %d", ErrLimit, len(md), MaxMetadataEntries)
	}
	total := 0
	for k, v := range md {
		if k == "" {
			return fmt.Errorf("%w: empty metadata key", ErrInvalid)
		}
		if err := validText("metadata key", k); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: metadata value of %.64q is not valid UTF-8", ErrInvalid, k)
		}
		total += len(k) + len(v)
	}
	if total > MaxMetadataBytes {
		return fmt.Errorf("%w: %d bytes of metadata, at most %d", ErrLimit, total, MaxMetadataBytes)
	}
	return nil
}

func normalizeCheck(c Check) (Check, error) {
	switch {
	case (c.HTTP == "") == (c.TCP == ""):
		return c, fmt.Errorf("%w: a check sets exactly one of HTTP and TCP", ErrInvalid)
	case c.HTTP != "":
		if err := validText("check URL", c.HTTP); err != nil {
			return c, err
		}
		u, err := url.Parse(c.HTTP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("%w: check URL %.64q is not an absolute http(s) URL", ErrInvalid, c.HTTP)
		}
	default:
		if err := validText("check address", c.TCP); err != nil {
			return c, err
		}
		if _, _, err := net.SplitHostPort(c.TCP); err != nil {
			return c, fmt.Errorf("%w: check address %.64q is not host:port", ErrInvalid, c.TCP)
		}
	}
	if c.Interval == 0 {
		c.Interval = 10 * time.Second
	}
	if c.Interval < MinCheckInterval {
		return c, fmt.Errorf("%w: check interval %s below %s", ErrInvalid, c.Interval, MinCheckInterval)
	}
	if c.Timeout == 0 {
		c.Timeout = min(5*time.Second, c.Interval)
	}
	if c.Timeout < 0 || c.Timeout > c.Interval {
		return c, fmt.Errorf("%w: check timeout %s outside (0, interval]", ErrInvalid, c.Timeout)
	}
	if c.FailuresBeforeCritical == 0 {
		c.FailuresBeforeCritical = 1
	}
	if c.FailuresBeforeCritical < 0 || c.FailuresBeforeCritical > 100 {
		return c, fmt.Errorf("%w: FailuresBeforeCritical %d outside [1, 100]", ErrInvalid, c.FailuresBeforeCritical)
	}
	return c, nil
}

// checkTarget returns the host an active check would contact.
func checkTarget(c *Check) string {
	if c.TCP != "" {
		host, _, _ := net.SplitHostPort(c.TCP)
		return host
	}
	u, err := url.Parse(c.HTTP)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

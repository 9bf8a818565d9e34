package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// inventoryService is one inventory shard: it holds the stock of the SKUs
// the ring gives it. Reservations are idempotent per order and SKU, so a
// repeated request never holds two units.
type inventoryService struct {
	mu    sync.Mutex
	stock map[string]int      // units free, by SKU
	held  map[string]struct{} // "order/sku" reservations
}

func newInventoryService() *inventoryService {
	return &inventoryService{stock: make(map[string]int), held: make(map[string]struct{})}
}

type stockRequest struct {
	Order string `json:"order,omitempty"`
	SKU   string `json:"sku"`
	Units int    `json:"units,omitempty"`
}

func (s *inventoryService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req stockRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.SKU == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.Order + "/" + req.SKU
	_, holding := s.held[key]
	switch r.URL.Path {
	case "/stock":
		s.stock[req.SKU] += req.Units
	case "/reserve":
		if holding {
			break
		}
		if s.stock[req.SKU] == 0 {
			http.Error(w, req.SKU+" out of stock", http.StatusConflict)
			return
		}
		s.stock[req.SKU]--
		s.held[key] = struct{}{}
	case "/release":
		if holding {
			s.stock[req.SKU]++
			delete(s.held, key)
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

var errOutOfStock = errors.New("out of stock")

// inventoryClient sends each SKU's requests to the shard that owns it.
type inventoryClient struct {
	http   *http.Client
	shards *shardMap
}

// call posts req to the shard that owns req.SKU and returns that shard.
func (c *inventoryClient) call(ctx context.Context, path string, req stockRequest) (string, error) {
	shard, addr, err := c.shards.locate(req.SKU)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return shard, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return shard, err
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return shard, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusNoContent:
		return shard, nil
	case http.StatusConflict:
		return shard, fmt.Errorf("%s %w", req.SKU, errOutOfStock)
	}
	return shard, fmt.Errorf("%s answered %s", shard, resp.Status)
}

func (c *inventoryClient) restock(ctx context.Context, sku string, units int) (string, error) {
	return c.call(ctx, "/stock", stockRequest{SKU: sku, Units: units})
}

func (c *inventoryClient) reserve(ctx context.Context, order, sku string) (string, error) {
	return c.call(ctx, "/reserve", stockRequest{Order: order, SKU: sku})
}

func (c *inventoryClient) release(ctx context.Context, order, sku string) (string, error) {
	return c.call(ctx, "/release", stockRequest{Order: order, SKU: sku})
}

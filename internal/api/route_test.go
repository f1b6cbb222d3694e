package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/event"
)

// TestRoute checks POST /api/v1/route: the token, the order's validation
// (with event_id and ts filled in when absent), and that the decision of
// the routing function comes back as the body. The routing function here
// echoes what it was given; the routing processor's own WhatIf is tested
// in pipelines/routing against real pipelines.
func TestRoute(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var got atomic.Pointer[event.Order]
	var unavailable atomic.Bool
	srv, err := Listen(Config{
		Addr: "127.0.0.1:0", ReadToken: "r-token", AdminToken: "a-token", Now: func() time.Time { return now },
		Route: func(_ context.Context, o *event.Order) (event.RoutingDecision, error) {
			if unavailable.Load() {
				return event.RoutingDecision{}, errors.New("routing: the view is still catching up")
			}
			got.Store(o)
			return event.RoutingDecision{OrderID: o.OrderID, Status: event.RoutingRouted, TS: o.TS,
				Assignments: []event.RoutingAssignment{{Warehouse: "WH01", SKU: o.Lines[0].SKU, Qty: o.Lines[0].Qty, Package: 1}}}, nil
		},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	const order = `{"order_id":"Q-1","lines":[{"sku":"SKU-000001","qty":2}],"ship_to":{"postal_code":"10001","country":"US","lat":40.75,"lon":-73.99},"service_level":"standard","promised_by":"2030-01-09T00:00:00Z"}`
	post := func(token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+srv.Addr()+"/api/v1/route", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, token, body string
		code              int
		want              string // in the body
	}{
		{"no token", "", order, http.StatusUnauthorized, "bearer token"},
		{"wrong token", "nope", order, http.StatusUnauthorized, "bearer token"},
		{"not JSON", "r-token", `{"order_id":`, http.StatusBadRequest, "malformed_json"},
		{"no lines", "r-token", strings.Replace(order, `"lines":[{"sku":"SKU-000001","qty":2}],`, "", 1), http.StatusBadRequest, "missing_field"},
		{"negative qty", "r-token", strings.Replace(order, `"qty":2`, `"qty":-2`, 1), http.StatusBadRequest, "negative_qty"},
		{"read token", "r-token", order, http.StatusOK, `"status":"routed"`},
		{"admin token", "a-token", order, http.StatusOK, `"warehouse":"WH01"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.token, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s; want %d with %q", code, body, tc.code, tc.want)
			}
		})
	}
	if o := got.Load(); o == nil || o.EventID != "what-if" || !o.TS.Equal(now) || o.Lines[0].Qty != 2 {
		t.Errorf("routing got %+v; want the order with event_id what-if and ts now", o)
	}
	var d event.RoutingDecision
	if _, body := post("r-token", order); json.Unmarshal([]byte(body), &d) != nil || d.OrderID != "Q-1" {
		t.Errorf("body %s is not the decision", body)
	}
	unavailable.Store(true)
	if code, body := post("r-token", order); code != http.StatusServiceUnavailable || !strings.Contains(body, "catching up") {
		t.Errorf("routing unavailable: %d %s; want 503 with the reason", code, body)
	}
}

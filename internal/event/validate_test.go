package event

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

func TestCheckerValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Checker
		ok   bool
	}{
		{"zero", Checker{}, true},
		{"set", Checker{Warehouses: map[WarehouseID]struct{}{}, MaxFuture: time.Minute, MaxBytes: 1 << 20}, true},
		{"negative future", Checker{MaxFuture: -time.Second}, false},
		{"negative bytes", Checker{MaxBytes: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestCheckSize(t *testing.T) {
	tests := []struct {
		name string
		c    Checker
		n    int
		ok   bool
	}{
		{"default limit", Checker{}, DefaultMaxBytes, true},
		{"over default limit", Checker{}, DefaultMaxBytes + 1, false},
		{"empty", Checker{}, 0, true},
		{"own limit", Checker{MaxBytes: 100}, 100, true},
		{"over own limit", Checker{MaxBytes: 100}, 101, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.CheckSize(tc.n)
			if tc.ok && err != nil {
				t.Fatalf("CheckSize(%d) = %v", tc.n, err)
			}
			if !tc.ok && ReasonOf(err) != ReasonOversize {
				t.Fatalf("CheckSize(%d) = %v, want oversize", tc.n, err)
			}
		})
	}
}

func TestChecker(t *testing.T) {
	now := testNow
	reg := map[WarehouseID]struct{}{"A": {}, "B": {}}
	tests := []struct {
		name   string
		c      Checker
		event  any
		reason Reason
		field  string
	}{
		{"no registry accepts any warehouse", Checker{}, &Sale{Warehouse: "Z", TS: now}, "", ""},
		{"registry accepts known", Checker{Warehouses: reg}, &Sale{Warehouse: "A", TS: now}, "", ""},
		{"registry rejects unknown", Checker{Warehouses: reg}, &Stock{Warehouse: "C", TS: now}, ReasonUnknownWarehouse, "warehouse"},
		{"empty registry accepts any", Checker{Warehouses: map[WarehouseID]struct{}{}}, &Sale{Warehouse: "A", TS: now}, "", ""},
		{"unknown warehouse before future", Checker{Warehouses: reg}, &Sale{Warehouse: "C", TS: now.Add(24 * time.Hour)}, ReasonUnknownWarehouse, "warehouse"},
		{"default skew edge", Checker{}, &Sale{TS: now.Add(DefaultMaxFuture)}, "", ""},
		{"default skew exceeded", Checker{}, &Stock{TS: now.Add(DefaultMaxFuture + time.Nanosecond)}, ReasonFutureTimestamp, "ts"},
		{"own skew", Checker{MaxFuture: time.Minute}, &Order{TS: now.Add(2 * time.Minute)}, ReasonFutureTimestamp, "ts"},
		{"past is fine", Checker{MaxFuture: time.Nanosecond}, &Order{TS: now.Add(-24 * 365 * time.Hour)}, "", ""},
		{"order promised_by may be future", Checker{}, &Order{TS: now, PromisedBy: now.Add(72 * time.Hour)}, "", ""},
		{"campaign future window is fine", Checker{}, &Campaign{TS: now, Start: now.Add(240 * time.Hour), End: now.Add(480 * time.Hour)}, "", ""},
		{"campaign warehouses", Checker{Warehouses: reg}, &Campaign{TS: now, Warehouses: []WarehouseID{"A", "X"}}, ReasonUnknownWarehouse, "warehouses[1]"},
		{"campaign future", Checker{Warehouses: reg}, &Campaign{TS: now.Add(2 * time.Hour), Warehouses: []WarehouseID{"B"}}, ReasonFutureTimestamp, "ts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkEvent(&tc.c, tc.event, now)
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			var e *Error
			if errors.As(err, &e) && e.Field != tc.field {
				t.Errorf("field %q, want %q", e.Field, tc.field)
			}
		})
	}
}

func TestErrorAndReasonOf(t *testing.T) {
	e := &Error{Reason: ReasonNegativeQty, Field: "lines[0].qty", Msg: "must be > 0, got -1"}
	tests := []struct {
		name   string
		err    error
		reason Reason
		text   string
	}{
		{"nil", nil, "", ""},
		{"other", io.EOF, "", "EOF"},
		{"direct", e, ReasonNegativeQty, "negative_qty lines[0].qty: must be > 0, got -1"},
		{"wrapped", fmt.Errorf("decode sale: %w", e), ReasonNegativeQty, "decode sale: negative_qty lines[0].qty: must be > 0, got -1"},
		{"no field", &Error{Reason: ReasonOversize, Msg: "too big"}, ReasonOversize, "oversize: too big"},
		{"reason only", &Error{Reason: ReasonDuplicateEvent}, ReasonDuplicateEvent, "duplicate_event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReasonOf(tc.err); got != tc.reason {
				t.Errorf("ReasonOf = %q, want %q", got, tc.reason)
			}
			if tc.err != nil && tc.err.Error() != tc.text {
				t.Errorf("Error() = %q, want %q", tc.err.Error(), tc.text)
			}
		})
	}
}

func TestReasons(t *testing.T) {
	want := []string{"malformed_json", "missing_field", "wrong_type", "invalid_value", "negative_qty",
		"unknown_warehouse", "future_timestamp", "oversize", "duplicate_event"}
	got := Reasons()
	if len(got) != len(want) {
		t.Fatalf("Reasons() = %v", got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("Reasons()[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}

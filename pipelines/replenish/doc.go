// Package replenish is the replenishment pipeline: it keeps the inventory
// position of every (SKU, warehouse) — on hand + on order + in transit −
// backorders − reserved, counting every open reorder and transfer — learns
// lead times per supplier × warehouse from receipts, sizes reorder points
// and safety stock from the forecast quantiles over the lead time for a
// cycle-service (α) or fill-rate (β) target, and emits reorders and lateral
// transfer proposals on stockflow.reorders.v1 with deterministic ids, at
// most one open reorder per (SKU, warehouse) at a time (DESIGN §3
// invariant 5).
//
// The policy core (policy.go, safety.go, lead.go, class.go, transfer.go) is
// pure: no I/O, no clock. The same code drives the streaming processor
// (processor.go) and `stockflow bench replenish`.
//
// The package must not import the ClickHouse driver or the store, nor other
// pipelines.
package replenish

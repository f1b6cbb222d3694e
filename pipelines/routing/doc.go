// Package routing decides which warehouse(s) fulfil a web order (DESIGN §7
// Routing): eligibility first — a carrier lane from the warehouse to the
// ship-to point that arrives by the promised date, available stock after
// reservations, the warehouse's remaining daily capacity in orders and
// units, at most Config.MaxSplits extra packages — then the assignment of
// least total cost:
//
//   - shipping: per package, the cheapest rate-card option of the lane
//     that arrives in time, base + per-kg price of the band the
//     great-circle distance falls in (cost.go);
//   - handling: per package and per unit, per warehouse;
//   - split: Config.SplitPenalty per package beyond the first;
//   - opportunity: for every (SKU, warehouse) drawn from, the expected
//     extra shortage the draw creates before the location's next receipt
//     (over min(horizon, days to the receipt), default horizon 14 days)
//     times the shortage cost per unit, E[short | stock − q] −
//     E[short | stock], with the demand over that window normal, its mean
//     and spread taken from the daily forecast quantiles
//     (opportunity.go);
//   - backorder: when the order waits instead, the shortage cost of its
//     units (a lost sale, as far as this cost model is concerned) plus
//     Config.BackorderCost.
//
// Route decides one order in microseconds (single-warehouse assignments,
// then splits over warehouse subsets with a bound, each subset filled unit
// by unit at the least marginal cost). Batch decides the orders of one
// region and window jointly, stock and capacity shared: sequential
// decisions improved by best-response and pair re-insertion moves until
// none lowers the batch's cost. Exact finds the proven optimum of a small
// batch by branch and bound over every integer assignment of every order
// (see exact.go for what "exact" means and its limits). Every decision
// carries its cost breakdown, which adds up to its total, and the three
// best alternatives it turned down.
//
// The cost model and the deciders (config.go, cost.go, opportunity.go,
// route.go, batch.go, exact.go, batcher.go, state.go) are pure: no I/O and
// no clock (the order's own ts and promised_by give the time budget).
// `stockflow bench routing` runs them against nearest-warehouse routing
// and the exact batch optimum.
//
// The streaming processor (processor.go, view.go, record.go) runs them
// exactly once over Kafka. It routes the orders the stock pipeline
// accepted (stockflow.accepted.v1), those of one region within the batch
// window jointly, on a replicated view of every ledger's available stock
// (the stock changelog), the forecasts and the capacity used today
// (stockflow.routing.v1). A decision that ships reserves its units with
// one request per (SKU, warehouse) on stockflow.reservations.v1; the stock
// partition that owns the SKU accepts or rejects it (DESIGN §3 invariant
// 4: that single writer is what prevents oversell, whatever the view
// knew). When every result is in, the order's decision is final; when one
// is rejected, the accepted ones are released, the attempt is recorded as
// not final, and the order is routed again, at most
// ProcessorConfig.MaxAttempts times before it is backordered. Orders
// awaiting results live in stockflow.routing-changelog.v1.
//
// The package must not import the ClickHouse driver or the store, nor
// other pipelines.
package routing

// Package sim is the simulator behind `stockflow simulate` and `stockflow
// run`: it plays the shops and marketplaces, the warehouse management systems
// and the suppliers, and produces the upstream records of the sales, stock,
// orders and campaigns topics (DESIGN.md §2, §6), including a small share of
// bad ones labeled with the DLQ reason the pipeline must give them.
//
// It imports only the standard library and internal/event; it must not
// import Kafka, ClickHouse, the pipelines or the models, so that it can be
// the independent ground truth they are tested against.
//
// # Determinism
//
// Everything is drawn from one PCG generator seeded from Config.Seed, in a
// fixed processing order, with no map iteration: the same Config (and, in
// the closed loop, the same Sim.Order calls) gives byte-identical records. The wall clock enters only through the default
// Start (today minus Days) and, in Live, through the clock passed in (the
// ts of every record) and the pacing; the sequence of events Live produces
// is still a function of the seed.
//
// # Live and restarts
//
// Live runs the same model on a compressed clock: simulated time advances as
// fast as it takes to produce Config.LiveRate records per second, and every
// record carries ts = now(). A Sim that goes live without having run History
// first replays the history silently (it is deterministic; in the closed
// loop, see below, only given the same Order calls), so a restarted
// process continues from the end of the history its predecessor produced;
// what the predecessor's Live produced is not replayed, and the next cycle
// counts bring the levels back in line. Config.RunID keeps the ids that Live
// creates apart from an earlier process's.
//
// # Time line
//
// Each simulated UTC day is generated in one go (demand, warehouse chores,
// announcements) onto a priority queue ordered by (time, creation); the
// queue also holds what earlier days scheduled (shipments, receipts,
// transfers, returns). Items are processed in time order and every record is
// emitted at its own time, so records are in event-time order, across topics
// too. Timestamps have millisecond precision. Hour-of-day profiles are in the
// warehouse's local standard time (no DST), wrapped into the same UTC day.
//
// # Network and catalog
//
// Warehouses WH01..WHnn are fixed sites in US-West, US-Central, US-East,
// EU-West, EU-Central, EU-South and EU-North with real coordinates; store and
// marketplace sales are in USD in the US and EUR in Europe (list prices are
// USD, converted at a fixed rate). SKUs SKU-000001.. fall into ten
// categories (grocery, beverages, household, personal-care, electronics,
// toys, apparel, garden, sports, books), each with its price level, weekly
// profile (weekend peaks for toys, apparel, garden, sports), yearly season
// (summer drinks, spring garden, a December and Black Friday bump for
// electronics, toys and books), basket size, web share, return rate, case
// pack and price elasticity. Suppliers (one per 40 SKUs, at most 50) have a
// home continent and lead times of 3-14 days: a mean per supplier and
// warehouse (+4 days across the Atlantic) and a spread per supplier.
//
// # Demand
//
// Expected units per (SKU, warehouse) and day = base rate × trend ×
// weekly season × yearly season × price effect × promotion uplift. Base
// rates are heavy-tailed (log-normal, median 0.45 units/day per warehouse, a
// few fast movers at tens to hundreds), scaled by warehouse size and a
// per-warehouse affinity. About 20% of SKUs are intermittent slow movers:
// on most days nothing, otherwise one demand of a few units (Croston-type).
// Day-level noise is log-normal (σ 0.3) on top of Poisson counts. Regular
// demand splits into store and marketplace transactions of 1..k units at a
// warehouse, and web order lines from customers in the warehouse's
// catchment. Prices move now and then (markdowns, increases) with the
// category's elasticity.
//
// Campaigns are announced 3-10 days before they start and run 3-14 days on a
// category in one or two regions, or on a SKU list in some warehouses. They
// discount the price by 10-30% and announce expected_uplift (relative, 0.5
// meaning +50%); the realized uplift is the announced one times a log-normal
// factor (σ 0.08) and ±5% per key.
//
// # Web orders and the warehouse management system
//
// Web lines are grouped in time order into orders of 1-4 lines shipping to a
// population center (postal code, country, jittered coordinates), standard
// (promised in 5 days) or express (2 days). Routing does not exist yet, so
// the simulated WMS is a plain stand-in: it reserves the whole order at the
// nearest warehouse on the customer's continent that has every line
// available, else each line at the nearest one that has it; lines no
// warehouse has are lost. It ships 1-10 h later (express 15-90 min) and then
// emits the sales, channel "web", with the order_id. When routing arrives,
// `stockflow run` should let its decisions replace this rule.
//
// # Stock
//
// The simulator keeps the physical stock of every (SKU, warehouse) as its
// ground truth and never sells more than is physically available (on hand
// minus reservations): demand beyond that is lost and produces no record —
// the censored demand forecasting must handle. Day one opens with a count
// (the opening balance) of every key at Start. Then: receipts (ref = PO id)
// from a naive supplier (unless stockflow orders instead, see the closed
// loop below), who reviews the recorded inventory position
// (recorded on hand − reserved + on order + in transit) after every
// decrease and orders up to S in case packs when it falls to s, with s and S
// set from a misjudged mean demand and the mean lead time (so seasonality
// and promotions cause stockouts); 7% of deliveries are short. Customer
// returns (ref = order id for web sales) come back 2-30 days after a sale.
// Damage and signed adjustments happen now and then; shrinkage removes
// units without a record, so the recorded level drifts above the physical
// one until the next cycle count (every 14, 30 or 60 days by velocity),
// which reports the true physical level. A daily sweep moves stock by
// transfer_out/transfer_in pairs (ref = transfer id, 1-3 days in transit)
// to a stocked-out key with no receipt due within three days from the
// warehouse on the same continent with most above its reorder point.
//
// # Suppliers and the closed loop
//
// The naive supplier and the sweep stand for the era before stockflow.
// With Config.ExternalReplenishment, from day Config.ExternalFrom (0: from
// Start; a day beyond the history switches in Live) the simulator makes
// neither purchase orders nor transfers of its own: the suppliers deliver
// and the warehouses transfer only what Sim.Order asks, the reorders
// stockflow's replenishment pipeline emits on stockflow.reorders.v1 (kind
// purchase or transfer, status ordered; other statuses are ignored, and a
// reorder id acts once, so replays are harmless). A purchase is received
// after a lead time sampled as for the naive supplier (3-14 days, counted
// from the day it is placed, at a daytime hour local to the warehouse, 7%
// short), as a receipt with ref = reorder id; a transfer leaves its source
// at once with what is available there of the quantity (transfer_out, ref
// = reorder id; nothing if nothing is available) and arrives a day later
// in the same region, 2-3 days later otherwise (transfer_in, same ref and
// quantity). What was ordered before ExternalFrom still arrives.
//
// Config.OnDayEnd steps the loop: History calls it after the last record
// of each simulated day and before the next day is generated, Live at each
// simulated day boundary. `stockflow run` flushes there, waits until its
// pipelines have processed the day, and hands their reorders to Order.
// Order only schedules: it is placed at the simulator's current time (in
// History not before the reorder's ts), and what it makes happen at once
// is emitted after the end of the day just reported, so records stay in
// event-time order and no record of a day follows the report of its end.
// The output is a function of the Config and of the Order calls (their
// content and the day ends or records they follow): the same calls give
// the same records. Live's silent replay of the history calls OnDayEnd as
// well; without the earlier process's Order calls, the replayed ground
// truth lacks their deliveries and the next cycle counts bring the levels
// back in line.
//
// # Bad records
//
// After each good record, with probability BadShare/(1-BadShare), a bad
// record follows on the same topic (when the class can occur there), so
// bad records are interleaved with the traffic on all four topics. Each has
// exactly one defect: malformed_json (truncated, trailing data, '=' for ':'
// or an HTML error page), missing_field (a required id, ts, kind, lines,
// start or end), wrong_type (a string quantity, a numeric id, ...),
// negative_qty (sales, stock other than adjustment, order lines),
// unknown_warehouse (WHnn beyond the network), future_timestamp (ts 3-30
// days after the end of the history, or after now() in Live — beyond the
// wall clock only when the history ends near today, as with the default
// Start), oversize (over 64 KiB, otherwise valid) and duplicate_event (the
// exact bytes of a good record from the last day; after a silent replay
// with the loop closed, only of a record this process emitted). Bad
// records never change the simulated stock and have fresh event ids,
// except the duplicates.
package sim

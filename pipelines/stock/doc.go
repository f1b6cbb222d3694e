// Package stock is the stock pipeline: it consumes the sales, stock, orders
// and campaigns topics and routing's reservation requests
// (kafka.StockInputTopics), dead-letters every record that fails decoding,
// validation or deduplication (with the reason), keeps the ledger of every
// (SKU, warehouse) — on hand, reserved, available — and writes, in one Kafka
// transaction with the consumed offsets:
//
//   - each accepted input record, byte for byte, to stockflow.accepted.v1 in
//     the partition it came from, with headers saying how the ledger applied it;
//   - the changed ledgers, the deduplication entries and the partition's
//     stream time to the compacted stockflow.stock-changelog.v1, from which a
//     partition's state is restored when it is assigned;
//   - rejects to stockflow.dlq.v1 with the original key, value and coordinates;
//   - the decision on every reservation request to
//     stockflow.reservation-results.v1, keyed by order id, in the partition
//     Kafka's default partitioner gives the order id (ResultPartition).
//
// Reservations (reservation.go) are the stock side of the no-oversell
// protocol (DESIGN §3 invariant 4). The partition that owns a SKU is the
// single writer of its ledgers, so it accepts a reserve only when available
// (on hand - reserved) covers it: a reservation never takes available below
// zero (counts and damage still can; that is physical). Requests are
// deduplicated by reservation_id: a replay gets the byte-identical result
// and never reserves twice, for as long as the reservation is remembered
// (while it holds stock, then the deduplication window of event time). A
// release gives back what is still reserved; a sale with an order_id
// consumes the order's reservations of its (SKU, warehouse), oldest first;
// a reservation no sale consumed is released when the partition's stream
// time passes its request time + Config.ReservationTTL, with a "released"
// result of reason "expired". Reservation state is in the changelog under
// "R/<reservation_id>", restored with the ledgers. The windows' stockout
// tracking follows available, so reserving the last units starts a
// stockout (nothing left to promise) and a release ends it.
//
// All stockflow topics share one partition count, and sales and stock are
// keyed by SKU, so one partition owns every warehouse of a SKU: the ledger has
// a single writer per key. The range balancer keeps the same partition number
// of every input topic on one member.
//
// The package must not import the ClickHouse driver or the store: sinks turn
// its topics into tables.
package stock

// Package stock is the stock pipeline: it consumes the sales, stock, orders
// and campaigns topics, dead-letters every record that fails decoding,
// validation or deduplication (with the reason), keeps the ledger of every
// (SKU, warehouse) — on hand, reserved, available — and writes, in one Kafka
// transaction with the consumed offsets:
//
//   - each accepted input record, byte for byte, to stockflow.accepted.v1 in
//     the partition it came from, with headers saying how the ledger applied it;
//   - the changed ledgers, the deduplication entries and the partition's
//     stream time to the compacted stockflow.stock-changelog.v1, from which a
//     partition's state is restored when it is assigned;
//   - rejects to stockflow.dlq.v1 with the original key, value and coordinates.
//
// All stockflow topics share one partition count, and sales and stock are
// keyed by SKU, so one partition owns every warehouse of a SKU: the ledger has
// a single writer per key. The range balancer keeps the same partition number
// of every input topic on one member.
//
// The package must not import the ClickHouse driver or the store: sinks turn
// its topics into tables.
package stock

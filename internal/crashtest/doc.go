// Package crashtest is the fault-injection harness behind the crash,
// rebalance and broker-restart tests of DESIGN.md §3 invariants 1-3: it
// runs the real `stockflow process` binary as a child process and kills it
// (Child), controls a real Apache Kafka broker through the deploy scripts
// (RealBroker), produces a simulated history (Produce), and checks what the
// pipeline and the sink left behind against an independent oracle.
//
// The Oracle recomputes everything from the input topics alone, through
// the event contract (the decoders and Checker of internal/event): which
// records must be accepted and which dead-lettered with which reason, the
// on-hand level of every (SKU, warehouse) and the units sold per UTC day.
// CheckTopics compares it with the pipeline's committed output topics
// (accepted events, DLQ, stock changelog, windows) and CheckStores with the
// ClickHouse tables the sink wrote.
//
// It is for tests only. It must not import pipelines/ or consumers/: the
// oracle has to stay independent of the code it checks.
package crashtest

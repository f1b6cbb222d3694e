package event

// Headers of a record on the dead-letter topic (stockflow.dlq.v1). The
// record's key and value are the original record's, byte for byte; the
// headers say where it came from and why it was rejected. schema/dlq.v1.md
// is the producer-facing description.
const (
	// HeaderSourceTopic is the topic the record was consumed from.
	HeaderSourceTopic = "x-stockflow-source-topic"
	// HeaderSourcePartition is its partition, in decimal.
	HeaderSourcePartition = "x-stockflow-source-partition"
	// HeaderSourceOffset is its offset, in decimal.
	HeaderSourceOffset = "x-stockflow-source-offset"
	// HeaderReason is the Reason code, such as "negative_qty".
	HeaderReason = "x-stockflow-reason"
	// HeaderMessage is the rejection's Error() text, for people.
	HeaderMessage = "x-stockflow-message"
	// HeaderEventType is Type.String() of the expected event: sale, stock,
	// order or campaign.
	HeaderEventType = "x-stockflow-event-type"
)

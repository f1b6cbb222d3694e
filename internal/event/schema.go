package event

import (
	"embed"
	"io/fs"
)

// The input topics of contract v1, and the dead-letter topic.
const (
	TopicSales     = "stockflow.sales.v1"
	TopicStock     = "stockflow.stock.v1"
	TopicOrders    = "stockflow.orders.v1"
	TopicCampaigns = "stockflow.campaigns.v1"
	TopicDLQ       = "stockflow.dlq.v1"
)

// Topic returns the input topic of events of type t, or "" for TypeUnknown.
func (t Type) Topic() string {
	switch t {
	case TypeSale:
		return TopicSales
	case TypeStock:
		return TopicStock
	case TypeOrder:
		return TopicOrders
	case TypeCampaign:
		return TopicCampaigns
	default:
		return ""
	}
}

// TypeOf returns the type of the events on an input topic, or TypeUnknown.
func TypeOf(topic string) Type {
	switch topic {
	case TopicSales:
		return TypeSale
	case TopicStock:
		return TypeStock
	case TopicOrders:
		return TypeOrder
	case TopicCampaigns:
		return TypeCampaign
	default:
		return TypeUnknown
	}
}

//go:embed schema
var schemaFS embed.FS

// Schemas returns the checked-in contract files: one JSON Schema (draft
// 2020-12) per input topic, named as SchemaFiles says, and dlq.v1.md, which
// documents the dead-letter records and their headers.
func Schemas() fs.FS {
	sub, err := fs.Sub(schemaFS, "schema")
	if err != nil {
		panic("event: embedded schema directory: " + err.Error()) // cannot happen: the path is a constant
	}
	return sub
}

// SchemaFiles maps each input topic to its JSON Schema file in Schemas.
// The map is a fresh copy on every call.
func SchemaFiles() map[string]string {
	return map[string]string{
		TopicSales:     "sales.v1.json",
		TopicStock:     "stock.v1.json",
		TopicOrders:    "orders.v1.json",
		TopicCampaigns: "campaigns.v1.json",
	}
}

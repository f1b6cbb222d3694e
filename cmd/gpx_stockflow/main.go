// Command gpx_stockflow is the backend binary of the stockflow Grafana
// data source (stockflow-inventory-datasource). Grafana starts it and
// talks to it over the plugin protocol (hashicorp/go-plugin, gRPC); it
// only wires dashboards/plugin/pkg/plugin into the SDK. Build it per
// OS/arch as gpx_stockflow_<os>_<arch> with deploy/scripts/build-plugin.sh.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"

	"github.com/stockflow/stockflow/dashboards/plugin/pkg/plugin"
)

func main() {
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		backend.Logger.Error("gpx_stockflow", "error", err.Error())
		os.Exit(1)
	}
}

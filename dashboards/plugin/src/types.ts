import type { DataSourceJsonData } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';

/** How the API shapes a query type's rows: a list, or a long time series. */
export type Shape = 'table' | 'timeseries';

/**
 * A URL parameter of the stockflow API; the query editor shows the
 * filters and options of the parameters a query type takes.
 */
export type Param =
  'sku' | 'warehouse' | 'region' | 'from' | 'to' | 'kind' | 'status' | 'limit' | 'lead_time_days' | 'step_seconds';

/** One entry of the query type dropdown. */
export interface QueryTypeInfo {
  /** The API route name (api.QueryRoutes), sent as the query type. */
  value: string;
  label: string;
  description: string;
  shape: Shape;
  params: Param[];
}

/** Time series format: one field per series, or the long frame. */
export type Format = 'wide' | 'long';

/** A panel query; the backend reads it as plugin.Query. */
export interface StockflowQuery extends DataQuery {
  sku?: string[];
  warehouse?: string[];
  region?: string[];
  /** purchase or transfer; empty for both. */
  kind?: string;
  /** suggested, ordered, received, cancelled or open; empty for all. */
  status?: string;
  limit?: number;
  leadTimeDays?: number;
  stepSeconds?: number;
  format?: Format;
}

/** The data source's jsonData (plugin.Settings). */
export interface StockflowOptions extends DataSourceJsonData {
  /** The stockflow API (http://host:8686); the data source URL wins when set. */
  url?: string;
  timeoutSeconds?: number;
  streamIntervalSeconds?: number;
}

/** The data source's secureJsonData: never sent back to the browser. */
export interface StockflowSecureOptions {
  token?: string;
}

/** The plugin resources that list filter values. */
export type Resource = 'skus' | 'warehouses' | 'regions';

/**
 * A template variable's query, as the dashboards (dashboards/dash
 * VariableQuery) write it: a resource with filters from other variables.
 */
export interface VariableQuery {
  resource: Resource;
  region?: string[];
  warehouse?: string[];
}

/** What a variable set to "All" sends; the backend treats it as no filter. */
export const ALL_VALUE = '$__all';

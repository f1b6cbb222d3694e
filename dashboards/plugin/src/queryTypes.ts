import routes from './queryTypes.json';
import type { QueryTypeInfo, StockflowQuery } from './types';

/**
 * The query types served by the backend, one per stockflow API query
 * route. queryTypes.json is checked against internal/api's QueryRoutes
 * (names, shapes and parameters) by the Go test
 * pkg/plugin/frontend_test.go, so the two cannot drift.
 */
export const ROUTE_TYPES = routes as QueryTypeInfo[];

/** The live stock query type: Grafana Live, not a backend query. */
export const LIVE_STOCK = 'stock_live';

export const QUERY_TYPES: QueryTypeInfo[] = [
  ...ROUTE_TYPES,
  {
    value: LIVE_STOCK,
    label: 'Live stock',
    description: 'Stock levels pushed as they change (Grafana Live); filter by SKU or by warehouse',
    shape: 'timeseries',
    params: ['sku', 'warehouse'],
  },
];

export const DEFAULT_QUERY_TYPE = 'stock_current';

export function queryTypeInfo(value: string | undefined): QueryTypeInfo | undefined {
  return QUERY_TYPES.find((t) => t.value === value);
}

/**
 * withQueryType switches a query to another type and drops the fields
 * the new type does not take, so no stale filter travels with it.
 */
export function withQueryType(query: StockflowQuery, queryType: string): StockflowQuery {
  const info = queryTypeInfo(queryType);
  const has = (p: QueryTypeInfo['params'][number]) => info?.params.includes(p) ?? false;
  const next: StockflowQuery = { ...query, queryType };
  const drop = (field: keyof StockflowQuery, keep: boolean) => {
    if (!keep) {
      delete next[field];
    }
  };
  drop('sku', has('sku'));
  drop('warehouse', has('warehouse'));
  drop('region', has('region'));
  drop('kind', has('kind'));
  drop('status', has('status'));
  drop('limit', has('limit'));
  drop('leadTimeDays', has('lead_time_days'));
  drop('stepSeconds', has('step_seconds'));
  drop('format', info?.shape === 'timeseries' && queryType !== LIVE_STOCK);
  return next;
}

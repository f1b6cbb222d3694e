import {
  type CoreApp,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type LegacyMetricFindQueryOptions,
  LiveChannelScope,
  type MetricFindValue,
  type ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getGrafanaLiveSrv, getTemplateSrv } from '@grafana/runtime';
import { merge, type Observable, of } from 'rxjs';

import { DEFAULT_QUERY_TYPE, LIVE_STOCK } from './queryTypes';
import { ALL_VALUE, type Resource, type StockflowOptions, type StockflowQuery, type VariableQuery } from './types';

export const RESOURCES: Resource[] = ['skus', 'warehouses', 'regions'];

// Joins the values of a multi-value variable inside one string; no SKU,
// warehouse or region contains it.
const SEP = '\u001f';

/**
 * interpolateList replaces template variables in each element of a
 * filter list; a multi-value variable ("$sku" set to A and B) expands into
 * one element per value. Empty results are dropped.
 */
export function interpolateList(values: string[] | undefined, scopedVars: ScopedVars): string[] | undefined {
  if (values === undefined) {
    return undefined;
  }
  const tpl = getTemplateSrv();
  return values.flatMap((v) =>
    tpl
      .replace(v, scopedVars, (value: string | string[]) => (Array.isArray(value) ? value.join(SEP) : value))
      .split(SEP)
      .map((s) => s.trim())
      .filter((s) => s !== '')
  );
}

/**
 * liveChannels are the Grafana Live channels (pkg/plugin/stream.go) a
 * live stock query subscribes to: one per SKU, else one per warehouse,
 * else all stock.
 */
export function liveChannels(query: StockflowQuery): string[] {
  const real = (list?: string[]) => (list ?? []).filter((v) => v !== '' && v !== ALL_VALUE);
  const skus = real(query.sku);
  if (skus.length > 0) {
    return skus.map((s) => `stock/sku/${s}`);
  }
  const warehouses = real(query.warehouse);
  if (warehouses.length > 0) {
    return warehouses.map((w) => `stock/warehouse/${w}`);
  }
  return ['stock'];
}

export class DataSource extends DataSourceWithBackend<StockflowQuery, StockflowOptions> {
  constructor(settings: DataSourceInstanceSettings<StockflowOptions>) {
    super(settings);
  }

  getDefaultQuery(_app: CoreApp): Partial<StockflowQuery> {
    return { queryType: DEFAULT_QUERY_TYPE };
  }

  filterQuery(query: StockflowQuery): boolean {
    return !query.hide && Boolean(query.queryType);
  }

  applyTemplateVariables(query: StockflowQuery, scopedVars: ScopedVars): StockflowQuery {
    const tpl = getTemplateSrv();
    const text = (s?: string) => (s === undefined ? undefined : tpl.replace(s, scopedVars));
    return {
      ...query,
      sku: interpolateList(query.sku, scopedVars),
      warehouse: interpolateList(query.warehouse, scopedVars),
      region: interpolateList(query.region, scopedVars),
      kind: text(query.kind),
      status: text(query.status),
    };
  }

  /**
   * query sends live stock queries to Grafana Live and everything else
   * to the backend.
   */
  query(request: DataQueryRequest<StockflowQuery>): Observable<DataQueryResponse> {
    const live = request.targets.filter((t) => t.queryType === LIVE_STOCK);
    if (live.length === 0) {
      return super.query(request);
    }
    const streams: Array<Observable<DataQueryResponse>> = live
      .filter((t) => !t.hide)
      .flatMap((t) =>
        liveChannels(this.applyTemplateVariables(t, request.scopedVars)).map((path) =>
          getGrafanaLiveSrv().getDataStream({
            key: `${request.requestId}/${t.refId}/${path}`,
            // Grafana 13.2 names the data source "stream"; earlier
            // versions read "namespace".
            addr: { scope: LiveChannelScope.DataSource, stream: this.uid, namespace: this.uid, path },
          })
        )
      );
    const rest = request.targets.filter((t) => t.queryType !== LIVE_STOCK);
    if (rest.length > 0) {
      streams.push(super.query({ ...request, targets: rest }));
    }
    return streams.length > 0 ? merge(...streams) : of({ data: [] });
  }

  /**
   * metricFindQuery lists a resource for a template variable: the query is
   * a VariableQuery, or just the resource's name.
   */
  async metricFindQuery(
    query: VariableQuery | string | undefined,
    options?: LegacyMetricFindQueryOptions
  ): Promise<MetricFindValue[]> {
    const q: VariableQuery =
      typeof query === 'object' && query !== null ? query : { resource: (query || 'skus') as Resource };
    if (!RESOURCES.includes(q.resource)) {
      throw new Error(`unknown resource ${q.resource}: want ${RESOURCES.join(', ')}`);
    }
    const params: Record<string, string[]> = {};
    for (const key of ['region', 'warehouse'] as const) {
      const values = interpolateList(q[key], options?.scopedVars ?? {})?.filter((v) => v !== ALL_VALUE);
      if (values && values.length > 0) {
        params[key] = values;
      }
    }
    return this.getResource<MetricFindValue[]>(q.resource, params);
  }
}

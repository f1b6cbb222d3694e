// Test doubles of what Grafana gives the plugin at run time; tests only.
import type { DataSourceInstanceSettings, DataSourcePluginMeta, ScopedVars, TypedVariableModel } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';

import { ALL_VALUE, type StockflowOptions } from './types';

/**
 * templateSrvFake is a TemplateSrv for tests that replaces $name and
 * ${name} as Grafana's does: scoped variables (repeated panels) first; a
 * format function gets a multi-value variable's values as an array; a
 * variable set to a custom "All" value ($__all) is not formatted; unknown
 * variables stay as written.
 */
export function templateSrvFake(vars: Record<string, string | string[]>): TemplateSrv {
  const pattern = () => /\$(\w+)|\$\{(\w+)\}/g;
  return {
    getVariables: () => Object.keys(vars).map((name) => ({ name }) as TypedVariableModel),
    replace(target?: string, scopedVars?: ScopedVars, format?: string | Function): string {
      return (target ?? '').replace(pattern(), (match: string, plain?: string, braced?: string) => {
        const name = (plain ?? braced)!;
        const value = scopedVars?.[name]?.value ?? vars[name];
        if (value === undefined) {
          return match;
        }
        if (value === ALL_VALUE) {
          return value;
        }
        if (typeof format === 'function') {
          return format(value);
        }
        return Array.isArray(value) ? `{${value.join(',')}}` : String(value);
      });
    },
    containsTemplate: (target?: string) => pattern().test(target ?? ''),
    updateTimeRange: () => {},
  };
}

/** instanceSettings are the settings Grafana gives a data source instance. */
export function instanceSettings(): DataSourceInstanceSettings<StockflowOptions> {
  return {
    id: 1,
    uid: 'stockflow',
    type: 'stockflow-inventory-datasource',
    name: 'stockflow',
    access: 'proxy',
    readOnly: false,
    jsonData: { url: 'http://stockflow:8686' },
    meta: { id: 'stockflow-inventory-datasource' } as DataSourcePluginMeta,
  };
}

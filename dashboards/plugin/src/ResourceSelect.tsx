import React, { useEffect, useState } from 'react';
import type { MetricFindValue, SelectableValue } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { MultiSelect } from '@grafana/ui';

import type { DataSource } from './datasource';
import type { Resource } from './types';

interface Props {
  datasource: DataSource;
  resource: Resource;
  value?: string[];
  onChange: (value: string[]) => void;
  inputId?: string;
}

/**
 * ResourceSelect picks filter values from one of the plugin's resources
 * (skus, warehouses, regions); template variables ($sku) and values typed
 * in are accepted too. Nothing selected means no filter.
 */
export function ResourceSelect({ datasource, resource, value, onChange, inputId }: Props) {
  const [options, setOptions] = useState<Array<SelectableValue<string>>>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let current = true;
    setLoading(true);
    datasource
      .getResource<MetricFindValue[]>(resource)
      .then(
        (list) => {
          if (current) {
            setOptions(list.map((v) => ({ label: v.text, value: String(v.value ?? v.text) })));
            setError(undefined);
          }
        },
        (err: unknown) => {
          if (current) {
            setError(`could not list ${resource}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      )
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [datasource, resource]);

  const variables = getTemplateSrv()
    .getVariables()
    .map((v) => ({ label: `$${v.name}`, value: `$${v.name}`, description: 'template variable' }));
  const all = [...variables, ...options];
  const selected = (value ?? []).map((v) => all.find((o) => o.value === v) ?? { label: v, value: v });

  return (
    <MultiSelect<string>
      inputId={inputId}
      options={all}
      value={selected}
      isLoading={loading}
      allowCustomValue
      placeholder={error ?? 'All'}
      invalid={error !== undefined}
      width={48}
      onChange={(items) => onChange(items.map((i) => i.value).filter((v): v is string => Boolean(v)))}
    />
  );
}

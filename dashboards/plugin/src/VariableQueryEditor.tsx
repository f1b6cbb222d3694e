import React from 'react';
import type { SelectableValue } from '@grafana/data';
import { InlineField, RadioButtonGroup, Stack } from '@grafana/ui';

import type { DataSource } from './datasource';
import { ResourceSelect } from './ResourceSelect';
import type { Resource, VariableQuery } from './types';

interface Props {
  query: VariableQuery | string | undefined;
  onChange: (query: VariableQuery, definition: string) => void;
  datasource: DataSource;
}

const resourceOptions: Array<SelectableValue<Resource>> = [
  { label: 'SKUs', value: 'skus' },
  { label: 'Warehouses', value: 'warehouses' },
  { label: 'Regions', value: 'regions' },
];

/** definition is the variable's summary in the variables list. */
export function definition(q: VariableQuery): string {
  const parts: string[] = [q.resource];
  for (const key of ['region', 'warehouse'] as const) {
    if (q[key]?.length) {
      parts.push(`${key}=${q[key].join(',')}`);
    }
  }
  return parts.join(' ');
}

/**
 * VariableQueryEditor writes a template variable's query: a resource
 * (skus, warehouses or regions), filtered by region (skus, warehouses)
 * and warehouse (skus), usually other variables.
 */
export function VariableQueryEditor({ query, onChange, datasource }: Props) {
  const q: VariableQuery =
    typeof query === 'object' && query !== null ? query : { resource: (query || 'skus') as Resource };
  const update = (next: VariableQuery) => {
    const clean: VariableQuery = { resource: next.resource };
    if (next.resource !== 'regions' && next.region?.length) {
      clean.region = next.region;
    }
    if (next.resource === 'skus' && next.warehouse?.length) {
      clean.warehouse = next.warehouse;
    }
    onChange(clean, definition(clean));
  };

  return (
    <Stack direction="column" gap={0}>
      <InlineField label="Resource" labelWidth={16}>
        <RadioButtonGroup
          options={resourceOptions}
          value={q.resource}
          onChange={(resource) => update({ ...q, resource })}
        />
      </InlineField>
      {q.resource !== 'regions' && (
        <InlineField label="Region" labelWidth={16} htmlFor="stockflow-var-region">
          <ResourceSelect
            inputId="stockflow-var-region"
            datasource={datasource}
            resource="regions"
            value={q.region}
            onChange={(region) => update({ ...q, region })}
          />
        </InlineField>
      )}
      {q.resource === 'skus' && (
        <InlineField label="Warehouse" labelWidth={16} htmlFor="stockflow-var-warehouse">
          <ResourceSelect
            inputId="stockflow-var-warehouse"
            datasource={datasource}
            resource="warehouses"
            value={q.warehouse}
            onChange={(warehouse) => update({ ...q, warehouse })}
          />
        </InlineField>
      )}
    </Stack>
  );
}

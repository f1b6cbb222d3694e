import React from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Select, Stack } from '@grafana/ui';

import type { DataSource } from './datasource';
import { LIVE_STOCK, QUERY_TYPES, queryTypeInfo, withQueryType } from './queryTypes';
import type { Format, Param, Resource, StockflowOptions, StockflowQuery } from './types';
import { ResourceSelect } from './ResourceSelect';

type Props = QueryEditorProps<DataSource, StockflowQuery, StockflowOptions>;

const LABEL_WIDTH = 16;

const typeOptions: Array<SelectableValue<string>> = QUERY_TYPES.map((t) => ({
  label: t.label,
  value: t.value,
  description: t.description,
}));

const kindOptions: Array<SelectableValue<string>> = [
  { label: 'Both', value: '' },
  { label: 'Purchase', value: 'purchase' },
  { label: 'Transfer', value: 'transfer' },
];

const statusOptions: Array<SelectableValue<string>> = [
  { label: 'All', value: '' },
  { label: 'Open', value: 'open', description: 'suggested or ordered' },
  { label: 'Suggested', value: 'suggested' },
  { label: 'Ordered', value: 'ordered' },
  { label: 'Received', value: 'received' },
  { label: 'Cancelled', value: 'cancelled' },
];

const formatOptions: Array<SelectableValue<Format>> = [
  { label: 'Wide', value: 'wide', description: 'one field per series; what alert rules and the forecast band want' },
  { label: 'Long', value: 'long', description: 'one row per time and series, labels as columns' },
];

const filters: Array<{ param: 'sku' | 'warehouse' | 'region'; label: string; resource: Resource }> = [
  { param: 'region', label: 'Region', resource: 'regions' },
  { param: 'warehouse', label: 'Warehouse', resource: 'warehouses' },
  { param: 'sku', label: 'SKU', resource: 'skus' },
];

/** number reads a numeric input: undefined when empty or not a number. */
function number(s: string): number | undefined {
  const n = Number(s);
  return s.trim() === '' || !Number.isFinite(n) ? undefined : n;
}

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const info = queryTypeInfo(query.queryType);
  const has = (p: Param) => info?.params.includes(p) ?? false;
  const run = (next: StockflowQuery) => {
    onChange(next);
    onRunQuery();
  };

  const numeric = (
    id: string,
    label: string,
    field: 'limit' | 'leadTimeDays' | 'stepSeconds',
    placeholder: string,
    tooltip: string
  ) => (
    <InlineField label={label} labelWidth={LABEL_WIDTH} tooltip={tooltip} htmlFor={id}>
      <Input
        id={id}
        type="number"
        width={16}
        placeholder={placeholder}
        value={query[field] ?? ''}
        onChange={(e) => onChange({ ...query, [field]: number(e.currentTarget.value) })}
        onBlur={onRunQuery}
      />
    </InlineField>
  );

  return (
    <Stack direction="column" gap={0}>
      <InlineFieldRow>
        <InlineField
          label="Query type"
          labelWidth={LABEL_WIDTH}
          tooltip={info?.description}
          htmlFor="stockflow-query-type"
        >
          <Select
            inputId="stockflow-query-type"
            options={typeOptions}
            value={query.queryType}
            width={32}
            onChange={(v) => v.value && run(withQueryType(query, v.value))}
          />
        </InlineField>
      </InlineFieldRow>
      {filters
        .filter((f) => has(f.param))
        .map((f) => (
          <InlineField key={f.param} label={f.label} labelWidth={LABEL_WIDTH} htmlFor={`stockflow-${f.param}`}>
            <ResourceSelect
              inputId={`stockflow-${f.param}`}
              datasource={datasource}
              resource={f.resource}
              value={query[f.param]}
              onChange={(value) => run({ ...query, [f.param]: value })}
            />
          </InlineField>
        ))}
      <InlineFieldRow>
        {has('kind') && (
          <InlineField label="Kind" labelWidth={LABEL_WIDTH}>
            <RadioButtonGroup
              options={kindOptions}
              value={query.kind ?? ''}
              onChange={(v) => run({ ...query, kind: v || undefined })}
            />
          </InlineField>
        )}
        {has('status') && (
          <InlineField label="Status" labelWidth={LABEL_WIDTH} htmlFor="stockflow-status">
            <Select
              inputId="stockflow-status"
              options={statusOptions}
              value={query.status ?? ''}
              width={20}
              onChange={(v) => run({ ...query, status: v.value || undefined })}
            />
          </InlineField>
        )}
        {has('limit') && numeric('stockflow-limit', 'Limit', 'limit', '1000', 'Maximum number of rows')}
        {has('lead_time_days') &&
          numeric(
            'stockflow-lead-time',
            'Lead time (days)',
            'leadTimeDays',
            '7',
            'For SKUs without a learned lead time'
          )}
        {has('step_seconds') && numeric('stockflow-step', 'Step (s)', 'stepSeconds', '3600', 'Bucket width in seconds')}
        {info?.shape === 'timeseries' && query.queryType !== LIVE_STOCK && (
          <InlineField label="Format" labelWidth={LABEL_WIDTH}>
            <RadioButtonGroup
              options={formatOptions}
              value={query.format ?? 'wide'}
              onChange={(v) => run({ ...query, format: v })}
            />
          </InlineField>
        )}
      </InlineFieldRow>
    </Stack>
  );
}

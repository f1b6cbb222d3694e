import React from 'react';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import type { MetricFindValue } from '@grafana/data';
import { setTemplateSrv } from '@grafana/runtime';

import { DataSource } from './datasource';
import { QueryEditor } from './QueryEditor';
import routes from './queryTypes.json';
import { LIVE_STOCK, QUERY_TYPES } from './queryTypes';
import { instanceSettings, templateSrvFake } from './testing';
import type { StockflowQuery } from './types';

const lists: Record<string, MetricFindValue[]> = {
  skus: [
    { text: 'SKU-1', value: 'SKU-1' },
    { text: 'SKU-2', value: 'SKU-2' },
  ],
  warehouses: [{ text: 'W1', value: 'W1' }],
  regions: [{ text: 'EU', value: 'EU' }],
};

async function renderEditor(query: StockflowQuery) {
  const ds = new DataSource(instanceSettings());
  const getResource = jest.spyOn(ds, 'getResource').mockImplementation(async (path: string) => lists[path]);
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  // act: let the resource lists load.
  await act(async () => {
    render(<QueryEditor datasource={ds} query={query} onChange={onChange} onRunQuery={onRunQuery} />);
  });
  return { onChange, onRunQuery, getResource };
}

/** openMenu opens the select whose input has the id and returns its options. */
function openMenu(inputId: string): HTMLElement[] {
  const input = document.getElementById(inputId);
  if (!input) {
    throw new Error(`no input #${inputId}`);
  }
  fireEvent.keyDown(input, { key: 'ArrowDown' });
  return within(screen.getByLabelText('Select options menu')).getAllByRole('option');
}

beforeEach(() => setTemplateSrv(templateSrvFake({ sku: ['SKU-1'], warehouse: 'W1' })));

describe('QueryEditor', () => {
  it('offers every query type of the API and live stock, each described', async () => {
    await renderEditor({ refId: 'A', queryType: 'stock_current' });
    const options = openMenu('stockflow-query-type');

    // queryTypes.json is the API's route list (checked by the Go test
    // frontend_test.go): every route must be in the dropdown.
    const want = [...routes.map((r) => r.label), 'Live stock'];
    expect(options.map((o) => o.querySelector('span')?.textContent)).toEqual(want);
    for (const [i, t] of QUERY_TYPES.entries()) {
      expect(t.description.length).toBeGreaterThan(10);
      expect(options[i]).toHaveProperty('textContent', `${t.label}${t.description}`);
    }
    expect(QUERY_TYPES.map((t) => t.value)).toEqual([...routes.map((r) => r.value), LIVE_STOCK]);
  });

  it('changes the query type, keeps the filters the new type takes and runs the query', async () => {
    const { onChange, onRunQuery } = await renderEditor({
      refId: 'A',
      queryType: 'reorders',
      sku: ['SKU-1'],
      region: ['EU'],
      kind: 'purchase',
      status: 'open',
      limit: 50,
    });
    const stockout = openMenu('stockflow-query-type').find((o) => o.textContent?.startsWith('Stockout risk'));
    fireEvent.click(stockout!);

    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'stockout_risk', sku: ['SKU-1'], region: ['EU'] });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it.each([
    [
      'stockout_risk',
      ['Region', 'Warehouse', 'SKU', 'Lead time (days)'],
      ['Kind', 'Status', 'Limit', 'Step (s)', 'Format'],
    ],
    ['reorders', ['Region', 'Warehouse', 'SKU', 'Kind', 'Status', 'Limit'], ['Lead time (days)', 'Step (s)', 'Format']],
    ['transfers', ['Status', 'Limit'], ['Kind']],
    ['pipeline_throughput', ['Step (s)', 'Format'], ['Region', 'Warehouse', 'SKU', 'Limit']],
    ['forecast_vs_actual', ['SKU', 'Format'], ['Limit', 'Lead time (days)']],
    ['dlq', [], ['Region', 'Warehouse', 'SKU', 'Format', 'Limit']],
    [LIVE_STOCK, ['Warehouse', 'SKU'], ['Region', 'Format']],
  ])('shows the fields of %s', async (queryType, shown, hidden) => {
    await renderEditor({ refId: 'A', queryType });
    for (const label of shown) {
      expect(screen.getByText(label)).toBeTruthy();
    }
    for (const label of hidden) {
      expect(screen.queryByText(label)).toBeNull();
    }
  });

  it('lists filter values from the resource and template variables', async () => {
    const { onChange, getResource } = await renderEditor({ refId: 'A', queryType: 'stock_current', sku: [] });
    expect(getResource).toHaveBeenCalledWith('skus');

    const options = openMenu('stockflow-sku');
    expect(options.map((o) => o.querySelector('span')?.textContent)).toEqual(['$sku', '$warehouse', 'SKU-1', 'SKU-2']);
    fireEvent.click(options[0]);
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'stock_current', sku: ['$sku'] });
  });

  it('writes numbers and the format into the model', async () => {
    const { onChange } = await renderEditor({ refId: 'A', queryType: 'pipeline_throughput' });
    fireEvent.change(document.getElementById('stockflow-step')!, { target: { value: '900' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'pipeline_throughput', stepSeconds: 900 });
    fireEvent.click(screen.getByLabelText('Long'));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'pipeline_throughput', format: 'long' });
  });
});

import React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { setTemplateSrv } from '@grafana/runtime';

import { DataSource } from './datasource';
import { instanceSettings, templateSrvFake } from './testing';
import type { VariableQuery } from './types';
import { VariableQueryEditor } from './VariableQueryEditor';

async function renderEditor(query: VariableQuery | string) {
  const ds = new DataSource(instanceSettings());
  jest.spyOn(ds, 'getResource').mockResolvedValue([]);
  const onChange = jest.fn();
  await act(async () => {
    render(<VariableQueryEditor datasource={ds} query={query} onChange={onChange} />);
  });
  return onChange;
}

beforeEach(() => setTemplateSrv(templateSrvFake({ region: 'EU' })));

describe('VariableQueryEditor', () => {
  it('edits the dashboards variable query and drops filters a resource does not take', async () => {
    // The SKU variable of dashboards/dash.
    const onChange = await renderEditor({ resource: 'skus', region: ['$region'], warehouse: ['$warehouse'] });
    expect(screen.getByText('Region')).toBeTruthy();
    expect(screen.getByText('Warehouse')).toBeTruthy();

    fireEvent.click(screen.getByLabelText('Warehouses'));
    expect(onChange).toHaveBeenLastCalledWith(
      { resource: 'warehouses', region: ['$region'] },
      'warehouses region=$region'
    );

    fireEvent.click(screen.getByLabelText('Regions'));
    expect(onChange).toHaveBeenLastCalledWith({ resource: 'regions' }, 'regions');
  });

  it('reads a bare resource name', async () => {
    await renderEditor('regions');
    expect(screen.queryByText('Region')).toBeNull();
    expect((screen.getByLabelText('Regions') as HTMLInputElement).checked).toBe(true);
  });
});

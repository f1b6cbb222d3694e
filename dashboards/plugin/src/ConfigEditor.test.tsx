import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import type { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import type { StockflowOptions, StockflowSecureOptions } from './types';

type Settings = DataSourceSettings<StockflowOptions, StockflowSecureOptions>;

function settings(patch: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'stockflow',
    orgId: 1,
    name: 'stockflow',
    type: 'stockflow-inventory-datasource',
    typeName: 'stockflow',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: { timeoutSeconds: 30 },
    secureJsonFields: {},
    ...patch,
  };
}

function renderEditor(options: Settings) {
  const onOptionsChange = jest.fn<void, [Settings]>();
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  return onOptionsChange;
}

describe('ConfigEditor', () => {
  it('keeps the token in secureJsonData only', () => {
    const options = settings();
    const onOptionsChange = renderEditor(options);

    fireEvent.change(document.getElementById('stockflow-token')!, { target: { value: 's3cret-token' } });

    expect(onOptionsChange).toHaveBeenCalledTimes(1);
    const next = onOptionsChange.mock.calls[0][0];
    expect(next.secureJsonData).toEqual({ token: 's3cret-token' });
    expect(next.jsonData).toEqual(options.jsonData);
    const { secureJsonData, ...rest } = next;
    expect(JSON.stringify(rest)).not.toContain('s3cret-token');
  });

  it('shows a stored token as configured and resets it', () => {
    const onOptionsChange = renderEditor(settings({ secureJsonFields: { token: true } }));
    const input = document.getElementById('stockflow-token') as HTMLInputElement;
    expect(input.value).toBe('configured');
    expect(input.disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));

    const next = onOptionsChange.mock.calls[0][0];
    expect(next.secureJsonFields).toEqual({ token: false });
    expect(next.secureJsonData).toEqual({ token: '' });
    expect(next.jsonData).toEqual({ timeoutSeconds: 30 });
  });

  it('writes the API URL to jsonData and the data source URL', () => {
    const onOptionsChange = renderEditor(settings());
    fireEvent.change(document.getElementById('stockflow-url')!, { target: { value: 'http://stockflow:8686' } });
    const next = onOptionsChange.mock.calls[0][0];
    expect(next.jsonData).toEqual({ timeoutSeconds: 30, url: 'http://stockflow:8686' });
    expect(next.url).toBe('http://stockflow:8686');
    expect(next.secureJsonData).toBeUndefined();
  });

  it('shows the URL the backend uses', () => {
    renderEditor(settings({ url: 'http://provisioned:8686', jsonData: { url: 'http://old:8686' } }));
    expect((document.getElementById('stockflow-url') as HTMLInputElement).value).toBe('http://provisioned:8686');
  });
});

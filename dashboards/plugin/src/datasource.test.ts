import { type DataQueryRequest, type DataQueryResponse, type LiveChannelAddress } from '@grafana/data';
import { type GrafanaLiveSrv, setGrafanaLiveSrv, setTemplateSrv } from '@grafana/runtime';
import { firstValueFrom, of } from 'rxjs';

import { DataSource, liveChannels } from './datasource';
import { LIVE_STOCK } from './queryTypes';
import { instanceSettings, templateSrvFake } from './testing';
import type { StockflowQuery } from './types';

beforeEach(() => {
  setTemplateSrv(
    templateSrvFake({
      sku: ['SKU-1', 'SKU-2'], // multi-value
      warehouse: 'W1',
      region: '$__all', // "All" with the dashboards' custom all value
      kind: 'transfer',
    })
  );
});

describe('applyTemplateVariables', () => {
  const ds = new DataSource(instanceSettings());

  it('expands multi-value variables into the filter arrays', () => {
    const q = ds.applyTemplateVariables(
      {
        refId: 'A',
        queryType: 'reorders',
        sku: ['$sku', 'SKU-9'],
        warehouse: ['${warehouse}'],
        region: ['$region'],
        kind: '$kind',
      },
      {}
    );
    expect(q.sku).toEqual(['SKU-1', 'SKU-2', 'SKU-9']);
    expect(q.warehouse).toEqual(['W1']);
    // "All" reaches the backend as $__all, which it reads as no filter.
    expect(q.region).toEqual(['$__all']);
    expect(q.kind).toBe('transfer');
    expect(q.queryType).toBe('reorders');
  });

  it('prefers a repeated panel scoped value', () => {
    const q = ds.applyTemplateVariables({ refId: 'A', sku: ['$sku'] }, { sku: { text: 'SKU-7', value: 'SKU-7' } });
    expect(q.sku).toEqual(['SKU-7']);
  });

  it('drops empty values and leaves unset filters unset', () => {
    setTemplateSrv(templateSrvFake({ sku: [] }));
    const q = ds.applyTemplateVariables({ refId: 'A', sku: ['$sku', ' '] }, {});
    expect(q.sku).toEqual([]);
    expect(q.warehouse).toBeUndefined();
    expect(JSON.parse(JSON.stringify(q))).toEqual({ refId: 'A', sku: [] });
  });
});

describe('metricFindQuery', () => {
  it('lists the resource with the interpolated filters, All dropped', async () => {
    const ds = new DataSource(instanceSettings());
    const getResource = jest.spyOn(ds, 'getResource').mockResolvedValue([{ text: 'W1', value: 'W1' }]);
    setTemplateSrv(templateSrvFake({ region: ['EU', 'US'], warehouse: '$__all' }));

    const values = await ds.metricFindQuery({ resource: 'skus', region: ['$region'], warehouse: ['$warehouse'] });

    expect(values).toEqual([{ text: 'W1', value: 'W1' }]);
    expect(getResource).toHaveBeenCalledWith('skus', { region: ['EU', 'US'] });
  });

  it('takes a bare resource name and refuses an unknown one', async () => {
    const ds = new DataSource(instanceSettings());
    const getResource = jest.spyOn(ds, 'getResource').mockResolvedValue([]);
    await ds.metricFindQuery('regions');
    expect(getResource).toHaveBeenCalledWith('regions', {});
    await expect(ds.metricFindQuery('orders')).rejects.toThrow('unknown resource orders');
  });
});

describe('live stock', () => {
  it('maps filters to the backend channels', () => {
    expect(liveChannels({ refId: 'A' })).toEqual(['stock']);
    expect(liveChannels({ refId: 'A', sku: ['$__all'], warehouse: ['W1', 'W2'] })).toEqual([
      'stock/warehouse/W1',
      'stock/warehouse/W2',
    ]);
    expect(liveChannels({ refId: 'A', sku: ['S1'], warehouse: ['W1'] })).toEqual(['stock/sku/S1']);
  });

  it('subscribes a live query to its channels through Grafana Live', async () => {
    const addrs: LiveChannelAddress[] = [];
    const live: Partial<GrafanaLiveSrv> = {
      getDataStream: ({ addr, key }) => {
        addrs.push(addr);
        return of<DataQueryResponse>({ key, data: [] });
      },
    };
    setGrafanaLiveSrv(live as GrafanaLiveSrv);
    const ds = new DataSource(instanceSettings());
    const request = {
      requestId: 'r1',
      targets: [{ refId: 'A', queryType: LIVE_STOCK, sku: ['$sku'] }],
      scopedVars: {},
    } as unknown as DataQueryRequest<StockflowQuery>;

    const first = await firstValueFrom(ds.query(request));

    expect(addrs.map((a) => [a.scope, a.stream, a.path])).toEqual([
      ['ds', 'stockflow', 'stock/sku/SKU-1'],
      ['ds', 'stockflow', 'stock/sku/SKU-2'],
    ]);
    expect(first.key).toBe('r1/A/stock/sku/SKU-1');
  });
});

import React from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, Input, SecretInput, Stack } from '@grafana/ui';

import type { StockflowOptions, StockflowSecureOptions } from './types';

type Props = DataSourcePluginOptionsEditorProps<StockflowOptions, StockflowSecureOptions>;

const LABEL_WIDTH = 24;

/** positive reads a positive whole number input: undefined otherwise. */
function positive(s: string): number | undefined {
  const n = Number(s);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * ConfigEditor edits the API URL and options (jsonData) and the read
 * token, which lives only in secureJsonData: Grafana stores it encrypted
 * and never sends it back, so the field shows "configured" with a reset.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = options.secureJsonData ?? {};
  const setJSON = (patch: Partial<StockflowOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  return (
    <Stack direction="column" gap={0}>
      <InlineField
        label="API URL"
        labelWidth={LABEL_WIDTH}
        htmlFor="stockflow-url"
        required
        tooltip="The stockflow query API (stockflow serve), e.g. http://stockflow:8686"
      >
        <Input
          id="stockflow-url"
          width={48}
          placeholder="http://stockflow:8686"
          value={options.url || jsonData.url || ''}
          // The backend prefers the data source URL over jsonData.url: keep
          // both the same so neither can shadow the other.
          onChange={(e) => {
            const url = e.currentTarget.value;
            onOptionsChange({ ...options, url, jsonData: { ...jsonData, url } });
          }}
        />
      </InlineField>
      <InlineField
        label="Read token"
        labelWidth={LABEL_WIDTH}
        htmlFor="stockflow-token"
        tooltip="The API's read token (stockflow serve --read-token, STOCKFLOW_API_TOKEN)"
      >
        <SecretInput
          id="stockflow-token"
          width={48}
          placeholder="read token"
          isConfigured={Boolean(secureJsonFields?.token)}
          value={secureJsonData.token ?? ''}
          onChange={(e) =>
            onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, token: e.currentTarget.value } })
          }
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...secureJsonFields, token: false },
              secureJsonData: { ...secureJsonData, token: '' },
            })
          }
        />
      </InlineField>
      <InlineField
        label="Timeout (s)"
        labelWidth={LABEL_WIDTH}
        htmlFor="stockflow-timeout"
        tooltip="Bound on every API call"
      >
        <Input
          id="stockflow-timeout"
          type="number"
          width={16}
          placeholder="30"
          value={jsonData.timeoutSeconds ?? ''}
          onChange={(e) => setJSON({ timeoutSeconds: positive(e.currentTarget.value) })}
        />
      </InlineField>
      <InlineField
        label="Live stock interval (s)"
        labelWidth={LABEL_WIDTH}
        htmlFor="stockflow-stream-interval"
        tooltip="How often live stock polls the API"
      >
        <Input
          id="stockflow-stream-interval"
          type="number"
          width={16}
          placeholder="5"
          value={jsonData.streamIntervalSeconds ?? ''}
          onChange={(e) => setJSON({ streamIntervalSeconds: positive(e.currentTarget.value) })}
        />
      </InlineField>
    </Stack>
  );
}

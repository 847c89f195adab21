import type { ApolloServerPlugin } from '@apollo/server';
import type { AppMetrics } from './app-metrics.ts';
import type { OperationType } from './metric-labels.ts';

/**
 * Times every GraphQL request over HTTP by operation type — never by operation name, which the client chooses.
 * A request refused before an operation was resolved (syntax, validation, cost) counts as `unknown`.
 */
export function metricsPlugin(metrics: Pick<AppMetrics, 'graphqlRequest'>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      let type: OperationType = 'unknown';
      return {
        async didResolveOperation({ operation }) {
          type = operation?.operation ?? 'unknown';
        },
        async willSendResponse({ response }) {
          const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlRequest(type, failed, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
